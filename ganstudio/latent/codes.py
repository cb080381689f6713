"""InfoGAN latent codes (Chen et al. 2016): the layout of z, the codes' priors, and setting them.

An InfoGAN generator's z is ``[noise | one-hot category (info_cat) | continuous codes (info_cont)]``
(as training/loop.py draws it): the category is uniform over ``info_cat`` values, each continuous
code uniform in [-1, 1].  Seeds give N(0, I) z (``latent.seeded_z``); ``codes_from_normal`` turns
the code part of such a z into codes drawn from their priors, deterministically, so a seed keeps
naming one image: the category is the argmax of the block's normal values (uniform over the
categories by symmetry) and each continuous code is ``2 Phi(x) - 1`` (uniform in [-1, 1]).
"""
from __future__ import annotations

import math
from typing import NamedTuple, Optional, Sequence

import torch


class CodeLayout(NamedTuple):
    """Where the codes sit in z: ``start`` is the first code dimension (after the noise)."""
    z_dim: int
    categories: int  # size of the categorical code (0 = none)
    continuous: int  # number of continuous codes

    @property
    def start(self) -> int:
        return self.z_dim - self.categories - self.continuous

    @property
    def count(self) -> int:
        """How many codes the sliders show: the category (when there is one), then each continuous code."""
        return (1 if self.categories else 0) + self.continuous

    def continuous_dim(self, k: int) -> int:
        """The z index of continuous code k (1-based, as the sliders name them)."""
        if not 1 <= k <= self.continuous:
            raise ValueError(f"continuous code {k} out of range (the model has {self.continuous})")
        return self.start + self.categories + k - 1


def layout_of(G_or_info) -> CodeLayout:
    """The code layout of a generator (``info_cat`` / ``info_cont`` attributes) or a ModelInfo (``code_sizes``)."""
    sizes = getattr(G_or_info, "code_sizes", None)
    cat, cont = sizes if sizes is not None else (getattr(G_or_info, "info_cat", 0), getattr(G_or_info, "info_cont", 0))
    layout = CodeLayout(int(G_or_info.z_dim), int(cat or 0), int(cont or 0))
    if layout.start < 0:
        raise ValueError(f"{cat} + {cont} code dims do not fit in z_dim {layout.z_dim}")
    return layout


def codes_from_normal(z: torch.Tensor, layout: CodeLayout) -> torch.Tensor:
    """z [N, z_dim] ~ N(0, I) -> a copy whose code dims follow the codes' priors (see the module doc)."""
    if not layout.categories and not layout.continuous:
        return z
    if z.shape[-1] != layout.z_dim:
        raise ValueError(f"z has {z.shape[-1]} dims, the model's z has {layout.z_dim}")
    out = z.clone()
    a = layout.start
    if layout.categories:
        block = z[..., a:a + layout.categories]
        out[..., a:a + layout.categories] = torch.nn.functional.one_hot(
            block.argmax(-1), layout.categories).to(z.dtype)
    b = a + layout.categories
    if layout.continuous:
        x = z[..., b:b + layout.continuous]
        out[..., b:b + layout.continuous] = torch.erf(x / math.sqrt(2.0))  # 2 Phi(x) - 1
    return out


def read_codes(z: Sequence[float], layout: CodeLayout) -> tuple[Optional[int], list[float]]:
    """(category or None, [continuous code values]) of one z row (a tensor or a list)."""
    row = [float(v) for v in (z.tolist() if hasattr(z, "tolist") else z)]
    a, b = layout.start, layout.start + layout.categories
    category = max(range(layout.categories), key=lambda i: row[a + i]) if layout.categories else None
    return category, row[b:b + layout.continuous]


def set_codes(z: torch.Tensor, layout: CodeLayout, category: Optional[int] = None,
              values: Optional[dict] = None) -> torch.Tensor:
    """A copy of z [..., z_dim] with the category (one-hot) and the continuous codes {k (1-based): value} set."""
    out = z.clone()
    if category is not None:
        if not layout.categories:
            raise ValueError("the model has no categorical code")
        if not 0 <= category < layout.categories:
            raise ValueError(f"category {category} out of range (0-{layout.categories - 1})")
        a = layout.start
        out[..., a:a + layout.categories] = 0.0
        out[..., a + category] = 1.0
    for k, v in (values or {}).items():
        out[..., layout.continuous_dim(k)] = float(v)
    return out
