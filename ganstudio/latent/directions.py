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


class _Reached(Exception):
    """Raised by the hook on the first layer: the rest of the forward is not needed."""


def _first_layer_output(G, z: torch.Tensor, c: Optional[torch.Tensor]) -> torch.Tensor:
    """G_1(z): the output of the layer z enters first (G.latent_module()), flattened -> [N, D] float64."""
    seen = []

    def hook(module, inputs, output):
        seen.append(output.detach().flatten(1).to("cpu", torch.float64))
        raise _Reached

    modes = [m.training for m in G.modules()]
    G.eval()  # in training mode spectral norm's power iteration (also on reading .weight) would move u
    handle = None
    try:
        handle = G.latent_module().register_forward_hook(hook)
        G.synthesis(G.mapping(z, c), c)
    except _Reached:
        pass
    finally:
        if handle is not None:
            handle.remove()
        for m, mode in zip(G.modules(), modes):
            m.training = mode
    if not seen:
        raise ValueError(f"{G.latent_layer} of {type(G).__name__} did not run in synthesis")
    return seen[0]


def _principal_coordinates(y: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """PCA of centered rows y [N, D] -> (coordinates x = y V^T [N, k], variance [k], descending).

    Eigendecomposes the smaller of y^T y and y y^T (for [2000, 16384] ten times faster than an SVD).
    """
    n, dim = y.shape
    if dim <= n:
        eig, v = torch.linalg.eigh(y.T @ y)  # ascending
        x = y @ v.flip(1)[:, :k]
    else:
        eig, p = torch.linalg.eigh(y @ y.T)  # y = P S V^T, so x = P S
        x = p.flip(1)[:, :k] * eig.flip(0)[:k].clamp_min(0).sqrt()
    return x, eig.flip(0)[:k] / (n - 1)


def _sample(G, n_samples: int, gen: torch.Generator, c, layer_output: bool):
    """-> (z [N, z_dim], w or the first layer's output [N, D]), float64 on the CPU."""
    device = _device(G)
    zs, ys = [], []
    for start in range(0, n_samples, _BATCH):
        n = min(_BATCH, n_samples - start)
        z = torch.randn(n, G.z_dim, generator=gen)
        cc = _class_weights(G, c, n, gen, device)
        if layer_output:
            ys.append(_first_layer_output(G, z.to(device), cc))
        else:
            ws = G.mapping(z.to(device), cc)
            ys.append(ws[:, 0].detach().to("cpu", torch.float64))  # untruncated: every ws entry is the same w
        zs.append(z.double())
    return torch.cat(zs), torch.cat(ys)


def _check_continuous(G) -> None:
    """Directions need a continuous latent: a VQ-VAE's image is a grid of discrete codes, its z only the prior's noise."""
    capabilities = getattr(G, "capabilities", None)  # a bare module (tests, foreign code) has none: continuous
    if capabilities is not None and capabilities().code_grid:
        raise ValueError(f"{type(G).__name__} draws its image from a grid of discrete codes: it has no latent "
                         "directions (edit the codes in the Code map panel)")


@torch.no_grad()
def pca_directions(G, n_samples: int = 10000, k: int = 20, space: Optional[str] = None, seed: int = 0,
                   c: Optional[torch.Tensor] = None) -> tuple[torch.Tensor, torch.Tensor]:
    """GANSpace (Härkönen et al. 2020, sec. 2.2) -> (directions [k, dim] unit rows, explained variance [k]).

    space "w" (style-based models): principal axes of sampled w, orthonormal.  space "z" (models
    without a mapping network, whose z ~ N(0, I) has no principal axes): PCA of the activations
    y = G_1(z) of the layer z enters first (``G.latent_layer``) gives coordinates x; the directions
    are the rows of U minimizing sum ||U^T x - z||^2, each normalized (not orthogonal).  The default
    is "w" where G has style layers, else "z".  The variance is of w or of y; k is capped by the
    dimensions, n_samples - 1 and the rank of the samples.  Conditional models: c is [c_dim] or
    [N, c_dim] class weights; None draws a random class per sample.  Costs O(N D min(N, D)) for D
    activations (BigGAN at 128 px: D = 16384, N = 2000 take seconds); the regression's sampling noise
    is about sqrt(z_dim / N) per direction.
    """
    _check_continuous(G)
    style = G.capabilities().style_layers
    space = space if space is not None else "w" if style else "z"
    if space not in ("w", "z"):
        raise ValueError(f"space must be 'w' or 'z', got {space!r}")
    if space == "w" and not style:  # w is z here: its PCA would return arbitrary axes
        raise ValueError(f"{type(G).__name__} has no mapping network; its PCA directions are in space 'z'")
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 2:
        raise ValueError(f"n_samples must be an integer >= 2, got {n_samples!r}")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    gen = torch.Generator("cpu").manual_seed(int(seed))
    z, y = _sample(G, n_samples, gen, c, layer_output=space == "z")
    y = y - y.mean(0, keepdim=True)
    latent = y if space == "w" else z
    x, variance = _principal_coordinates(y, min(k, y.shape[1], latent.shape[1], n_samples - 1))
    # Drop components of (numerically) zero variance, e.g. beyond the rank of a linear map of z.
    k = int((variance > variance[0] * 1e-8).sum()) if variance[0] > 0 else 0
    if k == 0:
        raise ValueError(f"the sampled {'w' if space == 'w' else 'activations'} of {type(G).__name__} do not vary")
    x, variance = x[:, :k], variance[:k]
    # GANSpace's transfer to the latent: U [k, dim] minimizing ||x U - latent||^2 (x is centered, so no
    # intercept).  For w itself this is the PCA basis V.
    directions = torch.linalg.lstsq(x, latent).solution
    directions = directions / directions.norm(dim=1, keepdim=True)
    return _canonical_sign(directions).float(), variance.float()


@torch.no_grad()
def sefa_directions(G, k: int = 20, layers: Optional[Sequence[int]] = None) -> tuple[torch.Tensor, torch.Tensor]:
    """SeFa: top eigenvectors of W^T W of the latent-facing weight -> (directions [k, w_dim], eigenvalues [k])."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    _check_continuous(G)
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
