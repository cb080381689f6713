"""Variational auto-encoder (Kingma & Welling 2014) with MLP encoder and decoder.

As in the paper's experiments, both networks are MLPs with tanh hidden units; the encoder
outputs the mean and log-variance of a diagonal Gaussian q(z|x), and samples are drawn with
the reparameterization trick z = mu + exp(logvar / 2) * eps.  The decoder is the generator: its
tanh output is the mean of a unit-variance Gaussian p(x|z) over [-1, 1] pixels (the paper's
decoder for real-valued data; its MNIST runs used a Bernoulli one).  There is no
discriminator; training uses the ELBO (``training.losses.vae_loss``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
from torch import nn

from ganstudio.models._base import Capabilities, Generator, check_shape
from ganstudio.models._registry import register


@dataclass
class VAEConfig:
    z_dim: int = 32  # latent dims
    img_resolution: int = 32  # any size >= 1
    img_channels: int = 1
    hidden: tuple = (500,)  # hidden widths of the encoder, reversed for the decoder (paper, MNIST: 500)


def _mlp(widths: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(a, b), nn.Tanh()]
    return nn.Sequential(*layers)


class VAEEncoder(nn.Module):
    """img -> (mu, logvar) of q(z | img)."""

    def __init__(self, in_features: int, hidden: tuple, z_dim: int):
        super().__init__()
        self.body = _mlp([in_features, *hidden])
        width = hidden[-1] if hidden else in_features
        self.mu = nn.Linear(width, z_dim)
        self.logvar = nn.Linear(width, z_dim)

    def forward(self, img: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(img.flatten(1))
        return self.mu(h), self.logvar(h)


class VAEGenerator(Generator):
    """The decoder p(x | z), with the encoder kept alongside for ``encode``."""
    latent_layer = "decoder"

    def __init__(self, cfg: VAEConfig):
        super().__init__()
        if cfg.img_resolution < 1 or cfg.img_channels not in (1, 3) or cfg.z_dim < 1:
            raise ValueError(f"VAE needs img_resolution >= 1, img_channels 1 or 3 and z_dim >= 1, got "
                             f"{cfg.img_resolution}, {cfg.img_channels} and {cfg.z_dim}")
        self.z_dim = self.w_dim = cfg.z_dim
        self.num_ws, self.c_dim = 1, 0
        self.img_resolution, self.img_channels = cfg.img_resolution, cfg.img_channels
        n_pix = cfg.img_channels * cfg.img_resolution ** 2
        hidden = tuple(cfg.hidden)
        self.encoder = VAEEncoder(n_pix, hidden, cfg.z_dim)
        self.decoder = nn.Sequential(_mlp([cfg.z_dim, *reversed(hidden)]),
                                     nn.Linear(hidden[0] if hidden else cfg.z_dim, n_pix), nn.Tanh())

    def capabilities(self) -> Capabilities:
        return Capabilities(encoder=True)

    def synthesis(self, ws, c=None, **_):
        check_shape(ws, [None, 1, self.z_dim], "ws")
        self.check_c(c, ws.shape[0])
        return self.decoder(ws[:, 0]).view(-1, self.img_channels, self.img_resolution, self.img_resolution)

    def encode(self, img: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """img [N, C, H, W] in [-1, 1] -> (mu, logvar), each [N, z_dim]."""
        check_shape(img, [None, self.img_channels, self.img_resolution, self.img_resolution], "img")
        return self.encoder(img)

    def reparameterize(self, mu: torch.Tensor, logvar: torch.Tensor,
                       generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """z = mu + sigma * eps; eps is drawn on the generator's device, then moved, so a seed means one z."""
        check_shape(mu, [None, self.z_dim], "mu")
        check_shape(logvar, list(mu.shape), "logvar")
        device = generator.device if generator is not None else mu.device
        eps = torch.randn(mu.shape, generator=generator, device=device, dtype=mu.dtype).to(mu.device)
        return mu + torch.exp(0.5 * logvar) * eps


register("vae", family="vae", config_cls=VAEConfig, generator=VAEGenerator, discriminator=None,
         tiny=dict(z_dim=4, img_resolution=8, hidden=(16,)),
         paper="Kingma, Welling. Auto-Encoding Variational Bayes. ICLR 2014.",
         description="Variational auto-encoder: MLP encoder to a Gaussian q(z|x), MLP decoder as the generator.")
