"""BEGAN (Berthelot, Schumm, Metz 2017): boundary equilibrium GAN.

D is an autoencoder scored by its per-image L1 reconstruction loss L(v) = mean |v - D(v)|; G has
the architecture of D's decoder with weights of its own, fed z directly.  The loss
(``training.losses``) balances the two with the proportional control k_t:
L_D = L(x) - k_t L(G(z)), L_G = L(G(z)), k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z))), 0, 1).
"""
from __future__ import annotations

from dataclasses import dataclass

from ganstudio.models._autoencoder import AutoencoderDiscriminator, ConvDecoder, began_autoencoder
from ganstudio.models._base import Generator, check_shape
from ganstudio.models._registry import register


@dataclass
class BEGANConfig:
    z_dim: int = 64  # noise dims (the paper's N_z, equal to h)
    img_resolution: int = 32  # power of two >= 8
    img_channels: int = 1
    n: int = 32  # filters per convolution (the paper: 64 or 128); D's encoder grows by n per downsampling
    h_dim: int = 64  # D's embedding size h


class BEGANGenerator(Generator):
    """z -> fully connected 8x8 map -> convolutions and upsampling (the decoder's layout)."""
    latent_layer = "decoder.fc"

    def __init__(self, cfg: BEGANConfig):
        super().__init__()
        if cfg.z_dim < 1 or cfg.n < 1:
            raise ValueError(f"BEGAN needs z_dim >= 1 and n >= 1, got {cfg.z_dim} and {cfg.n}")
        self.z_dim = self.w_dim = cfg.z_dim
        self.num_ws, self.c_dim = 1, 0
        self.img_resolution, self.img_channels = cfg.img_resolution, cfg.img_channels
        self.decoder = ConvDecoder(cfg.img_resolution, cfg.img_channels, cfg.n, cfg.z_dim)

    def synthesis(self, ws, c=None, **_):
        check_shape(ws, [None, 1, self.z_dim], "ws")
        self.check_c(c, ws.shape[0])
        return self.decoder(ws[:, 0])


def build_discriminator(cfg: BEGANConfig) -> AutoencoderDiscriminator:
    ae = began_autoencoder(cfg.img_resolution, cfg.img_channels, cfg.n, cfg.h_dim)
    return AutoencoderDiscriminator(cfg.img_resolution, cfg.img_channels, ae, energy="l1")


register("began", family="began", config_cls=BEGANConfig, generator=BEGANGenerator,
         discriminator=build_discriminator, tiny=dict(z_dim=8, img_resolution=16, n=4, h_dim=8),
         paper="Berthelot, Schumm, Metz. BEGAN: Boundary Equilibrium Generative Adversarial Networks. 2017.",
         description="Boundary equilibrium GAN: autoencoder discriminator with L1 reconstruction loss, "
                     "equilibrium gamma kept by the k_t control.")
