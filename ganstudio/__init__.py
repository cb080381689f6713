"""GAN Studio: explore the latent spaces of generative models, and train small ones."""

__version__ = "0.1.0"
