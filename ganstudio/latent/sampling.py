"""Seeded latents: one CPU generator per seed, so a seed names the same z on every device and batch."""
from __future__ import annotations

import re
from typing import Sequence, Union

import torch

MAX_SEED = 2**32 - 1  # the range StyleGAN's tools and 32-bit spin boxes share
MAX_SEEDS = 1_000_000  # guards against "0-999999999" allocating gigabytes


def seeded_z(seeds: Union[int, Sequence[int]], z_dim: int, device: Union[str, torch.device] = "cpu") -> torch.Tensor:
    """Standard normal z [N, z_dim] float32, row i drawn from torch.Generator("cpu").manual_seed(seeds[i])."""
    if isinstance(seeds, int):
        seeds = [seeds]
    seeds = [_check_seed(s) for s in seeds]
    if not isinstance(z_dim, int) or z_dim <= 0:
        raise ValueError(f"z_dim must be a positive integer, got {z_dim!r}")
    z = torch.empty(len(seeds), z_dim, dtype=torch.float32)
    for i, s in enumerate(seeds):
        z[i] = torch.randn(z_dim, generator=torch.Generator("cpu").manual_seed(s))
    return z.to(device)


def _check_seed(s) -> int:
    if isinstance(s, bool) or not isinstance(s, int):
        try:
            if int(s) != s:
                raise ValueError
            s = int(s)
        except (TypeError, ValueError):
            raise ValueError(f"seed must be an integer, got {s!r}") from None
    if not 0 <= s <= MAX_SEED:
        raise ValueError(f"seed {s} out of range [0, {MAX_SEED}]")
    return s


_ITEM = re.compile(r"^(\d+)(?:\s*-\s*(\d+))?$")


def parse_seeds(text: str) -> list[int]:
    """Parse "0-15,20,30-32" into a list of seeds (ranges inclusive, order kept)."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("no seeds given; write e.g. 0-15,20,30-32")
    seeds: list[int] = []
    for item in text.split(","):
        item = item.strip()
        m = _ITEM.match(item)
        if not m:
            raise ValueError(f"bad seed {item!r} in {text!r}; write e.g. 0-15,20,30-32 (non-negative integers)")
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) is not None else lo
        if hi < lo:
            raise ValueError(f"bad seed range {item!r}: the end is below the start")
        for s in (lo, hi):
            _check_seed(s)
        if len(seeds) + hi - lo + 1 > MAX_SEEDS:
            raise ValueError(f"too many seeds in {text!r} (at most {MAX_SEEDS})")
        seeds.extend(range(lo, hi + 1))
    return seeds
