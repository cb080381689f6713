"""Latent vector arithmetic (Radford et al. 2016, sec. 6.3): mean(A) - mean(B) + mean(C)."""
from __future__ import annotations

import torch


def vector_arithmetic(A: torch.Tensor, B: torch.Tensor, C: torch.Tensor) -> torch.Tensor:
    """mean(A) - mean(B) + mean(C) over the first dim of each group [n_i, ...] of z or w."""
    groups = {"A": A, "B": B, "C": C}
    for name, g in groups.items():
        if not isinstance(g, torch.Tensor) or g.ndim < 2 or g.shape[0] == 0:
            shape = list(g.shape) if isinstance(g, torch.Tensor) else type(g).__name__
            raise ValueError(f"group {name} must be a non-empty tensor [n, ...], got {shape}")
        if g.shape[1:] != A.shape[1:]:
            raise ValueError(f"group {name} has latents of shape {list(g.shape[1:])}, group A has {list(A.shape[1:])}")
    # (mean A - mean B) first: with A == B it is exactly zero and the result is exactly mean(C).
    return (A.mean(0) - B.mean(0).to(A.device)) + C.mean(0).to(A.device)
