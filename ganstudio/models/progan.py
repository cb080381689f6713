"""Progressive GAN (Karras, Aila, Laine, Lehtinen 2018).

Both networks are built at full ``img_resolution`` but run at a current ``stage``
(0 = 4 px, 1 = 8 px, ..., ``num_stages - 1`` = full size).  While a new stage fades in,
``alpha`` goes from 0 to 1: G blends the new stage's toRGB with the previous stage's
toRGB, nearest-upsampled, weighted ``1 - alpha``; D blends the new fromRGB path with the
previous one on an avg-pooled input.  ``stage`` and ``alpha`` are buffers, so checkpoints
keep them.  G always returns ``img_resolution`` images (the stage output nearest-upsampled)
so the generator interface holds at every stage; ``synthesis_at`` gives the native size.

Layers: pixel norm after every G conv, equalized learning rate everywhere (He gain
sqrt(2) on every layer, as in facebookresearch/pytorch_GAN_zoo), LeakyReLU(0.2), minibatch
stddev before D's last conv.

Layout, and how a pytorch_GAN_zoo PGAN checkpoint maps onto it (``s`` = scale index,
0 = 4 px; ``i`` = the zoo's ``scaleLayers`` index, i.e. ``s = i + 1``)::

    ours (G)                      GAN zoo GNet
    blocks.0.fc.{weight,bias}     formatLayer.{weight,bias}      z -> 4*4*ch[0], reshaped [N, ch[0], 4, 4]
    blocks.0.conv1.*              groupScale0.0.*                3x3 at 4 px
    blocks.s.conv0.*              scaleLayers.i.0.*              3x3 after the 2x upsampling
    blocks.s.conv1.*              scaleLayers.i.1.*              3x3
    to_rgb.s.*                    toRGBLayers.s.*                1x1
    stage, alpha (buffers)        (none: set stage = num_stages - 1, alpha = 1)

    ours (D)                      GAN zoo DNet
    from_rgb.s.*                  fromRGBLayers.s.*              1x1
    blocks.s.conv0.*              scaleLayers.i.0.*              3x3, ch[s] -> ch[s]
    blocks.s.conv1.*              scaleLayers.i.1.*              3x3, ch[s] -> ch[s-1], then 2x avg pool
    blocks.0.conv1.*              groupScaleZero.0.*             3x3 at 4 px, input has the stddev channel
    blocks.0.fc.*                 groupScaleZero.1.*             4*4*ch[0] -> ch[0]
    out.*                         decisionLayer.*                ch[0] -> 1

Conversion notes for the importer: weights copy unchanged (both store N(0, 1) weights
scaled at run time by sqrt(2 / fan_in)); the zoo scales the *bias* by that constant too, so
``bias_ours = bias_zoo * sqrt(2 / fan_in)`` with fan_in = in_channels * k * k (or
in_features).  The zoo's alpha runs the other way (``alpha_ours = 1 - alpha_zoo``).  Zoo
PGANs have a linear output: import them with ``tanh_output=False`` (clamp to [-1, 1]) and
``channels`` set to the zoo's ``depthScales``.  The zoo's minibatch stddev uses the unbiased
variance and a different group order, so imported D scores differ slightly from the zoo's.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from ganstudio.models._base import Capabilities, Discriminator, Generator, check_shape
from ganstudio.models._layers import EqualizedConv2d, EqualizedLinear, MinibatchStddev, PixelNorm, layer_resolutions
from ganstudio.models._registry import register

_GAIN = math.sqrt(2.0)  # He's constant for LeakyReLU-ish layers; the GAN zoo uses it on every layer


@dataclass
class ProGANConfig:
    z_dim: int = 512  # latent dims (512 in the paper)
    img_resolution: int = 32  # power of two >= 4; the last stage renders at this size
    img_channels: int = 3  # 1 for Fashion-MNIST / MNIST
    channel_base: int = 16384  # width at resolution r is min(channel_base // r, channel_max) ...
    channel_max: int = 512  # ... giving the paper's 512 up to 32 px, then halving per doubling
    channels: tuple = ()  # explicit widths per scale from 4 px up (overrides the two above; e.g. a zoo depthScales)
    normalize_z: bool = True  # pixel-norm z before the first layer (paper, sec. 4.2)
    mbstd_group_size: int = 4  # minibatch stddev group size in D (0 = off)
    tanh_output: bool = True  # False: clamp to [-1, 1] instead (weights trained with a linear output)


def _channels(cfg: ProGANConfig) -> list[int]:
    res = layer_resolutions(cfg.img_resolution)
    if cfg.channels:
        if len(cfg.channels) != len(res):
            raise ValueError(f"channels needs one width per scale ({len(res)} for {cfg.img_resolution} px), "
                             f"got {len(cfg.channels)}")
        chans = [int(c) for c in cfg.channels]
    else:
        chans = [min(cfg.channel_base // r, cfg.channel_max) for r in res]
    if min(chans) < 1:
        raise ValueError(f"every channel width must be >= 1, got {chans}")
    return chans


def _lrelu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.2)


def _check_stage(stage, alpha, num_stages: int) -> tuple[int, float]:
    if isinstance(stage, bool) or not isinstance(stage, int) or not 0 <= stage < num_stages:
        raise ValueError(f"stage must be an integer in [0, {num_stages - 1}], got {stage!r}")
    try:
        alpha = float(alpha)
    except (TypeError, ValueError):
        raise ValueError(f"alpha must be a number in [0, 1], got {alpha!r}") from None
    if not 0.0 <= alpha <= 1.0:  # also rejects NaN
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    return stage, alpha


class _StagedMixin:
    """``stage`` / ``alpha`` buffers shared by G and D."""

    num_stages: int

    def _init_stage_buffers(self) -> None:
        # Buffers, not attributes: a checkpoint written mid-growth reloads at the same stage.
        self.register_buffer("stage", torch.tensor(self.num_stages - 1, dtype=torch.int64))
        self.register_buffer("alpha", torch.tensor(1.0))

    def set_stage(self, stage: int, alpha: float = 1.0) -> None:
        """Run at ``stage`` (0 = 4 px); ``alpha`` < 1 fades the stage in over the previous one (ignored at stage 0)."""
        stage, alpha = _check_stage(stage, alpha, self.num_stages)
        self.stage.fill_(stage)
        self.alpha.fill_(alpha)

    def current_stage(self) -> tuple[int, float]:
        return int(self.stage.item()), float(self.alpha.item())

    def stage_resolution(self, stage: Optional[int] = None) -> int:
        return 4 * 2 ** (self.current_stage()[0] if stage is None else stage)


class _GBlock(nn.Module):
    """Block ``s`` of G: 2x nearest upsampling and two 3x3 convs (block 0: dense layer and one 3x3 conv)."""

    def __init__(self, first: bool, ch_in: int, ch_out: int):
        super().__init__()
        self.first = first
        self.norm = PixelNorm()
        if first:
            self.fc = EqualizedLinear(ch_in, 16 * ch_out, gain=_GAIN)
        else:
            self.conv0 = EqualizedConv2d(ch_in, ch_out, 3, padding=1, gain=_GAIN)
        self.conv1 = EqualizedConv2d(ch_out, ch_out, 3, padding=1, gain=_GAIN)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.first:
            x = self.norm(_lrelu(self.fc(x)).reshape(x.shape[0], -1, 4, 4))
        else:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
            x = self.norm(_lrelu(self.conv0(x)))
        return self.norm(_lrelu(self.conv1(x)))


class ProGANGenerator(_StagedMixin, Generator):
    latent_layer = "blocks.0.fc"
    cpu_channels_last = True  # see Generator.cpu_channels_last

    def __init__(self, cfg: ProGANConfig):
        super().__init__()
        self.z_dim = self.w_dim = cfg.z_dim
        self.num_ws, self.c_dim = 1, 0
        self.img_resolution, self.img_channels = cfg.img_resolution, cfg.img_channels
        self.channels = _channels(cfg)
        self.num_stages = len(self.channels)
        self.normalize_z, self.tanh_output = cfg.normalize_z, cfg.tanh_output
        self.z_norm = PixelNorm()
        ins = [cfg.z_dim] + self.channels[:-1]
        self.blocks = nn.ModuleList([_GBlock(s == 0, ins[s], ch) for s, ch in enumerate(self.channels)])
        self.to_rgb = nn.ModuleList([EqualizedConv2d(ch, cfg.img_channels, 1, gain=_GAIN) for ch in self.channels])
        self._init_stage_buffers()

    def capabilities(self) -> Capabilities:
        return Capabilities(progressive=True)

    def _output(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x) if self.tanh_output else x.clamp(-1, 1)

    def synthesis_at(self, ws: torch.Tensor, stage: int, alpha: float = 1.0) -> torch.Tensor:
        """Render at ``stage``'s native resolution (4 * 2**stage px), fading in with ``alpha``."""
        check_shape(ws, [None, 1, self.z_dim], "ws")
        stage, alpha = _check_stage(stage, alpha, self.num_stages)
        x = ws[:, 0]
        if self.normalize_z:
            x = self.z_norm(x)
        for s in range(stage):
            x = self.blocks[s](x)
        prev = x
        x = self.to_rgb[stage](self.blocks[stage](x))
        if stage > 0 and alpha < 1.0:
            # The previous stage's image, upsampled, fades out as the new stage's image fades in.
            old = F.interpolate(self.to_rgb[stage - 1](prev), scale_factor=2, mode="nearest")
            x = torch.lerp(old, x, alpha)
        return self._output(x)

    def synthesis(self, ws, c=None, **_):
        stage, alpha = self.current_stage()
        img = self.synthesis_at(ws, stage, alpha)
        if img.shape[-1] != self.img_resolution:
            img = F.interpolate(img, size=(self.img_resolution, self.img_resolution), mode="nearest")
        return img


class _DBlock(nn.Module):
    """Block ``s`` of D: two 3x3 convs and 2x avg pooling (block 0: stddev, 3x3 conv, dense layer)."""

    def __init__(self, first: bool, ch: int, ch_out: int, mbstd_group_size: int = 0):
        super().__init__()
        self.first = first
        if first:
            self.mbstd = MinibatchStddev(mbstd_group_size) if mbstd_group_size else None
            self.conv1 = EqualizedConv2d(ch + (1 if mbstd_group_size else 0), ch, 3, padding=1, gain=_GAIN)
            self.fc = EqualizedLinear(16 * ch, ch_out, gain=_GAIN)
        else:
            self.conv0 = EqualizedConv2d(ch, ch, 3, padding=1, gain=_GAIN)
            self.conv1 = EqualizedConv2d(ch, ch_out, 3, padding=1, gain=_GAIN)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.first:
            if self.mbstd is not None:
                x = self.mbstd(x)
            return _lrelu(self.fc(_lrelu(self.conv1(x)).flatten(1)))
        x = _lrelu(self.conv1(_lrelu(self.conv0(x))))
        return F.avg_pool2d(x, 2)


class ProGANDiscriminator(_StagedMixin, Discriminator):
    def __init__(self, cfg: ProGANConfig):
        super().__init__()
        self.img_resolution, self.img_channels = cfg.img_resolution, cfg.img_channels
        self.channels = _channels(cfg)
        self.num_stages = len(self.channels)
        self.from_rgb = nn.ModuleList([EqualizedConv2d(cfg.img_channels, ch, 1, gain=_GAIN) for ch in self.channels])
        self.blocks = nn.ModuleList([
            _DBlock(True, self.channels[0], self.channels[0], cfg.mbstd_group_size) if s == 0
            else _DBlock(False, ch, self.channels[s - 1]) for s, ch in enumerate(self.channels)])
        self.out = EqualizedLinear(self.channels[0], 1, gain=_GAIN)
        self._init_stage_buffers()

    def forward(self, img, c=None):
        """Scores [N] of images at ``img_resolution`` or at the current stage's resolution."""
        stage, alpha = self.current_stage()
        res = self.stage_resolution(stage)
        if img.ndim != 4 or img.shape[1] != self.img_channels or img.shape[2] != img.shape[3] \
                or img.shape[-1] not in (res, self.img_resolution):
            raise ValueError(f"img must have shape [N, {self.img_channels}, R, R] with R = {self.img_resolution} "
                             f"or {res} (stage {stage}), got {list(img.shape)}")
        if img.shape[-1] != res:
            img = F.avg_pool2d(img, img.shape[-1] // res)
        x = _lrelu(self.from_rgb[stage](img))
        for s in range(stage, -1, -1):
            x = self.blocks[s](x)
            if s == stage and stage > 0 and alpha < 1.0:
                old = _lrelu(self.from_rgb[stage - 1](F.avg_pool2d(img, 2)))
                x = torch.lerp(old, x, alpha)
        return self.out(x).flatten()


_PAPER = ("Karras, Aila, Laine, Lehtinen. Progressive Growing of GANs for Improved Quality, Stability, "
          "and Variation. ICLR 2018.")
register("progan", family="progan", config_cls=ProGANConfig, generator=ProGANGenerator,
         discriminator=ProGANDiscriminator,
         tiny=dict(z_dim=16, img_resolution=16, channel_base=128, channel_max=16),
         paper=_PAPER, description="Progressive GAN: grows from 4 px by fading in new layers; pixel norm, "
                                   "equalized learning rate, minibatch stddev.")
