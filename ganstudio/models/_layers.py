"""Blocks shared by several families.  Family-specific layers stay in their family file."""
from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


def maybe_sn(module: nn.Module, use_sn: bool) -> nn.Module:
    """Spectral normalization (Miyato et al. 2018) when asked for."""
    return spectral_norm(module) if use_sn else module


class PixelNorm(nn.Module):
    """Normalize each feature vector to unit average square (Karras et al. 2018, sec. 4.2)."""

    def __init__(self, eps: float = 1e-8):
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + self.eps)


class EqualizedLinear(nn.Module):
    """Linear layer with weights ~N(0,1) scaled at run time by He's constant (equalized learning rate)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, bias_init: float = 0.0,
                 lr_multiplier: float = 1.0, gain: float = 1.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_multiplier)
        self.bias = nn.Parameter(torch.full([out_features], float(bias_init))) if bias else None
        self.weight_gain = gain * lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = None if self.bias is None else self.bias * self.bias_gain
        return F.linear(x, self.weight * self.weight_gain, b)


class EqualizedConv2d(nn.Module):
    """Conv layer with the equalized learning rate."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, padding: int = 0,
                 bias: bool = True, gain: float = 1.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.weight_gain = gain / math.sqrt(in_channels * kernel_size * kernel_size)
        self.padding = padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.weight_gain, self.bias, padding=self.padding)


class MinibatchStddev(nn.Module):
    """Append the average feature stddev over groups of the batch as one extra channel (Karras et al. 2018)."""

    def __init__(self, group_size: int = 4):
        super().__init__()
        self.group_size = group_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        g = min(self.group_size, n)
        while n % g:  # the largest group that splits the batch evenly; g = 1 would make the feature a constant
            g -= 1
        y = x.reshape(g, -1, c, h, w)
        y = (y.var(dim=0, unbiased=False) + 1e-8).sqrt().mean(dim=[1, 2, 3])  # [N/g]
        y = y.reshape(-1, 1, 1, 1).repeat(g, 1, h, w)
        return torch.cat([x, y], dim=1)


class SelfAttention(nn.Module):
    """Self-attention block of SAGAN (Zhang et al. 2019); gamma starts at 0 so it fades in.

    The last attention map [N, HW, HW/4] is kept in ``self.last_attention`` for display.
    """

    def __init__(self, channels: int, use_sn: bool = True):
        super().__init__()
        self.theta = maybe_sn(nn.Conv2d(channels, channels // 8, 1, bias=False), use_sn)
        self.phi = maybe_sn(nn.Conv2d(channels, channels // 8, 1, bias=False), use_sn)
        self.g = maybe_sn(nn.Conv2d(channels, channels // 2, 1, bias=False), use_sn)
        self.o = maybe_sn(nn.Conv2d(channels // 2, channels, 1, bias=False), use_sn)
        self.gamma = nn.Parameter(torch.zeros(()))
        self.last_attention: Optional[torch.Tensor] = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        theta = self.theta(x).flatten(2)  # [N, C/8, HW]
        phi = F.max_pool2d(self.phi(x), 2).flatten(2)  # [N, C/8, HW/4]
        g = F.max_pool2d(self.g(x), 2).flatten(2)  # [N, C/2, HW/4]
        beta = torch.softmax(theta.transpose(1, 2) @ phi, dim=-1)  # [N, HW, HW/4]
        self.last_attention = beta.detach()
        o = self.o((g @ beta.transpose(1, 2)).reshape(n, c // 2, h, w))
        return x + self.gamma * o


class ConditionalBatchNorm2d(nn.Module):
    """BatchNorm whose gain and bias are linear functions of a conditioning vector (de Vries, Dumoulin 2017).

    ``cond`` may be class weights (a blend of one-hots) or a class embedding joined with z (BigGAN);
    either way the map is linear, so blending classes blends their gains and biases.
    """

    def __init__(self, num_features: int, cond_dim: int, use_sn: bool = False, eps: float = 1e-5,
                 momentum: float = 0.1):
        super().__init__()
        self.bn = nn.BatchNorm2d(num_features, affine=False, eps=eps, momentum=momentum)
        self.gain = maybe_sn(nn.Linear(cond_dim, num_features, bias=False), use_sn)
        self.bias = maybe_sn(nn.Linear(cond_dim, num_features, bias=False), use_sn)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        gain = 1 + self.gain(cond)[:, :, None, None]
        bias = self.bias(cond)[:, :, None, None]
        return self.bn(x) * gain + bias


def layer_resolutions(img_resolution: int, start: int = 4) -> list[int]:
    """[4, 8, ..., img_resolution]: the resolutions a doubling network passes through."""
    n = int(math.log2(img_resolution)) - int(math.log2(start))
    if 2 ** int(math.log2(img_resolution)) != img_resolution or n < 0:
        raise ValueError(f"resolution must be a power of two >= {start}, got {img_resolution}")
    return [start * 2 ** i for i in range(n + 1)]
