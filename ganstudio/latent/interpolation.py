"""Linear and spherical interpolation of latents, exact at both endpoints."""
from __future__ import annotations

from typing import Union

import torch

Scalar = Union[float, int, torch.Tensor]


def _weight(t: Scalar, a: torch.Tensor) -> torch.Tensor:
    # A tensor t with fewer dims than a gives one weight per last-dim vector.
    t = torch.as_tensor(t, dtype=a.dtype, device=a.device)
    if t.ndim < a.ndim:
        t = t.unsqueeze(-1)
    return t


def _check(a: torch.Tensor, b: torch.Tensor) -> None:
    if a.shape != b.shape:
        raise ValueError(f"cannot interpolate tensors of different shapes {list(a.shape)} and {list(b.shape)}")
    if not a.is_floating_point():
        raise ValueError(f"interpolation needs floating-point tensors, got {a.dtype}")


def lerp(a: torch.Tensor, b: torch.Tensor, t: Scalar) -> torch.Tensor:
    """a + t * (b - a); t=0 gives a and t=1 gives b bitwise."""
    _check(a, b)
    b = b.to(a.dtype)
    # torch.lerp switches formula at t=0.5 so that both endpoints come back exactly.
    return torch.lerp(a, b, _weight(t, a))


def slerp(a: torch.Tensor, b: torch.Tensor, t: Scalar, eps: float = 1e-7) -> torch.Tensor:
    """Spherical interpolation per last-dim vector (Shoemake 1985); lerp for (nearly) parallel vectors."""
    _check(a, b)
    b = b.to(a.dtype)
    w = _weight(t, a)
    an = a / a.norm(dim=-1, keepdim=True).clamp_min(1e-30)
    bn = b / b.norm(dim=-1, keepdim=True).clamp_min(1e-30)
    cos = (an * bn).sum(-1, keepdim=True).clamp(-1.0, 1.0)
    omega = torch.arccos(cos)
    sin = torch.sin(omega)
    parallel = sin.abs() < eps
    safe_sin = torch.where(parallel, torch.ones_like(sin), sin)
    out = (torch.sin((1 - w) * omega) / safe_sin) * a + (torch.sin(w * omega) / safe_sin) * b
    out = torch.where(parallel, torch.lerp(a, b, w), out)
    # Rounding in sin() would move the endpoints by an ulp; pin them.
    out = torch.where(w == 0, a, out)
    return torch.where(w == 1, b, out)
