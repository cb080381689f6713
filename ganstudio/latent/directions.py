"""Interpretable latent directions: GANSpace (Härkönen et al. 2020) and SeFa (Shen & Zhou 2021)."""
from __future__ import annotations

from typing import Optional, Sequence, Union

import torch
from torch import nn

_BATCH = 1000  # mapping batch size while sampling for PCA


def _canonical_sign(directions: torch.Tensor) -> torch.Tensor:
    # Eigenvectors are defined up to sign; make the largest component positive so results are reproducible.
    idx = directions.abs().argmax(dim=1, keepdim=True)
    sign = torch.sign(directions.gather(1, idx))
    sign[sign == 0] = 1
    return directions * sign


def _device(G) -> torch.device:
    p = next(iter(G.parameters()), None)
    return p.device if p is not None else torch.device("cpu")


def _class_weights(G, c: Optional[torch.Tensor], n: int, gen: torch.Generator, device) -> Optional[torch.Tensor]:
    if not G.c_dim:
        return None
    if c is None:
        # No class given: GANSpace's PCA over all classes, each sample one random class.
        labels = torch.randint(G.c_dim, (n,), generator=gen)
        return nn.functional.one_hot(labels, G.c_dim).float().to(device)
    c = torch.as_tensor(c, dtype=torch.float32).to(device)
    if c.ndim == 1:
        c = c[None]
    if c.ndim != 2 or c.shape[1] != G.c_dim or c.shape[0] not in (1, n):
        raise ValueError(f"c must have shape [{G.c_dim}] or [1 or N, {G.c_dim}], got {list(c.shape)}")
    return c.expand(n, -1)


@torch.no_grad()
def pca_directions(G, n_samples: int = 10000, k: int = 20, space: str = "w", seed: int = 0,
                   c: Optional[torch.Tensor] = None) -> tuple[torch.Tensor, torch.Tensor]:
    """GANSpace: principal axes of sampled w (or z) -> (directions [k, dim] orthonormal, explained variance [k])."""
    if space not in ("w", "z"):
        raise ValueError(f"space must be 'w' or 'z', got {space!r}")
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 2:
        raise ValueError(f"n_samples must be an integer >= 2, got {n_samples!r}")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    gen = torch.Generator("cpu").manual_seed(int(seed))
    device = _device(G)
    chunks = []
    for start in range(0, n_samples, _BATCH):
        n = min(_BATCH, n_samples - start)
        z = torch.randn(n, G.z_dim, generator=gen)
        if space == "z":
            chunks.append(z.double())
            continue
        cc = _class_weights(G, c, n, gen, device)
        ws = G.mapping(z.to(device), cc)
        chunks.append(ws[:, 0].detach().to("cpu", torch.float64))  # untruncated: every ws entry is the same w
    x = torch.cat(chunks)
    x = x - x.mean(0, keepdim=True)
    _, s, vh = torch.linalg.svd(x, full_matrices=False)
    k = min(k, vh.shape[0])
    directions = _canonical_sign(vh[:k])
    variance = s[:k] ** 2 / (n_samples - 1)
    return directions.float(), variance.float()


@torch.no_grad()
def sefa_directions(G, k: int = 20, layers: Optional[Sequence[int]] = None) -> tuple[torch.Tensor, torch.Tensor]:
    """SeFa: top eigenvectors of W^T W of the latent-facing weight -> (directions [k, w_dim], eigenvalues [k])."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    W = G.sefa_weight(layers).detach().to("cpu", torch.float64)
    if W.ndim != 2 or W.shape[1] != G.w_dim:
        raise ValueError(f"SeFa weight must have shape [out, {G.w_dim}], got {list(W.shape)}")
    eigenvalues, vectors = torch.linalg.eigh(W.T @ W)  # ascending
    k = min(k, G.w_dim)
    eigenvalues = eigenvalues.flip(0)[:k]
    directions = _canonical_sign(vectors.flip(1)[:, :k].T.contiguous())
    return directions.float(), eigenvalues.float()


def apply_direction(ws_or_z: torch.Tensor, direction: torch.Tensor, alpha: Union[float, torch.Tensor],
                    layers: Optional[Sequence[int]] = None) -> torch.Tensor:
    """latent + alpha * direction; for ws [N, L, D] only on the listed layers (all when None)."""
    x = ws_or_z
    if direction.ndim != 1 or direction.shape[0] != x.shape[-1]:
        raise ValueError(f"direction must have shape [{x.shape[-1]}], got {list(direction.shape)}")
    step = torch.as_tensor(alpha, dtype=x.dtype, device=x.device)
    if step.ndim == 1:  # one alpha per sample
        step = step.reshape(-1, *([1] * (x.ndim - 1)))
    step = step * direction.to(x.device, x.dtype)
    if layers is None:
        return x + step
    if x.ndim != 3:
        raise ValueError(f"layers apply to ws [N, L, D] only, got a latent of shape {list(x.shape)}")
    from ganstudio.latent.mixing import _layer_list
    idx = _layer_list(layers, x.shape[1])
    out = x.clone()
    if idx:
        out[:, idx] = out[:, idx] + step  # step is [D] or [N, 1, D]
    return out
