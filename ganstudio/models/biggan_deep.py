"""BigGAN-deep generator (Brock, Donahue, Simonyan 2019), as released through TF-Hub.

Each block is a bottleneck: four conditional BatchNorm + ReLU + conv steps (1x1 down to a
quarter of the width, two 3x3, 1x1 back up), nearest 2x upsampling inside every second block,
and a skip path that drops channels instead of convolving.  The conditioning vector is
``[z, c @ E]`` and goes to every BatchNorm's gain and bias.  Self-attention sits before the
first block at 64x64.

The pretrained release computes BatchNorm with *stored* statistics, one set per truncation
value in [0, 1] (``n_stats`` of them), because the statistics shift with the truncation of z.
So this generator takes ``truncation`` (``forward``'s ``truncation_psi``, or ``synthesis``'s
``truncation``): it selects those statistics, and the caller samples z from a normal
truncated to [-2, 2] and scaled by the same value, as the release does.

Module names follow the pytorch-pretrained-biggan package so its weights import by renaming:
its spectrally normalized ``weight_orig`` / ``weight_u`` / ``weight_v`` become one plain
``weight`` here (the normalization is folded in at import, as it is constant at inference).
This file only renders: there is no discriminator, and BatchNorm never updates its statistics.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from ganstudio.models._base import Capabilities, Generator, check_shape
from ganstudio.models._layers import SelfAttention
from ganstudio.models._registry import register

# Width multipliers of channel_width from 4 px up, per output size (the paper's Table 8).
_WIDTHS = {128: (16, 16, 8, 4, 2, 1), 256: (16, 16, 8, 8, 4, 2, 1), 512: (16, 16, 8, 8, 4, 2, 1, 1)}


@dataclass
class BigGANDeepConfig:
    img_resolution: int = 128  # 128, 256 or 512 pick the paper's blocks; other sizes need explicit layers
    z_dim: int = 128  # noise dims; the class embedding has the same width
    c_dim: int = 1000  # classes (ImageNet)
    channel_width: int = 128  # ch: block widths are multiples of it
    layers: tuple = ()  # (upsample, in_mult, out_mult) per block; () = the paper's schedule
    attention_layer_position: int = -1  # block index that self-attention precedes; -1 = the 64 px one
    eps: float = 1e-4  # BatchNorm epsilon of the release
    n_stats: int = 51  # stored BatchNorm statistics, for truncation 0, 1/(n-1), ..., 1
    img_channels: int = 3


def default_layers(img_resolution: int) -> tuple:
    """The paper's block schedule: per resolution one plain block, then one upsampling block."""
    if img_resolution not in _WIDTHS:
        raise ValueError(f"BigGAN-deep has a default schedule for {sorted(_WIDTHS)} px; "
                         f"pass layers explicitly for {img_resolution}")
    w = _WIDTHS[img_resolution]
    out = []
    for a, b in zip(w[:-1], w[1:]):
        out += [(False, a, a), (True, a, b)]
    return tuple(out)


def _stats_blend(truncation: float, n_stats: int) -> tuple[int, float]:
    """(index, weight of that index) of the stored statistics for a truncation value.

    Same arithmetic as pytorch-pretrained-biggan (whose converted statistics expect it): the
    fractional part weights the lower index and its complement the next one.
    """
    coef, start = math.modf(truncation / (1.0 / (n_stats - 1)))
    return int(start), coef


class BigGANBatchNorm(nn.Module):
    """BatchNorm with stored per-truncation statistics; gain and bias linear in the condition (or fixed)."""

    def __init__(self, num_features: int, cond_dim: Optional[int], n_stats: int, eps: float):
        super().__init__()
        self.eps = eps
        self.register_buffer("running_means", torch.zeros(n_stats, num_features))
        self.register_buffer("running_vars", torch.ones(n_stats, num_features))
        self.conditional = cond_dim is not None
        if self.conditional:
            self.scale = nn.Linear(cond_dim, num_features, bias=False)
            self.offset = nn.Linear(cond_dim, num_features, bias=False)
        else:
            self.weight = nn.Parameter(torch.ones(num_features))
            self.bias = nn.Parameter(torch.zeros(num_features))

    def stats(self, truncation: float) -> tuple[torch.Tensor, torch.Tensor]:
        i, coef = _stats_blend(truncation, self.running_means.shape[0])
        if coef != 0.0:
            mean = self.running_means[i] * coef + self.running_means[i + 1] * (1 - coef)
            var = self.running_vars[i] * coef + self.running_vars[i + 1] * (1 - coef)
            return mean, var
        return self.running_means[i], self.running_vars[i]

    def forward(self, x: torch.Tensor, truncation: float, cond: Optional[torch.Tensor] = None) -> torch.Tensor:
        mean, var = self.stats(truncation)
        if not self.conditional:
            return F.batch_norm(x, mean, var, self.weight, self.bias, training=False, eps=self.eps)
        gain = 1 + self.scale(cond)[:, :, None, None]
        bias = self.offset(cond)[:, :, None, None]
        return (x - mean[None, :, None, None]) / torch.sqrt(var[None, :, None, None] + self.eps) * gain + bias


class GenBlock(nn.Module):
    """Bottleneck residual block; the skip path keeps the first ``out_size`` channels."""

    def __init__(self, in_size: int, out_size: int, cond_dim: int, up_sample: bool, n_stats: int, eps: float,
                 reduction_factor: int = 4):
        super().__init__()
        if out_size > in_size:
            raise ValueError(f"BigGAN-deep blocks never widen (skip path drops channels): {in_size} -> {out_size}")
        mid = in_size // reduction_factor
        if mid < 1:
            raise ValueError(f"block width {in_size} is too small for the 1/{reduction_factor} bottleneck")
        self.up_sample, self.out_size = up_sample, out_size
        self.bn_0 = BigGANBatchNorm(in_size, cond_dim, n_stats, eps)
        self.conv_0 = nn.Conv2d(in_size, mid, 1)
        self.bn_1 = BigGANBatchNorm(mid, cond_dim, n_stats, eps)
        self.conv_1 = nn.Conv2d(mid, mid, 3, padding=1)
        self.bn_2 = BigGANBatchNorm(mid, cond_dim, n_stats, eps)
        self.conv_2 = nn.Conv2d(mid, mid, 3, padding=1)
        self.bn_3 = BigGANBatchNorm(mid, cond_dim, n_stats, eps)
        self.conv_3 = nn.Conv2d(mid, out_size, 1)

    def forward(self, x: torch.Tensor, cond: torch.Tensor, truncation: float) -> torch.Tensor:
        h = self.conv_0(F.relu(self.bn_0(x, truncation, cond)))
        h = F.relu(self.bn_1(h, truncation, cond))
        if self.up_sample:
            h = F.interpolate(h, scale_factor=2, mode="nearest")
        h = self.conv_1(h)
        h = self.conv_2(F.relu(self.bn_2(h, truncation, cond)))
        h = self.conv_3(F.relu(self.bn_3(h, truncation, cond)))
        skip = x[:, :self.out_size]
        if self.up_sample:
            skip = F.interpolate(skip, scale_factor=2, mode="nearest")
        return h + skip


class BigGANDeepGenerator(Generator):
    latent_layer = "gen_z"  # reads [z, class embedding]
    # The engine should pass truncation to synthesis too: it changes BatchNorm statistics here.
    synthesis_truncation = True

    def __init__(self, cfg: BigGANDeepConfig):
        super().__init__()
        layers = tuple(tuple(layer) for layer in cfg.layers) or default_layers(cfg.img_resolution)
        n_up = sum(bool(u) for u, _, _ in layers)
        if 4 * 2 ** n_up != cfg.img_resolution:
            raise ValueError(f"the blocks upsample {n_up} times (4 -> {4 * 2 ** n_up} px), "
                             f"but img_resolution is {cfg.img_resolution}")
        if cfg.n_stats < 2 or cfg.c_dim < 1 or cfg.z_dim < 1 or cfg.channel_width < 1:
            raise ValueError("BigGAN-deep needs n_stats >= 2 and positive z_dim, c_dim and channel_width")
        for (_, _, out), (_, nxt, _) in zip(layers, layers[1:]):
            if out != nxt:
                raise ValueError(f"block widths do not chain: a block ends at {out}x, the next starts at {nxt}x")
        attn = cfg.attention_layer_position
        if attn == -1:  # the block that first sees 64x64 features
            ups = [sum(bool(u) for u, _, _ in layers[:i]) for i in range(len(layers))]
            attn = ups.index(4) if 4 in ups else None
        elif not 0 <= attn < len(layers):
            attn = None  # past the last block: no attention, as in the reference
        self.z_dim = self.w_dim = cfg.z_dim
        self.num_ws, self.c_dim = 1, cfg.c_dim
        self.img_resolution, self.img_channels = cfg.img_resolution, cfg.img_channels
        ch = cfg.channel_width
        cond_dim = 2 * cfg.z_dim
        self.ch0 = ch * layers[0][1]
        self.embeddings = nn.Linear(cfg.c_dim, cfg.z_dim, bias=False)  # c @ E: linear, so classes blend
        self.gen_z = nn.Linear(cond_dim, 4 * 4 * self.ch0)
        blocks: list[nn.Module] = []
        self.attention_index = None
        for i, (up, a, b) in enumerate(layers):
            if i == attn:
                self.attention_index = len(blocks)
                blocks.append(SelfAttention(ch * a, use_sn=False))
            blocks.append(GenBlock(ch * a, ch * b, cond_dim, bool(up), cfg.n_stats, cfg.eps))
        self.layers = nn.ModuleList(blocks)
        ch_last = ch * layers[-1][2]
        self.bn = BigGANBatchNorm(ch_last, None, cfg.n_stats, cfg.eps)
        self.conv_to_rgb = nn.Conv2d(ch_last, cfg.img_channels, 3, padding=1)
        self.n_stats = cfg.n_stats

    def capabilities(self) -> Capabilities:
        return Capabilities(truncation="z", z_truncation="scaled", classes=True, class_space="embedding",
                            attention=self.attention_index is not None)

    def _check_truncation(self, truncation: float) -> float:
        t = float(truncation)
        if not 0.0 < t <= 1.0:  # also rejects NaN
            raise ValueError(f"BigGAN-deep truncation must be in (0, 1], got {truncation}")
        return t

    def forward(self, z, c=None, truncation_psi: float = 1.0, truncation_cutoff=None, **synthesis_kwargs):
        ws = self.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
        return self.synthesis(ws, c, truncation=truncation_psi, **synthesis_kwargs)

    def synthesis(self, ws, c=None, *, truncation: float = 1.0, **_):
        """ws [N, 1, z_dim], class weights c [N, c_dim], truncation in (0, 1] -> image [N, 3, H, W]."""
        check_shape(ws, [None, 1, self.z_dim], "ws")
        t = self._check_truncation(truncation)
        z = ws[:, 0]
        c = self.check_c(c, z.shape[0])
        cond = torch.cat([z, self.embeddings(c.to(z.dtype))], dim=1)
        # The release's dense layer is laid out height, width, channels (TF order).
        h = self.gen_z(cond).reshape(z.shape[0], 4, 4, self.ch0).permute(0, 3, 1, 2)
        for layer in self.layers:
            h = layer(h, cond, t) if isinstance(layer, GenBlock) else layer(h)
        h = F.relu(self.bn(h, t))
        return torch.tanh(self.conv_to_rgb(h))

    def attention_maps(self) -> dict:
        """{resolution: attention [N, HW, HW/4]} from the last forward (empty before the first)."""
        if self.attention_index is None:
            return {}
        att = self.layers[self.attention_index].last_attention
        if att is None:
            return {}
        return {int(round(math.sqrt(att.shape[1]))): att}


register("biggan-deep", family="biggan_deep", config_cls=BigGANDeepConfig, generator=BigGANDeepGenerator,
         discriminator=None,
         tiny=dict(img_resolution=16, z_dim=8, c_dim=5, channel_width=4, n_stats=3,
                   layers=((False, 4, 4), (True, 4, 2), (False, 2, 2), (True, 2, 1)), attention_layer_position=2),
         paper="Brock, Donahue, Simonyan. Large Scale GAN Training for High Fidelity Natural Image Synthesis. "
               "ICLR 2019.",
         description="BigGAN-deep (render only): bottleneck blocks, truncation-dependent BatchNorm statistics.")
