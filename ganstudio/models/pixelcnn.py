"""Gated PixelCNN (van den Oord et al. 2016, "Conditional Image Generation with PixelCNN Decoders") over a
grid of discrete codes: the autoregressive prior of the VQ-VAE (``models.vqvae``).

Two stacks remove the original PixelCNN's blind spot.  The vertical stack sees whole rows above a
cell (its kernel covers the rows up to the current one; its output is shifted one row down before the
horizontal stack reads it), the horizontal stack sees the cells to the left in the current row.  Each
layer is a gated unit ``tanh(W_f * x) * sigmoid(W_g * x)``; the horizontal stack has a residual
connection.  The first layer's horizontal convolution excludes the current cell (mask "A"), the others
include it (mask "B"), so logits at cell i depend on cells < i in raster order only.  Masks are made by
padding and cropping, not by zeroed weights: no weight can leak the future.

This module registers no model: the VQ-VAE holds a prior as a submodule.
"""
from __future__ import annotations

from typing import Callable, Optional

import torch
import torch.nn.functional as F
from torch import nn


def shift_down(x: torch.Tensor) -> torch.Tensor:
    """Row i takes row i - 1 (row 0 zeros): what the vertical stack hands the horizontal one."""
    return F.pad(x, (0, 0, 1, 0))[:, :, :-1]


def shift_right(x: torch.Tensor) -> torch.Tensor:
    """Column j takes column j - 1 (column 0 zeros): the first layer's mask "A"."""
    return F.pad(x, (1, 0))[:, :, :, :-1]


def _gate(x: torch.Tensor) -> torch.Tensor:
    a, b = x.chunk(2, dim=1)
    return torch.tanh(a) * torch.sigmoid(b)


class GatedLayer(nn.Module):
    """One gated layer of both stacks: (v, h) -> (v', h')."""

    def __init__(self, channels: int, kernel: int, first: bool):
        super().__init__()
        if kernel < 3 or kernel % 2 == 0:
            raise ValueError(f"the PixelCNN kernel must be odd and >= 3, got {kernel}")
        self.first, self.k = first, kernel // 2
        # vertical: rows i-k..i, columns j-k..j+k
        self.v_conv = nn.Conv2d(channels, 2 * channels, (self.k + 1, kernel))
        # horizontal: columns j-k..j of the current row
        self.h_conv = nn.Conv2d(channels, 2 * channels, (1, self.k + 1))
        self.v_to_h = nn.Conv2d(2 * channels, 2 * channels, 1)
        self.h_out = nn.Conv2d(channels, channels, 1)

    def forward(self, v: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        k = self.k
        v_feat = self.v_conv(F.pad(v, (k, k, k, 0)))
        h_in = shift_right(h) if self.first else h  # mask "A": the current cell is not an input
        h_feat = self.h_conv(F.pad(h_in, (k, 0, 0, 0))) + self.v_to_h(shift_down(v_feat))
        h_new = self.h_out(_gate(h_feat))
        return _gate(v_feat), (h_new if self.first else h + h_new)


class GatedPixelCNN(nn.Module):
    """codes [N, H, W] (long) -> logits [N, num_codes, H, W] of each cell given the cells before it."""

    def __init__(self, num_codes: int, channels: int = 64, layers: int = 8, kernel: int = 3, out_hidden: int = 128):
        super().__init__()
        if num_codes < 2 or channels < 1 or layers < 1 or out_hidden < 1:
            raise ValueError(f"PixelCNN needs num_codes >= 2 and channels, layers, out_hidden >= 1, got "
                             f"{num_codes}, {channels}, {layers}, {out_hidden}")
        self.num_codes = num_codes
        self.embed = nn.Embedding(num_codes, channels)
        self.layers = nn.ModuleList(GatedLayer(channels, kernel, first=(i == 0)) for i in range(layers))
        self.head = nn.Sequential(nn.ReLU(), nn.Conv2d(channels, out_hidden, 1), nn.ReLU(),
                                  nn.Conv2d(out_hidden, num_codes, 1))

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        x = self.embed(codes).permute(0, 3, 1, 2)
        v = h = x
        for layer in self.layers:
            v, h = layer(v, h)
        return self.head(h)

    def loss(self, codes: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood per cell, in nats."""
        return F.cross_entropy(self(codes), codes)

    @torch.no_grad()
    def sample(self, codes: torch.Tensor, cells: torch.Tensor, uniforms: torch.Tensor, temperature: float = 1.0,
               report: Optional[Callable[[int, torch.Tensor], None]] = None) -> torch.Tensor:
        """Resample the cells where ``cells`` [H, W] (bool) is set, in raster order, each given every cell
        before it (the kept ones and those already resampled); cells not set keep their codes.

        ``uniforms`` [N, H, W] in (0, 1) pick each code by inverting the cumulative distribution of
        softmax(logits / temperature): the same uniforms give the same codes.  ``report(done, codes)``
        after each cell (it may raise to cancel).  Returns a new [N, H, W] tensor.
        """
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        codes = codes.clone()
        order = cells.flatten().nonzero().flatten().tolist()
        W = codes.shape[2]
        for done, pos in enumerate(order, 1):
            i, j = divmod(pos, W)
            # Rows below i cannot reach row i's logits: run the rows up to i only.
            logits = self(codes[:, :i + 1])[:, :, i, j].float()
            cdf = torch.softmax(logits / temperature, dim=1).cumsum(dim=1)
            u = uniforms[:, i, j].to(cdf.dtype).unsqueeze(1) * cdf[:, -1:]
            codes[:, i, j] = (cdf < u).sum(dim=1).clamp(max=self.num_codes - 1)
            if report is not None:
                report(done, codes)
        return codes
