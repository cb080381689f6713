"""The original GAN (Goodfellow et al. 2014) with fully connected networks.

G: an MLP from z to a flattened image, ReLU hidden units and a tanh output (the paper's
sigmoid, rescaled to [-1, 1]).  D: an MLP with LeakyReLU(0.2) and dropout standing in for
the paper's maxout units, ending in one logit.  With ``c_dim > 0`` the class weights are
concatenated to G's z and to D's flattened image, as in the conditional MLP of Mirza &
Osindero; any image resolution works since nothing is convolutional.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ganstudio.models._base import Capabilities, Discriminator, Generator, check_shape
from ganstudio.models._registry import register


@dataclass
class MLPGANConfig:
    z_dim: int = 100  # noise dims
    c_dim: int = 0  # class weights concatenated to z and to D's input (0 = unconditional)
    img_resolution: int = 28  # any size >= 1 (MNIST: 28)
    img_channels: int = 1
    g_hidden: tuple = (256, 512, 1024)  # G hidden widths, input to output
    d_hidden: tuple = (1024, 512, 256)  # D hidden widths, input to output
    d_dropout: float = 0.3  # dropout after each D hidden layer (the paper trains D with dropout)


def _check_cfg(cfg: MLPGANConfig) -> None:
    if cfg.img_resolution < 1 or cfg.img_channels not in (1, 3):
        raise ValueError(f"MLP GAN needs img_resolution >= 1 and img_channels 1 or 3, "
                         f"got {cfg.img_resolution} and {cfg.img_channels}")
    if cfg.z_dim < 1 or cfg.c_dim < 0:
        raise ValueError(f"MLP GAN needs z_dim >= 1 and c_dim >= 0, got {cfg.z_dim} and {cfg.c_dim}")


class MLPGenerator(Generator):
    latent_layer = "net"  # reads z, or [z, c] when conditional
    def __init__(self, cfg: MLPGANConfig):
        super().__init__()
        _check_cfg(cfg)
        self.z_dim = self.w_dim = cfg.z_dim
        self.num_ws, self.c_dim = 1, cfg.c_dim
        self.img_resolution, self.img_channels = cfg.img_resolution, cfg.img_channels
        layers: list[nn.Module] = []
        width = cfg.z_dim + cfg.c_dim
        for h in cfg.g_hidden:
            layers += [nn.Linear(width, h), nn.ReLU(True)]
            width = h
        layers += [nn.Linear(width, cfg.img_channels * cfg.img_resolution ** 2), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def capabilities(self) -> Capabilities:
        return Capabilities(classes=self.c_dim > 0, class_space="onehot")

    def synthesis(self, ws, c=None, **_):
        check_shape(ws, [None, 1, self.z_dim], "ws")
        z = ws[:, 0]
        c = self.check_c(c, z.shape[0])
        x = z if c is None else torch.cat([z, c.to(z.dtype)], dim=1)
        return self.net(x).view(-1, self.img_channels, self.img_resolution, self.img_resolution)


class MLPDiscriminator(Discriminator):
    def __init__(self, cfg: MLPGANConfig):
        super().__init__()
        _check_cfg(cfg)
        self.c_dim = cfg.c_dim
        self.img_resolution, self.img_channels = cfg.img_resolution, cfg.img_channels
        layers: list[nn.Module] = []
        width = cfg.img_channels * cfg.img_resolution ** 2 + cfg.c_dim
        for h in cfg.d_hidden:
            layers += [nn.Linear(width, h), nn.LeakyReLU(0.2, True)]
            if cfg.d_dropout > 0:
                layers.append(nn.Dropout(cfg.d_dropout))
            width = h
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, img, c=None):
        check_shape(img, [None, self.img_channels, self.img_resolution, self.img_resolution], "img")
        x = img.flatten(1)
        if self.c_dim:
            if c is None:
                raise ValueError(f"this discriminator is class-conditional: pass c of shape [N, {self.c_dim}]")
            check_shape(c, [img.shape[0], self.c_dim], "c")
            x = torch.cat([x, c.to(x.dtype)], dim=1)
        return self.net(x).flatten()


register("mlp-gan", family="mlp_gan", config_cls=MLPGANConfig, generator=MLPGenerator,
         discriminator=MLPDiscriminator,
         tiny=dict(z_dim=8, img_resolution=8, g_hidden=(16, 32), d_hidden=(32, 16)),
         paper="Goodfellow et al. Generative Adversarial Nets. NIPS 2014.",
         description="The original GAN: fully connected G and D, optionally conditioned on class weights.")
