"""SN-GAN ResNet with a conditional-BN generator and a projection discriminator.

G (Miyato & Koyama 2018, CIFAR-10): z -> linear 4x4 map -> ResNet blocks (conditional BN,
ReLU, nearest 2x upsampling, 3x3 convs) -> BN, ReLU, 3x3 conv, tanh.  The conditional BN
(de Vries et al. 2017; Dumoulin et al. 2017) takes its gain and bias linearly from c.
D (Miyato et al. 2018): ResNet blocks with spectral norm on every weight, average-pool
downsampling, ReLU, global sum pooling, and the projection output
``linear(h) + sum((c @ V) * h)`` (Miyato & Koyama 2018, eq. 3), linear in c.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ganstudio.models._base import Capabilities, Discriminator, Generator, check_shape
from ganstudio.models._layers import ConditionalBatchNorm2d, maybe_sn
from ganstudio.models._registry import register


@dataclass
class SNGANProjectionConfig:
    z_dim: int = 128  # noise dims
    c_dim: int = 10  # classes
    img_resolution: int = 32  # power of two >= 8
    img_channels: int = 3
    g_ch: int = 256  # G width of every ResNet block (CIFAR: 256)
    d_ch: int = 128  # D width of every ResNet block (CIFAR: 128)
    d_extra_blocks: int = 2  # D blocks without downsampling after the last downsampling one (CIFAR: 2)
    use_sn: bool = True  # spectral norm on every D weight (the point of SN-GAN; off only for ablations)


def _check_cfg(cfg: SNGANProjectionConfig) -> int:
    res = cfg.img_resolution
    if res < 8 or 2 ** int(math.log2(res)) != res:
        raise ValueError(f"SN-GAN resolution must be a power of two >= 8, got {res}")
    if cfg.img_channels not in (1, 3) or cfg.c_dim < 1:
        raise ValueError(f"SN-GAN projection needs img_channels 1 or 3 and c_dim >= 1, "
                         f"got {cfg.img_channels} and {cfg.c_dim}")
    return int(math.log2(res))


def _init(module: nn.Module, gain: float) -> nn.Module:
    # Glorot-uniform init of the reference code: gain sqrt(2) inside residual branches, 1 elsewhere.
    nn.init.xavier_uniform_(module.weight, gain)
    if getattr(module, "bias", None) is not None:
        nn.init.zeros_(module.bias)
    return module


class GBlock(nn.Module):
    """Pre-activation up block: CBN, ReLU, upsample, conv3x3, CBN, ReLU, conv3x3; 1x1 shortcut."""

    def __init__(self, ch_in: int, ch_out: int, c_dim: int):
        super().__init__()
        self.bn1 = ConditionalBatchNorm2d(ch_in, c_dim)
        self.conv1 = _init(nn.Conv2d(ch_in, ch_out, 3, 1, 1), math.sqrt(2))
        self.bn2 = ConditionalBatchNorm2d(ch_out, c_dim)
        self.conv2 = _init(nn.Conv2d(ch_out, ch_out, 3, 1, 1), math.sqrt(2))
        self.shortcut = _init(nn.Conv2d(ch_in, ch_out, 1), 1.0)
        for bn in (self.bn1, self.bn2):  # per-class gain 1 and bias 0 at start, as in the reference code
            nn.init.zeros_(bn.gain.weight)
            nn.init.zeros_(bn.bias.weight)

    def forward(self, x, c):
        h = F.interpolate(F.relu(self.bn1(x, c)), scale_factor=2, mode="nearest")
        h = self.conv2(F.relu(self.bn2(self.conv1(h), c)))
        return h + self.shortcut(F.interpolate(x, scale_factor=2, mode="nearest"))


class SNGANGenerator(Generator):
    latent_layer = "fc"
    cpu_channels_last = True  # see Generator.cpu_channels_last

    def __init__(self, cfg: SNGANProjectionConfig):
        super().__init__()
        n_up = _check_cfg(cfg) - 2
        self.z_dim = self.w_dim = cfg.z_dim
        self.num_ws, self.c_dim = 1, cfg.c_dim
        self.img_resolution, self.img_channels = cfg.img_resolution, cfg.img_channels
        self.g_ch = cfg.g_ch
        self.fc = _init(nn.Linear(cfg.z_dim, 16 * cfg.g_ch), 1.0)
        self.blocks = nn.ModuleList([GBlock(cfg.g_ch, cfg.g_ch, cfg.c_dim) for _ in range(n_up)])
        self.bn = nn.BatchNorm2d(cfg.g_ch)  # the last BN is unconditional in the reference code
        self.to_rgb = _init(nn.Conv2d(cfg.g_ch, cfg.img_channels, 3, 1, 1), 1.0)

    def capabilities(self) -> Capabilities:
        return Capabilities(classes=True, class_space="embedding")

    def synthesis(self, ws, c=None, **_):
        check_shape(ws, [None, 1, self.z_dim], "ws")
        z = ws[:, 0]
        c = self.check_c(c, z.shape[0]).to(z.dtype)
        h = self.fc(z).view(-1, self.g_ch, 4, 4)
        for block in self.blocks:
            h = block(h, c)
        return torch.tanh(self.to_rgb(F.relu(self.bn(h))))


class DBlock(nn.Module):
    """Pre-activation down block: ReLU, conv3x3, ReLU, conv3x3, avg-pool; 1x1 shortcut when needed.

    The first block ("optimized") skips the leading ReLU, which would clip the raw image,
    and pools before its shortcut conv.
    """

    def __init__(self, ch_in: int, ch_out: int, downsample: bool, first: bool, use_sn: bool):
        super().__init__()
        self.downsample, self.first = downsample, first
        self.conv1 = maybe_sn(_init(nn.Conv2d(ch_in, ch_out, 3, 1, 1), math.sqrt(2)), use_sn)
        self.conv2 = maybe_sn(_init(nn.Conv2d(ch_out, ch_out, 3, 1, 1), math.sqrt(2)), use_sn)
        learnable = ch_in != ch_out or downsample
        self.shortcut = maybe_sn(_init(nn.Conv2d(ch_in, ch_out, 1), 1.0), use_sn) if learnable else None

    def forward(self, x):
        h = x if self.first else F.relu(x)
        h = self.conv2(F.relu(self.conv1(h)))
        if self.downsample:
            h = F.avg_pool2d(h, 2)
        s = x
        if self.first:
            s = self.shortcut(F.avg_pool2d(s, 2) if self.downsample else s)
        elif self.shortcut is not None:
            s = self.shortcut(s)
            if self.downsample:
                s = F.avg_pool2d(s, 2)
        return h + s


class ProjectionDiscriminator(Discriminator):
    def __init__(self, cfg: SNGANProjectionConfig):
        super().__init__()
        # Downsample to 8x8 at 32 px as in the paper's CIFAR model, at least once.
        n_down = max(1, _check_cfg(cfg) - 3)
        self.c_dim = cfg.c_dim
        self.img_resolution, self.img_channels = cfg.img_resolution, cfg.img_channels
        blocks = [DBlock(cfg.img_channels, cfg.d_ch, True, True, cfg.use_sn)]
        blocks += [DBlock(cfg.d_ch, cfg.d_ch, True, False, cfg.use_sn) for _ in range(n_down - 1)]
        blocks += [DBlock(cfg.d_ch, cfg.d_ch, False, False, cfg.use_sn) for _ in range(cfg.d_extra_blocks)]
        self.blocks = nn.Sequential(*blocks)
        self.linear = maybe_sn(_init(nn.Linear(cfg.d_ch, 1), 1.0), cfg.use_sn)
        self.embed = maybe_sn(_init(nn.Linear(cfg.c_dim, cfg.d_ch, bias=False), 1.0), cfg.use_sn)  # V

    def forward(self, img, c=None):
        check_shape(img, [None, self.img_channels, self.img_resolution, self.img_resolution], "img")
        if c is None:
            raise ValueError(f"the projection discriminator is class-conditional: pass c of shape [N, {self.c_dim}]")
        check_shape(c, [img.shape[0], self.c_dim], "c")
        h = F.relu(self.blocks(img)).sum(dim=(2, 3))  # global sum pooling
        return self.linear(h).flatten() + (self.embed(c.to(h.dtype)) * h).sum(dim=1)


register("sngan-projection", family="sngan", config_cls=SNGANProjectionConfig, generator=SNGANGenerator,
         discriminator=ProjectionDiscriminator,
         tiny=dict(z_dim=8, c_dim=4, img_resolution=16, g_ch=8, d_ch=8, d_extra_blocks=1),
         paper="Miyato, Koyama. cGANs with Projection Discriminator. ICLR 2018; Miyato et al. Spectral "
               "Normalization for GANs. ICLR 2018; de Vries et al. 2017 / Dumoulin et al. 2017 (conditional BN).",
         description="SN-GAN ResNet: conditional-BN generator and a spectrally normalized projection discriminator.")
