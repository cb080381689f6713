"""Class vectors c: one-hot for a pure class, a convex blend of one-hots for class blending."""
from __future__ import annotations

import math
from typing import Mapping, Sequence, Union

import torch


def _check_c_dim(c_dim: int) -> None:
    if isinstance(c_dim, bool) or not isinstance(c_dim, int) or c_dim <= 0:
        raise ValueError(f"c_dim must be a positive integer (the model has no classes?), got {c_dim!r}")


def _check_class(k, c_dim: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int):
        raise ValueError(f"class index must be an integer, got {k!r}")
    if not 0 <= k < c_dim:
        raise ValueError(f"class {k} out of range: the model has classes 0..{c_dim - 1}")
    return k


def class_vector(k: int, c_dim: int) -> torch.Tensor:
    """One-hot class vector [c_dim] float32 for class k."""
    _check_c_dim(c_dim)
    c = torch.zeros(c_dim)
    c[_check_class(k, c_dim)] = 1.0
    return c


def class_blend(weights: Union[Mapping[int, float], Sequence[float], torch.Tensor], c_dim: int,
                normalize: bool = True) -> torch.Tensor:
    """Blend of classes as c [c_dim] float32; weights {class: weight} or a full vector, normalized to sum 1."""
    _check_c_dim(c_dim)
    if isinstance(weights, Mapping):
        c = torch.zeros(c_dim, dtype=torch.float64)
        for k, v in weights.items():
            c[_check_class(k, c_dim)] += _check_weight(v, k)
    else:
        try:
            c = torch.as_tensor(weights, dtype=torch.float64).detach().cpu()
        except (TypeError, ValueError, RuntimeError):
            raise ValueError(f"class weights must be numbers, got {weights!r}") from None
        if c.shape != (c_dim,):
            raise ValueError(f"class weights must have {c_dim} entries, got shape {list(c.shape)}")
        for k, v in enumerate(c.tolist()):
            _check_weight(v, k)
    if normalize and float(c.max()) > 0:
        c = c / c.max()  # first to at most 1: a sum of huge weights would overflow to inf
    total = float(c.sum())
    if total <= 0:
        raise ValueError("class weights are all zero; give at least one class a positive weight")
    if normalize:
        c = c / total
    return c.float()


def _check_weight(v, k) -> float:
    try:
        v = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"weight of class {k} is not a number: {v!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"weight of class {k} is not finite: {v}")
    if v < 0:
        raise ValueError(f"weight of class {k} is negative: {v}")
    return v
