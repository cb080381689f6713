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


def _perpendicular(u: torch.Tensor) -> torch.Tensor:
    """A unit vector orthogonal to each unit vector u [..., D]: the basis axis u leans on least, minus its
    u part.  Deterministic, so an interpolation between z and -z is the same path every time."""
    axis = torch.nn.functional.one_hot(u.abs().argmin(-1), u.shape[-1]).to(u.dtype)
    p = axis - (axis * u).sum(-1, keepdim=True) * u
    return p / p.norm(dim=-1, keepdim=True).clamp_min(1e-30)


def slerp(a: torch.Tensor, b: torch.Tensor, t: Scalar, eps: float = 1e-7) -> torch.Tensor:
    """Spherical interpolation per last-dim vector (Shoemake 1985).

    Computed in float64: near-opposite vectors divide by a small sin(omega).  Parallel vectors get
    lerp; opposite ones (z and -z: every great circle joins them) turn through a fixed perpendicular
    direction while the norm goes linearly from |a| to |b|, rather than lerp's path through 0.
    """
    _check(a, b)
    dtype = a.dtype
    work = torch.float32 if a.device.type == "mps" else torch.float64  # MPS has no float64
    a64, b64 = a.to(work), b.to(dtype).to(work)
    w = _weight(t, a64)
    na, nb = a64.norm(dim=-1, keepdim=True), b64.norm(dim=-1, keepdim=True)
    an, bn = a64 / na.clamp_min(1e-30), b64 / nb.clamp_min(1e-30)
    cos = (an * bn).sum(-1, keepdim=True).clamp(-1.0, 1.0)
    omega = torch.arccos(cos)
    sin = torch.sin(omega)
    degenerate = sin.abs() < eps
    safe_sin = torch.where(degenerate, torch.ones_like(sin), sin)
    out = (torch.sin((1 - w) * omega) / safe_sin) * a64 + (torch.sin(w * omega) / safe_sin) * b64
    if bool(degenerate.any()):
        opposite = (torch.cos(w * torch.pi) * an + torch.sin(w * torch.pi) * _perpendicular(an)) * torch.lerp(na, nb, w)
        out = torch.where(degenerate, torch.where(cos < 0, opposite, torch.lerp(a64, b64, w)), out)
    out = out.to(dtype)
    # Rounding in sin() would move the endpoints by an ulp; pin them.
    out = torch.where(w == 0, a, out)
    return torch.where(w == 1, b.to(dtype), out)


def norm_blend(zs: torch.Tensor, weights) -> torch.Tensor:
    """Weighted blend of latents [K, D] that keeps their norm: the direction of the linear blend, scaled to
    the weighted mean of the latents' norms.

    A plain weighted sum shrinks towards 0 between independent latents (the centre of four 100-d
    Gaussian seeds has |z| ~ 4.8 against ~ 9.9 at the corners) and renders washed-out images; slerp
    avoids that between two latents, this does it for any number.  A weight of 1 gives that latent
    bitwise; weights that cancel the latents out (z and -z at 0.5 each) keep the linear blend.
    """
    zs = torch.as_tensor(zs)
    if zs.ndim != 2:
        raise ValueError(f"norm_blend needs latents [K, D], got shape {list(zs.shape)}")
    w = torch.as_tensor(weights, dtype=torch.float64).flatten()
    if w.shape[0] != zs.shape[0] or not bool(torch.isfinite(w).all()):
        raise ValueError(f"norm_blend needs {zs.shape[0]} finite weights, got {weights!r}")
    for k in range(w.shape[0]):
        if float(w[k]) == 1.0 and float(w.abs().sum()) == 1.0:
            return zs[k].clone()
    z64 = zs.to(torch.float64)
    linear = (w[:, None] * z64).sum(0)
    target = (w * z64.norm(dim=-1)).sum()
    norm = linear.norm()
    if float(norm) < 1e-12 * max(float(target), 1e-30):
        return linear.to(zs.dtype)
    return (linear * (target / norm)).to(zs.dtype)
