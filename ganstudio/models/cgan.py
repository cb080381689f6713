"""Conditional GAN (Mirza & Osindero 2014) on a DCGAN-style convolutional body.

The paper feeds the label y to both networks as an extra input.  Here G concatenates the
class weights c with z before its first transposed conv, and D concatenates c, broadcast to
``c_dim`` constant maps, to the image channels.  Both joins are linear in c, so blending
class weights blends the conditioning and a one-hot c is exactly that class.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from ganstudio.models._base import Capabilities, Discriminator, Generator, check_shape
from ganstudio.models._registry import register


@dataclass
class CGANConfig:
    z_dim: int = 100  # noise dims
    c_dim: int = 10  # classes; c is concatenated to z and to D's input channels
    img_resolution: int = 32  # power of two >= 8
    img_channels: int = 3
    ngf: int = 64  # G width at the last hidden layer; doubles per layer towards the input
    ndf: int = 64  # D width at the first layer; doubles per layer


def _num_hidden(cfg: CGANConfig) -> int:
    res = cfg.img_resolution
    if res < 8 or 2 ** int(math.log2(res)) != res:
        raise ValueError(f"cGAN resolution must be a power of two >= 8, got {res}")
    if cfg.img_channels not in (1, 3) or cfg.c_dim < 1:
        raise ValueError(f"cGAN needs img_channels 1 or 3 and c_dim >= 1, got {cfg.img_channels} and {cfg.c_dim}")
    return int(math.log2(res)) - 2


def _dcgan_init(module: nn.Module) -> None:
    for m in module.modules():  # N(0, 0.02) init of DCGAN
        if isinstance(m, (nn.ConvTranspose2d, nn.Conv2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def _check_d_c(c, n: int, c_dim: int) -> torch.Tensor:
    if c is None:
        raise ValueError(f"this discriminator is class-conditional: pass c of shape [N, {c_dim}]")
    check_shape(c, [n, c_dim], "c")
    return c


class CGANGenerator(Generator):
    latent_layer = "main"  # its first transposed conv reads [z, c]
    cpu_channels_last = True  # see Generator.cpu_channels_last

    def __init__(self, cfg: CGANConfig):
        super().__init__()
        n = _num_hidden(cfg)
        self.z_dim = self.w_dim = cfg.z_dim
        self.num_ws, self.c_dim = 1, cfg.c_dim
        self.img_resolution, self.img_channels = cfg.img_resolution, cfg.img_channels
        layers: list[nn.Module] = []
        ch_in = cfg.z_dim + cfg.c_dim
        for i in range(n):
            ch = cfg.ngf * 2 ** (n - 1 - i)
            stride, pad = (1, 0) if i == 0 else (2, 1)  # 1x1 -> 4x4, then doubling
            layers += [nn.ConvTranspose2d(ch_in, ch, 4, stride, pad, bias=False), nn.BatchNorm2d(ch), nn.ReLU(True)]
            ch_in = ch
        layers += [nn.ConvTranspose2d(ch_in, cfg.img_channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)
        _dcgan_init(self)

    def capabilities(self) -> Capabilities:
        return Capabilities(classes=True, class_space="onehot")

    def synthesis(self, ws, c=None, **_):
        check_shape(ws, [None, 1, self.z_dim], "ws")
        z = ws[:, 0]
        c = self.check_c(c, z.shape[0])
        return self.main(torch.cat([z, c.to(z.dtype)], dim=1)[:, :, None, None])


class CGANDiscriminator(Discriminator):
    def __init__(self, cfg: CGANConfig):
        super().__init__()
        n = _num_hidden(cfg)
        self.c_dim = cfg.c_dim
        self.img_resolution, self.img_channels = cfg.img_resolution, cfg.img_channels
        layers: list[nn.Module] = []
        ch_in = cfg.img_channels + cfg.c_dim
        for i in range(n):
            ch = cfg.ndf * 2 ** i
            layers.append(nn.Conv2d(ch_in, ch, 4, 2, 1, bias=False))
            if i > 0:  # no BatchNorm on D's input layer (DCGAN, sec. 3)
                layers.append(nn.BatchNorm2d(ch))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            ch_in = ch
        self.main = nn.Sequential(*layers)
        self.out = nn.Conv2d(ch_in, 1, 4, 1, 0, bias=False)
        _dcgan_init(self)

    def forward(self, img, c=None):
        check_shape(img, [None, self.img_channels, self.img_resolution, self.img_resolution], "img")
        c = _check_d_c(c, img.shape[0], self.c_dim)
        maps = c.to(img.dtype)[:, :, None, None].expand(-1, -1, img.shape[2], img.shape[3])
        return self.out(self.main(torch.cat([img, maps], dim=1))).flatten()


register("cgan", family="cgan", config_cls=CGANConfig, generator=CGANGenerator, discriminator=CGANDiscriminator,
         tiny=dict(z_dim=8, c_dim=4, img_resolution=16, ngf=8, ndf=8),
         paper="Mirza, Osindero. Conditional Generative Adversarial Nets. arXiv:1411.1784, 2014.",
         description="Conditional DCGAN: class weights concatenated to z and, as constant maps, to D's input.")
