"""The truncation trick: BigGAN's resampled z (Brock et al. 2019) and StyleGAN's psi toward w_avg (Karras et al. 2019)."""
from __future__ import annotations

import math
from typing import Optional, Sequence, Union

import torch

from ganstudio.latent.sampling import _check_seed

_MAX_ROUNDS = 10_000  # resampling rounds before giving up on a threshold too small to reach


def _cpu_generator(seed_or_generator: Union[int, torch.Generator]) -> torch.Generator:
    if isinstance(seed_or_generator, torch.Generator):
        return seed_or_generator
    return torch.Generator("cpu").manual_seed(_check_seed(seed_or_generator))


def truncate_z(z: torch.Tensor, threshold: float, seed_or_generator: Union[int, torch.Generator]) -> torch.Tensor:
    """Resample every entry of z with |z_i| > threshold from N(0, 1) until it falls within (BigGAN)."""
    threshold = float(threshold)
    if not math.isfinite(threshold) or threshold <= 0:
        raise ValueError(f"truncation threshold must be a positive number, got {threshold}")
    gen = _cpu_generator(seed_or_generator)
    # Resample on the CPU with a CPU generator so the result is the same on every device.
    out = z.detach().to("cpu", torch.float32).clone()
    out = torch.nan_to_num(out, nan=math.inf)  # a NaN is outside every threshold
    for _ in range(_MAX_ROUNDS):
        bad = out.abs() > threshold
        n = int(bad.sum())
        if n == 0:
            return out.to(device=z.device, dtype=z.dtype)
        out[bad] = torch.randn(n, generator=gen)
    raise ValueError(f"truncation threshold {threshold} is too small: values kept falling outside it")


def truncated_z(seeds: Union[int, Sequence[int]], z_dim: int, threshold: float,
                device: Union[str, torch.device] = "cpu") -> torch.Tensor:
    """Seeded BigGAN-truncated z [N, z_dim]: row i depends only on seeds[i]."""
    if isinstance(seeds, int):
        seeds = [seeds]
    if isinstance(z_dim, bool) or not isinstance(z_dim, int) or z_dim <= 0:
        raise ValueError(f"z_dim must be a positive integer, got {z_dim!r}")
    out = torch.empty(len(seeds), z_dim, dtype=torch.float32)
    for i, s in enumerate(seeds):
        # The same generator draws z and its replacements, so the first draw equals seeded_z(s).
        gen = torch.Generator("cpu").manual_seed(_check_seed(s))
        out[i] = truncate_z(torch.randn(z_dim, generator=gen), threshold, gen)
    return out.to(device)


SCALED_BOUND = 2.0  # BigGAN-deep's release samples a normal truncated to [-2, 2] ...


def scaled_truncated_z(seeds: Union[int, Sequence[int]], z_dim: int, truncation: float,
                       device: Union[str, torch.device] = "cpu") -> torch.Tensor:
    """... and multiplies it by the truncation t (which also picks its BatchNorm statistics): z [N, z_dim]."""
    t = float(truncation)
    if not math.isfinite(t) or t <= 0:
        raise ValueError(f"truncation must be a positive number, got {truncation}")
    return truncated_z(seeds, z_dim, SCALED_BOUND, device) * t


def truncate_w(ws: torch.Tensor, w_avg: torch.Tensor, psi: float, cutoff: Optional[int] = None) -> torch.Tensor:
    """w_avg + psi * (ws - w_avg) on layers [0, cutoff) (all layers when cutoff is None); ws [N, L, w_dim]."""
    if ws.ndim != 3:
        raise ValueError(f"ws must have shape [N, L, w_dim], got {list(ws.shape)}")
    if w_avg.shape[-1:] != ws.shape[-1:] or w_avg.ndim != 1:
        raise ValueError(f"w_avg must have shape [{ws.shape[-1]}], got {list(w_avg.shape)}")
    psi = float(psi)
    if not math.isfinite(psi):
        raise ValueError(f"truncation psi must be finite, got {psi}")
    if cutoff is None:
        cutoff = ws.shape[1]
    if isinstance(cutoff, bool) or not isinstance(cutoff, int) or cutoff < 0:
        raise ValueError(f"truncation cutoff must be a non-negative integer, got {cutoff!r}")
    out = ws.clone()
    w_avg = w_avg.to(device=ws.device, dtype=ws.dtype)
    # torch.lerp returns its endpoints exactly at weights 0 and 1, so psi=1 is the identity.
    out[:, :cutoff] = torch.lerp(w_avg.expand_as(ws[:, :cutoff]), ws[:, :cutoff], psi)
    return out
