"""The autoencoder discriminator EBGAN and BEGAN share, its two layouts, and BEGAN's generator.

Both papers replace the classifier by an autoencoder whose reconstruction error is the score: low
on data, high on fakes.  ``forward`` returns the per-image energy: the mean squared error (EBGAN's
energy) or the mean absolute error (BEGAN's L1 loss L(v) = |v - D(v)|).  Layouts:

- BEGAN's (Berthelot et al. 2017, fig. 1): 3x3 convolutions with ELUs, stride-2 downsampling to 8x8,
  a fully connected embedding h, and a decoder that mirrors it (fully connected to 8x8, convolutions
  and nearest-neighbour upsampling).  BEGAN's generator is this decoder with weights of its own.
- EBGAN's (Zhao et al. 2017, appendix: "4c2s" convolutions): three 4x4 stride-2 convolutions down to
  res/8, a fully connected bottleneck (the embedding the pulling-away term reads), and three 4x4
  stride-2 transposed convolutions back, LeakyReLU(0.2).  Without the bottleneck (a 1024-d embedding)
  the autoencoder reconstructed anything, fakes included, and a 20-minute run collapsed to one image.
  No BatchNorm, so an image's energy does not depend on its batch.

The discriminators' decoders end linearly, as BEGAN's does: a tanh there saturated at the black
background, so a black fake was reconstructed exactly and the margin could not raise its energy (the
gradient of a squared error vanishes at zero error and tanh's at -1; both runs of 20 minutes stayed black).
BEGAN's generator keeps a tanh: images are in [-1, 1].
"""
from __future__ import annotations

import math
from typing import Optional

import torch
from torch import nn

from ganstudio.models._base import Discriminator, check_shape

BASE = 8  # the encoder's smallest feature map and the decoder's first one
ENERGIES = ("mse", "l1")


def num_levels(res: int) -> int:
    """Stride-2 steps between ``res`` and the 8x8 base; ValueError unless res is a power of two >= 8."""
    if res < BASE or 2 ** int(math.log2(res)) != res:
        raise ValueError(f"the autoencoder needs a power-of-two resolution >= {BASE}, got {res}")
    return int(math.log2(res // BASE))


def _conv(a: int, b: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(a, b, 3, stride, 1)


class ConvEncoder(nn.Module):
    """img [N, C, res, res] -> h [N, h_dim]; the width grows by n at each downsampling (BEGAN)."""

    def __init__(self, res: int, channels: int, n: int, h_dim: int):
        super().__init__()
        levels = num_levels(res)
        layers: list[nn.Module] = [_conv(channels, n), nn.ELU()]
        width = n
        for i in range(levels):
            layers += [_conv(width, width), nn.ELU(), _conv(width, n * (i + 2), stride=2), nn.ELU()]
            width = n * (i + 2)
        layers += [_conv(width, width), nn.ELU()]
        self.body = nn.Sequential(*layers)
        self.fc = nn.Linear(width * BASE * BASE, h_dim)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return self.fc(self.body(img).flatten(1))


class ConvDecoder(nn.Module):
    """h [N, h_dim] -> img [N, C, res, res]: two convolutions per resolution, then upsample; tanh or linear out."""

    def __init__(self, res: int, channels: int, n: int, h_dim: int, tanh: bool = True):
        super().__init__()
        levels = num_levels(res)
        self.n = n
        self.fc = nn.Linear(h_dim, n * BASE * BASE)
        layers: list[nn.Module] = []
        for _ in range(levels):
            layers += [_conv(n, n), nn.ELU(), _conv(n, n), nn.ELU(), nn.Upsample(scale_factor=2, mode="nearest")]
        layers += [_conv(n, n), nn.ELU(), _conv(n, channels)] + ([nn.Tanh()] if tanh else [])
        self.body = nn.Sequential(*layers)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.body(self.fc(h).view(-1, self.n, BASE, BASE))


class StridedEncoder(nn.Module):
    """img [N, C, res, res] -> embedding [N, h_dim]: three 4x4 stride-2 convolutions, then linear (EBGAN)."""

    def __init__(self, res: int, channels: int, n: int, h_dim: int):
        super().__init__()
        num_levels(res)
        layers: list[nn.Module] = []
        for a, b in ((channels, n), (n, 2 * n), (2 * n, 4 * n)):
            layers += [nn.Conv2d(a, b, 4, 2, 1), nn.LeakyReLU(0.2)]
        self.body = nn.Sequential(*layers)
        self.fc = nn.Linear(4 * n * (res // 8) ** 2, h_dim)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return self.fc(self.body(img).flatten(1))


class StridedDecoder(nn.Module):
    """embedding -> img: three 4x4 stride-2 transposed convolutions back to res x res, linear out (EBGAN)."""

    def __init__(self, res: int, channels: int, n: int, h_dim: int):
        super().__init__()
        self.n, self.side = n, res // 8
        self.fc = nn.Sequential(nn.Linear(h_dim, 4 * n * self.side ** 2), nn.LeakyReLU(0.2))
        self.body = nn.Sequential(nn.ConvTranspose2d(4 * n, 2 * n, 4, 2, 1), nn.LeakyReLU(0.2),
                                  nn.ConvTranspose2d(2 * n, n, 4, 2, 1), nn.LeakyReLU(0.2),
                                  nn.ConvTranspose2d(n, channels, 4, 2, 1))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.body(self.fc(h).view(-1, 4 * self.n, self.side, self.side))


def _check_widths(**widths: int) -> None:
    bad = {k: v for k, v in widths.items() if int(v) < 1}
    if bad:
        raise ValueError("the autoencoder needs " + " and ".join(f"{k} >= 1" for k in bad) + ", got "
                         + ", ".join(str(v) for v in bad.values()))


def began_autoencoder(res: int, channels: int, n: int, h_dim: int) -> tuple[nn.Module, nn.Module]:
    _check_widths(n=n, h_dim=h_dim)
    return ConvEncoder(res, channels, n, h_dim), ConvDecoder(res, channels, n, h_dim, tanh=False)


def ebgan_autoencoder(res: int, channels: int, n: int, h_dim: int) -> tuple[nn.Module, nn.Module]:
    _check_widths(n=n, h_dim=h_dim)
    return StridedEncoder(res, channels, n, h_dim), StridedDecoder(res, channels, n, h_dim)


class AutoencoderDiscriminator(Discriminator):
    """D(x) = the reconstruction error of x; ``forward_aux`` also returns the embedding ("embedding")."""

    def __init__(self, res: int, channels: int, autoencoder: tuple[nn.Module, nn.Module], energy: str):
        super().__init__()
        if energy not in ENERGIES:
            raise ValueError(f"energy must be one of {', '.join(ENERGIES)}, got {energy!r}")
        self.img_resolution, self.img_channels = res, channels
        self.energy_kind = energy
        self.encoder, self.decoder = autoencoder

    def reconstruct(self, img: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(reconstruction, embedding h) of img."""
        check_shape(img, [None, self.img_channels, self.img_resolution, self.img_resolution], "img")
        h = self.encoder(img)
        return self.decoder(h), h

    def energy(self, img: torch.Tensor, recon: torch.Tensor) -> torch.Tensor:
        diff = (recon.float() - img.float()).flatten(1)
        return diff.square().mean(1) if self.energy_kind == "mse" else diff.abs().mean(1)

    def forward(self, img: torch.Tensor, c: Optional[torch.Tensor] = None) -> torch.Tensor:
        recon, _ = self.reconstruct(img)
        return self.energy(img, recon)

    def forward_aux(self, img: torch.Tensor, c: Optional[torch.Tensor] = None):
        recon, h = self.reconstruct(img)
        return self.energy(img, recon), {"embedding": h}

    def aux_heads(self) -> tuple[str, ...]:
        return ("embedding",)  # the codes EBGAN's pulling-away term reads
