"""EBGAN (Zhao, Mathieu, LeCun 2017): an energy-based GAN with an autoencoder discriminator.

G is the DCGAN generator (the paper's generators are DCGAN-style).  D is a convolutional autoencoder
(the paper's "4c2s" layout, ``_autoencoder``) whose energy is the per-image mean squared reconstruction error; D minimizes D(x) + max(0, m - D(G(z)))
and G minimizes D(G(z)) plus the pulling-away term on D's embeddings of the fakes
(``training.losses.pulling_away``) on the autoencoder's bottleneck codes.
"""
from __future__ import annotations

from dataclasses import dataclass

from ganstudio.models._autoencoder import AutoencoderDiscriminator, ebgan_autoencoder, num_levels
from ganstudio.models._registry import register
from ganstudio.models.dcgan import DCGANConfig, DCGANGenerator


@dataclass
class EBGANConfig:
    z_dim: int = 100  # noise dims
    img_resolution: int = 32  # power of two >= 8
    img_channels: int = 1
    ngf: int = 64  # G width at its last hidden layer (DCGAN generator)
    n: int = 32  # D's base width: n, 2n, 4n channels down to res/8 (the paper's MNIST D: 64)
    h_dim: int = 32  # D's bottleneck: the embedding the pulling-away term reads
    energy: str = "mse"  # D's energy: "mse" (EBGAN), or "l1" for BEGAN's loss on this architecture (the loss table)


class EBGANGenerator(DCGANGenerator):
    """The DCGAN generator, built from an EBGAN config."""

    def __init__(self, cfg: EBGANConfig):
        num_levels(cfg.img_resolution)  # the discriminator's constraint, reported for G too
        super().__init__(DCGANConfig(z_dim=cfg.z_dim, img_resolution=cfg.img_resolution,
                                     img_channels=cfg.img_channels, ngf=cfg.ngf))


def build_discriminator(cfg: EBGANConfig) -> AutoencoderDiscriminator:
    return AutoencoderDiscriminator(cfg.img_resolution, cfg.img_channels,
                                    ebgan_autoencoder(cfg.img_resolution, cfg.img_channels, cfg.n, cfg.h_dim),
                                    energy=cfg.energy)


register("ebgan", family="ebgan", config_cls=EBGANConfig, generator=EBGANGenerator,
         discriminator=build_discriminator, tiny=dict(z_dim=8, img_resolution=16, ngf=8, n=4, h_dim=8),
         paper="Zhao, Mathieu, LeCun. Energy-based Generative Adversarial Network. ICLR 2017.",
         description="Energy-based GAN: an autoencoder discriminator (energy = reconstruction MSE), margin loss, "
                     "pulling-away term.")
