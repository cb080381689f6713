"""Exponential moving average of the generator's weights (Karras et al. 2018; Yazici et al. 2019).

Sampling from the averaged weights gives smoother, usually better images than the raw G.
"""
from __future__ import annotations

import copy

import torch
from torch import nn


def make_ema(G: nn.Module) -> nn.Module:
    """A frozen copy of G to hold the averaged weights."""
    G_ema = copy.deepcopy(G).eval()
    G_ema.requires_grad_(False)
    return G_ema


@torch.no_grad()
def update_ema(G_ema: nn.Module, G: nn.Module, beta: float) -> None:
    """ema <- beta * ema + (1 - beta) * param for every parameter; buffers (BatchNorm statistics,
    StyleGAN's w_avg, spectral-norm vectors) are copied, since averaging them means nothing."""
    ema_p = list(G_ema.parameters())
    raw_p = [p.detach() for p in G.parameters()]
    if len(ema_p) != len(raw_p):
        raise ValueError("G_ema and G have different parameter lists")
    if ema_p:
        torch._foreach_mul_(ema_p, beta)
        torch._foreach_add_(ema_p, torch._foreach_mul(raw_p, 1.0 - beta))
    for b_ema, b in zip(G_ema.buffers(), G.buffers()):
        b_ema.copy_(b)
