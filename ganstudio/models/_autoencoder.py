"""The autoencoder discriminator EBGAN and BEGAN share, and BEGAN's decoder-shaped generator.

Both papers replace the classifier by an autoencoder whose reconstruction error is the score: low
on data, high on fakes.  The layout follows BEGAN (Berthelot et al. 2017, fig. 1): 3x3 convolutions
with ELUs, stride-2 downsampling to 8x8, a fully connected embedding h, and a decoder that mirrors
it (fully connected to 8x8, convolutions and nearest-neighbour upsampling).  The decoder ends in a
tanh so images stay in [-1, 1].  ``forward`` returns the per-image energy: the mean squared error
(EBGAN's energy) or the mean absolute error (BEGAN's L1 loss L(v) = |v - D(v)|).
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
    """h [N, h_dim] -> img [N, C, res, res] in [-1, 1]: two convolutions per resolution, then upsample."""

    def __init__(self, res: int, channels: int, n: int, h_dim: int):
        super().__init__()
        levels = num_levels(res)
        self.n = n
        self.fc = nn.Linear(h_dim, n * BASE * BASE)
        layers: list[nn.Module] = []
        for _ in range(levels):
            layers += [_conv(n, n), nn.ELU(), _conv(n, n), nn.ELU(), nn.Upsample(scale_factor=2, mode="nearest")]
        layers += [_conv(n, n), nn.ELU(), _conv(n, channels), nn.Tanh()]
        self.body = nn.Sequential(*layers)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.body(self.fc(h).view(-1, self.n, BASE, BASE))


class AutoencoderDiscriminator(Discriminator):
    """D(x) = the reconstruction error of x; ``forward_aux`` also returns the embedding h ("embedding")."""

    def __init__(self, res: int, channels: int, n: int, h_dim: int, energy: str):
        super().__init__()
        if energy not in ENERGIES:
            raise ValueError(f"energy must be one of {', '.join(ENERGIES)}, got {energy!r}")
        if n < 1 or h_dim < 1:
            raise ValueError(f"the autoencoder needs n >= 1 and h_dim >= 1, got {n} and {h_dim}")
        self.img_resolution, self.img_channels = res, channels
        self.energy_kind = energy
        self.encoder = ConvEncoder(res, channels, n, h_dim)
        self.decoder = ConvDecoder(res, channels, n, h_dim)

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
