"""SAGAN (Zhang, Goodfellow, Metaxas, Odena 2019): a class-conditional ResNet GAN with self-attention.

G: z -> linear -> 4x4, ResNet up-blocks with conditional BatchNorm (gains and biases linear
in the class weights c), one self-attention block at ``attn_res``, BN-ReLU-conv-tanh output.
D: ResNet down-blocks, self-attention at ``attn_res``, ReLU and sum pooling, a linear score
plus the projection term <embed(c), h> (Miyato & Koyama 2018).  Spectral norm on every
conv and linear layer of both networks.

The ResNet blocks and the D live here and are reused by BigGAN, which extends SAGAN.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import torch
import torch.nn.functional as F
from torch import nn

from ganstudio.models._base import Capabilities, Discriminator, Generator, check_shape
from ganstudio.models._layers import ConditionalBatchNorm2d, SelfAttention, maybe_sn
from ganstudio.models._registry import register

# Channel multipliers of the ResNet architectures (BigGAN paper, tables 4-6).
# G: width at 4 px, then the output width of each up-block (8 px, 16 px, ...).
G_ARCH = {
    32: (4, 4, 4, 4),
    64: (16, 16, 8, 4, 2),
    128: (16, 16, 8, 4, 2, 1),
}
# D: (output width, downsample?) per block; the input is the image.
D_ARCH = {
    32: ((4, True), (4, True), (4, False), (4, False)),
    64: ((1, True), (2, True), (4, True), (8, True), (16, False)),
    128: ((1, True), (2, True), (4, True), (8, True), (16, True), (16, False)),
}


def check_resolution(res: int) -> None:
    if res not in G_ARCH:
        raise ValueError(f"img_resolution must be one of {sorted(G_ARCH)}, got {res}")


def g_resolutions(res: int) -> list[int]:
    """Output resolution of each G up-block."""
    return [8 * 2 ** i for i in range(len(G_ARCH[res]) - 1)]


def check_attn_res(attn_res: int, img_resolution: int) -> None:
    ok = g_resolutions(img_resolution)
    if attn_res and attn_res not in ok:
        raise ValueError(f"attn_res must be 0 (none) or one of {ok} for {img_resolution} px, got {attn_res}")


def _attention(channels: int, res: int) -> SelfAttention:
    if channels < 8:  # the query/key maps have channels // 8 channels
        raise ValueError(f"self-attention needs >= 8 channels; the {res} px layer has {channels} (raise the width)")
    return SelfAttention(channels)


class _Norm(nn.Module):
    """BatchNorm that is conditional when there is something to condition on; takes (x, cond) either way."""

    def __init__(self, channels: int, cond_dim: int, use_sn: bool):
        super().__init__()
        self.cbn = ConditionalBatchNorm2d(channels, cond_dim, use_sn=use_sn) if cond_dim else None
        self.bn = None if cond_dim else nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor, cond: Optional[torch.Tensor]) -> torch.Tensor:
        return self.bn(x) if self.cbn is None else self.cbn(x, cond)


class GBlock(nn.Module):
    """Pre-activation ResNet up-block: (C)BN-ReLU-up-conv3x3-(C)BN-ReLU-conv3x3, plus up-conv1x1 shortcut."""

    def __init__(self, ch_in: int, ch_out: int, cond_dim: int, cbn_sn: bool = False):
        super().__init__()
        self.norm1 = _Norm(ch_in, cond_dim, cbn_sn)
        self.conv1 = maybe_sn(nn.Conv2d(ch_in, ch_out, 3, padding=1), True)
        self.norm2 = _Norm(ch_out, cond_dim, cbn_sn)
        self.conv2 = maybe_sn(nn.Conv2d(ch_out, ch_out, 3, padding=1), True)
        self.conv_sc = maybe_sn(nn.Conv2d(ch_in, ch_out, 1), True)

    def forward(self, x: torch.Tensor, cond: Optional[torch.Tensor]) -> torch.Tensor:
        h = F.interpolate(F.relu(self.norm1(x, cond)), scale_factor=2, mode="nearest")
        h = self.conv2(F.relu(self.norm2(self.conv1(h), cond)))
        return h + self.conv_sc(F.interpolate(x, scale_factor=2, mode="nearest"))


class DBlock(nn.Module):
    """ResNet down-block: [ReLU]-conv3x3-ReLU-conv3x3-[avgpool], plus a 1x1 shortcut.

    The first block skips the leading ReLU (its input is the image) and pools before its
    shortcut conv, the others convolve first (BigGAN's D blocks).
    """

    def __init__(self, ch_in: int, ch_out: int, downsample: bool, preactivation: bool):
        super().__init__()
        self.downsample, self.preactivation = downsample, preactivation
        self.conv1 = maybe_sn(nn.Conv2d(ch_in, ch_out, 3, padding=1), True)
        self.conv2 = maybe_sn(nn.Conv2d(ch_out, ch_out, 3, padding=1), True)
        self.conv_sc = maybe_sn(nn.Conv2d(ch_in, ch_out, 1), True) if (ch_in != ch_out or downsample) else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(x) if self.preactivation else x
        h = self.conv2(F.relu(self.conv1(h)))
        if self.downsample:
            h = F.avg_pool2d(h, 2)
        sc = x
        if self.conv_sc is not None:
            if self.preactivation:
                sc = self.conv_sc(sc)
                if self.downsample:
                    sc = F.avg_pool2d(sc, 2)
            else:
                if self.downsample:
                    sc = F.avg_pool2d(sc, 2)
                sc = self.conv_sc(sc)
        return h + sc


class ResNetDiscriminator(Discriminator):
    """Projection discriminator with ResNet down-blocks and one self-attention block (SAGAN, BigGAN)."""

    def __init__(self, *, img_resolution: int, img_channels: int, c_dim: int, ch: int, attn_res: int,
                 init: Optional[Callable[[nn.Module], None]] = None):
        super().__init__()
        check_resolution(img_resolution)
        self.img_resolution, self.img_channels, self.c_dim = img_resolution, img_channels, c_dim
        self.blocks = nn.ModuleList()
        self.attn_after: Optional[int] = None  # index of the block whose output goes through attention
        self.attn_res = attn_res
        attn_ch = 0
        ch_in, res = img_channels, img_resolution
        for i, (mult, down) in enumerate(D_ARCH[img_resolution]):
            self.blocks.append(DBlock(ch_in, mult * ch, down, preactivation=i > 0))
            ch_in, res = mult * ch, res // 2 if down else res
            if attn_res and res == attn_res and self.attn_after is None:
                self.attn_after, attn_ch = i, ch_in
        if attn_res and self.attn_after is None:
            raise ValueError(f"attn_res={attn_res}: D at {img_resolution} px has no layer at that resolution")
        self.attention = _attention(attn_ch, attn_res) if attn_res else None
        self.linear = maybe_sn(nn.Linear(ch_in, 1), True)
        # Projection: c @ embed, linear in c so class blends are meaningful.
        self.embed = maybe_sn(nn.Linear(c_dim, ch_in, bias=False), True) if c_dim else None
        if init is not None:
            init(self)

    def forward(self, img, c=None):
        if img.ndim != 4 or tuple(img.shape[1:]) != (self.img_channels, self.img_resolution, self.img_resolution):
            raise ValueError(f"img must have shape [N, {self.img_channels}, {self.img_resolution}, "
                             f"{self.img_resolution}], got {list(img.shape)}")
        if self.c_dim:
            if c is None:
                raise ValueError(f"{type(self).__name__} is class-conditional: pass c of shape [N, {self.c_dim}]")
            check_shape(c, [img.shape[0], self.c_dim], "c")
        h = img
        for i, block in enumerate(self.blocks):
            h = block(h)
            if i == self.attn_after:
                h = self.attention(h)
        h = F.relu(h).sum(dim=[2, 3])
        out = self.linear(h).flatten()
        if self.embed is not None:
            out = out + (self.embed(c.to(h.dtype)) * h).sum(dim=1)
        return out

    def attention_maps(self) -> dict:
        """{resolution: attention [N, HW, HW/4]} from the last forward (empty before the first)."""
        if self.attention is None or self.attention.last_attention is None:
            return {}
        return {self.attn_res: self.attention.last_attention}


def xavier_init(module: nn.Module) -> None:
    # SAGAN's initialisation: Xavier-uniform weights, zero biases (torch defaults elsewhere).
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(_raw_weight(m))
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def _raw_weight(m: nn.Module) -> torch.Tensor:
    """The trainable weight of a layer, under spectral norm's parametrization when there is one."""
    if hasattr(m, "parametrizations") and "weight" in m.parametrizations:
        return m.parametrizations.weight.original
    return m.weight


@dataclass
class SAGANConfig:
    z_dim: int = 128  # latent dims
    c_dim: int = 10  # classes (0 = unconditional)
    img_resolution: int = 32  # 32, 64 or 128
    img_channels: int = 3
    g_ch: int = 64  # G width multiplier (channels = multiplier x G_ARCH entry)
    d_ch: int = 64  # D width multiplier
    attn_res: int = 16  # feature-map resolution of the self-attention block in G and D (0 = none)


class SAGANGenerator(Generator):
    latent_layer = "linear"
    def __init__(self, cfg: SAGANConfig):
        super().__init__()
        check_resolution(cfg.img_resolution)
        check_attn_res(cfg.attn_res, cfg.img_resolution)
        if cfg.c_dim < 0:
            raise ValueError(f"c_dim must be >= 0, got {cfg.c_dim}")
        self.z_dim = self.w_dim = cfg.z_dim
        self.num_ws, self.c_dim = 1, cfg.c_dim
        self.img_resolution, self.img_channels = cfg.img_resolution, cfg.img_channels
        chans = [m * cfg.g_ch for m in G_ARCH[cfg.img_resolution]]
        self.ch0 = chans[0]
        self.linear = maybe_sn(nn.Linear(cfg.z_dim, 16 * chans[0]), True)
        self.blocks = nn.ModuleList([GBlock(a, b, cfg.c_dim) for a, b in zip(chans[:-1], chans[1:])])
        self.block_resolutions = g_resolutions(cfg.img_resolution)
        self.attn_res = cfg.attn_res
        self.attention = None
        if cfg.attn_res:
            self.attention = _attention(chans[self.block_resolutions.index(cfg.attn_res) + 1], cfg.attn_res)
        self.out_bn = nn.BatchNorm2d(chans[-1])
        self.out_conv = maybe_sn(nn.Conv2d(chans[-1], cfg.img_channels, 3, padding=1), True)
        xavier_init(self)
        for m in self.modules():  # CBN starts as plain BN: gain 1, bias 0 for every class
            if isinstance(m, ConditionalBatchNorm2d):
                nn.init.zeros_(_raw_weight(m.gain))
                nn.init.zeros_(_raw_weight(m.bias))

    def capabilities(self) -> Capabilities:
        return Capabilities(classes=self.c_dim > 0, class_space="embedding", attention=self.attention is not None)

    def synthesis(self, ws, c=None, **_):
        check_shape(ws, [None, 1, self.z_dim], "ws")
        z = ws[:, 0]
        c = self.check_c(c, z.shape[0])
        cond = None if c is None else c.to(z.dtype)
        h = self.linear(z).reshape(z.shape[0], self.ch0, 4, 4)
        for res, block in zip(self.block_resolutions, self.blocks):
            h = block(h, cond)
            if res == self.attn_res:
                h = self.attention(h)
        return torch.tanh(self.out_conv(F.relu(self.out_bn(h))))

    def attention_maps(self) -> dict:
        """{resolution: attention [N, HW, HW/4]} from the last forward (empty before the first)."""
        if self.attention is None or self.attention.last_attention is None:
            return {}
        return {self.attn_res: self.attention.last_attention}


class SAGANDiscriminator(ResNetDiscriminator):
    def __init__(self, cfg: SAGANConfig):
        super().__init__(img_resolution=cfg.img_resolution, img_channels=cfg.img_channels, c_dim=cfg.c_dim,
                         ch=cfg.d_ch, attn_res=cfg.attn_res, init=xavier_init)


_PAPER = "Zhang, Goodfellow, Metaxas, Odena. Self-Attention Generative Adversarial Networks. ICML 2019."
register("sagan", family="sagan", config_cls=SAGANConfig, generator=SAGANGenerator,
         discriminator=SAGANDiscriminator,
         tiny=dict(z_dim=16, c_dim=3, img_resolution=32, g_ch=2, d_ch=2, attn_res=16),
         paper=_PAPER, description="Self-attention GAN: class-conditional ResNet GAN with self-attention "
                                   "and spectral norm in G and D.")
