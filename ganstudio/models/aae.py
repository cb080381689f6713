"""Adversarial autoencoder (Makhzani et al. 2016): an autoencoder whose code is made to match a prior.

A deterministic MLP encoder maps an image to a code z, an MLP decoder (the generator) maps z back;
a discriminator on codes tells prior samples from the encoder's codes, and the encoder learns to
fool it, so that decoding any prior sample gives an image (paper, sec. 2).  The networks follow the
paper's MNIST setup: two hidden layers of 1000 ReLU units each; the decoder ends in a tanh (the
paper's sigmoid, rescaled to [-1, 1]).  Training alternates the reconstruction phase and the
regularization phase (``training.phases``, phase "AAE").  Priors: "gaussian" (standard normal) or
"mixture10" (10 Gaussians of std 0.3 with means on a circle of radius 2 in the first two code dims).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import torch
from torch import nn

from ganstudio.models._base import Discriminator, Generator, check_shape
from ganstudio.models._registry import register
from ganstudio.models.vae import VAEGenerator

PRIORS = ("gaussian", "mixture10")
MIXTURE_RADIUS, MIXTURE_STD = 2.0, 0.3


@dataclass
class AAEConfig:
    z_dim: int = 8  # code dims (2 for a code that is its own map)
    img_resolution: int = 32  # any size >= 1
    img_channels: int = 1
    hidden: tuple = (1000, 1000)  # hidden widths of the encoder, reversed for the decoder (paper: 1000-1000)
    d_hidden: tuple = (1000, 1000)  # hidden widths of the code discriminator (paper: 1000-1000)
    prior: str = "gaussian"  # "gaussian" or "mixture10"


def _mlp(widths: list[int], out: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(a, b), nn.ReLU(True)]
    return nn.Sequential(*layers, nn.Linear(widths[-1], out))


def _check(cfg: AAEConfig) -> None:
    if cfg.img_resolution < 1 or cfg.img_channels not in (1, 3) or cfg.z_dim < 1:
        raise ValueError(f"AAE needs img_resolution >= 1, img_channels 1 or 3 and z_dim >= 1, got "
                         f"{cfg.img_resolution}, {cfg.img_channels} and {cfg.z_dim}")
    if cfg.prior not in PRIORS:
        raise ValueError(f"AAE prior must be one of {', '.join(PRIORS)}, got {cfg.prior!r}")
    if cfg.prior == "mixture10" and cfg.z_dim < 2:
        raise ValueError("the mixture10 prior needs z_dim >= 2")


class AAEGenerator(Generator):
    """The decoder p(x | z), with the deterministic encoder q(z | x) kept alongside for ``encode``."""
    latent_layer = "decoder"

    def __init__(self, cfg: AAEConfig):
        super().__init__()
        _check(cfg)
        self.z_dim = self.w_dim = cfg.z_dim
        self.num_ws, self.c_dim = 1, 0
        self.img_resolution, self.img_channels = cfg.img_resolution, cfg.img_channels
        self.prior = cfg.prior
        n_pix = cfg.img_channels * cfg.img_resolution ** 2
        hidden = tuple(int(h) for h in cfg.hidden)
        self.encoder = _mlp([n_pix, *hidden], cfg.z_dim)
        self.decoder = nn.Sequential(_mlp([cfg.z_dim, *reversed(hidden)], n_pix), nn.Tanh())

    # The VAE's: an encoder, and an MLP decoder of z to the flattened image.
    capabilities = VAEGenerator.capabilities
    synthesis = VAEGenerator.synthesis

    def code(self, img: torch.Tensor) -> torch.Tensor:
        """img [N, C, H, W] in [-1, 1] -> the code z [N, z_dim]."""
        check_shape(img, [None, self.img_channels, self.img_resolution, self.img_resolution], "img")
        return self.encoder(img.flatten(1))

    def encode(self, img: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, logvar) like the VAE's; the encoder is deterministic, so mu is the code and sigma is 0."""
        z = self.code(img)
        return z, torch.full_like(z, -math.inf)

    def sample_prior(self, n: int, generator: Optional[torch.Generator] = None,
                     device: Optional[torch.device] = None) -> torch.Tensor:
        """n codes from the prior, drawn on the generator's device, then moved to ``device``."""
        gdev = generator.device if generator is not None else torch.device("cpu")
        z = torch.randn(n, self.z_dim, generator=generator, device=gdev)
        if self.prior == "mixture10":
            k = torch.randint(0, 10, (n,), generator=generator, device=gdev)
            angle = k.float() * (2 * math.pi / 10)
            z = z * MIXTURE_STD
            z[:, 0] += MIXTURE_RADIUS * torch.cos(angle)
            z[:, 1] += MIXTURE_RADIUS * torch.sin(angle)
        return z.to(device if device is not None else gdev)


class CodeDiscriminator(Discriminator):
    """Scores codes z [N, z_dim] (not images): a logit per code, high for prior samples."""
    reads = "code"

    def __init__(self, cfg: AAEConfig):
        super().__init__()
        _check(cfg)
        self.z_dim = cfg.z_dim
        self.img_resolution, self.img_channels = cfg.img_resolution, cfg.img_channels
        self.net = _mlp([cfg.z_dim, *(int(h) for h in cfg.d_hidden)], 1)

    def forward(self, z: torch.Tensor, c: Optional[torch.Tensor] = None) -> torch.Tensor:
        check_shape(z, [None, self.z_dim], "code")
        return self.net(z).flatten()


register("aae", family="aae", config_cls=AAEConfig, generator=AAEGenerator, discriminator=CodeDiscriminator,
         tiny=dict(z_dim=2, img_resolution=8, hidden=(16,), d_hidden=(16,)),
         paper="Makhzani, Shlens, Jaitly, Goodfellow, Frey. Adversarial Autoencoders. ICLR 2016 workshop.",
         description="Adversarial autoencoder: MLP encoder and decoder, a discriminator on the code matches it "
                     "to a prior.")
