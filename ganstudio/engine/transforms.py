"""State transforms the panels use, without Qt: each takes a RenderState (and plain values) and returns one.

The panels call these and hand the result to the application state; the command line and the
tests can call them alike.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import torch

from ganstudio import latent
from ganstudio.engine.interpolation import blend_state_classes
from ganstudio.engine.renderer import ModelInfo
from ganstudio.engine.state import Edit, LayerNoise, RenderState
from ganstudio.latent.sampling import MAX_SEED

_METHOD_NAMES = {"raw": "z", "w": "w", "pca": "PCA", "sefa": "SeFa", "user": "library", "code": "code"}


def samples_base(state: RenderState, carry_edits: bool) -> RenderState:
    """The state a panel's sample grid renders its seeds from: the current one, with or without its edits.

    With the edits, every sample carries the same direction offsets (after strong PCA edits, a grid
    of look-alikes); without, the samples are plain seeds under the current truncation and class.
    """
    return state if carry_edits else state.replace(edits=())


def describe_edits(state: RenderState) -> str:
    """The current edits in a few words ("PCA 0 +2.0, z 5 -1.0"), "" when there are none."""
    return ", ".join(f"category {e.alpha:.0f}" if e.method == "code" and e.index == 0 else
                     f"{_METHOD_NAMES.get(e.method, e.method)} {e.index} {e.alpha:+.1f}" for e in state.edits)


def blend_classes(a: int, b: int, t: float) -> dict[int, float]:
    """Class weights of the two-class blend from ``a`` to ``b`` at ``t`` in [0, 1] (a zero weight is left out)."""
    if a == b:
        return {a: 1.0}
    return {k: w for k, w in ((a, 1.0 - t), (b, t)) if w > 0}


def blend_position(weights: dict[int, float], a: int, b: int) -> tuple[int, int, float, int]:
    """Where the class weights sit on a from/to/t blend: (from, to, t, classes weighted).

    The current pair is kept when the weights lie on it; otherwise the pair becomes the weighted
    classes (the heaviest first when more than two are weighted, where t = 0 shows it alone is not exact).
    """
    live = {int(k): float(w) for k, w in weights.items() if w > 0} or {0: 1.0}
    if len(live) == 1:
        (k,) = live
        if k == b and a != b:
            return a, b, 1.0, 1
        return k, (b if b != k else a), 0.0, 1
    if len(live) == 2 and set(live) == {a, b}:
        return a, b, live[b] / (live[a] + live[b]), 2
    order = sorted(live, key=lambda k: (-live[k], k))
    first, second = order[0], order[1]
    if len(live) == 2:
        first, second = sorted(live)
        return first, second, live[second] / (live[first] + live[second]), 2
    return first, second, 0.0, len(live)


# -- direction edits -----------------------------------------------------------------------------
def _layers(layers) -> Optional[tuple[int, int]]:
    return None if layers is None else (int(layers[0]), int(layers[1]))


def _is_edit(e: Edit, method: str, index: int, layers) -> bool:
    """An edit is one direction over one layer range: the same direction over other layers is another."""
    return (e.method, e.index) == (method, index) and _layers(e.layers) == _layers(layers)


def set_edit(edits: tuple, method: str, index: int, alpha: float, layers=None) -> tuple:
    """``edits`` with the (method, index, layers) entry set to alpha (dropped at 0), others kept in order."""
    out = [e for e in edits if not _is_edit(e, method, index, layers)]
    if alpha:
        out.append(Edit(method, index, float(alpha), _layers(layers)))
    return tuple(out)


def edit_alpha(edits: tuple, method: str, index: int, layers=None) -> float:
    """The strength of the (method, index, layers) edit; 0 when there is none."""
    return next((e.alpha for e in edits if _is_edit(e, method, index, layers)), 0.0)


def edits_on_layers(edits: tuple, layers) -> tuple:
    """Every direction and raw-w edit moved onto the w-layer range ``layers`` (raw z edits have no layers;
    library directions keep their own range, InfoGAN codes are in z)."""
    return tuple(e._replace(layers=_layers(layers)) if e.method not in ("raw", "user", "code") else e for e in edits)


def sweep_state(state: RenderState, method: str, index: int, alpha: float, layers=None) -> RenderState:
    """``state`` moved by ``alpha`` along one direction, on top of any edit it already has there."""
    total = edit_alpha(state.edits, method, index, layers) + alpha  # the same direction on other layers stays
    return state.replace(edits=set_edit(state.edits, method, index, total, layers))


def sweep_alphas(strength: float, steps: int) -> list[float]:
    """``steps`` evenly spaced strengths from -strength to +strength (0 in the middle for odd steps)."""
    if steps < 2:
        return [0.0]
    return [strength * (2 * j / (steps - 1) - 1) for j in range(steps)]


def step_seed(state: RenderState, delta: int) -> int:
    """The seed ``delta`` away from the state's, kept in the seed range."""
    return min(max(state.seed + delta, 0), MAX_SEED)


def seed_state(state: RenderState, seed: int) -> RenderState:
    """The state at another seed: an explicit latent gives way to it; edits, truncation, class stay."""
    return state.replace(seed=int(seed), z=None, ws=None)


# -- classes, mixing, the blend pad ----------------------------------------------------------------
def normalized(weights: dict[int, float]) -> dict[int, float]:
    """Weights scaled to sum to 1; unchanged when none is above 0."""
    top = max(weights.values(), default=0.0)
    if not top > 0:
        return weights
    scaled = {k: w / top for k, w in weights.items()}  # a sum of huge weights would overflow
    total = sum(scaled.values())
    return {k: w / total for k, w in scaled.items()}


def preset_sources(info: ModelInfo, preset: str, source: int = 1) -> tuple[int, ...]:
    """mix_sources taking the preset's layers (coarse / middle / fine / all) from ``source``, the rest from the
    main latent."""
    if preset == "all":
        layers = set(range(info.num_ws))
    else:
        layers = set(latent.layer_presets(info.num_ws, info.capabilities.layer_resolutions)[preset])
    return tuple(source if i in layers else 0 for i in range(info.num_ws))


def bilinear_weights(u: float, v: float) -> tuple[float, float, float, float]:
    """Weights of the (top-left, top-right, bottom-left, bottom-right) corners at (u, v) in [0, 1]^2."""
    return (1 - u) * (1 - v), u * (1 - v), (1 - u) * v, u * v


def pad_z(state: RenderState, info: ModelInfo, seeds, u: float, v: float) -> np.ndarray:
    """The blend pad's z at (u, v) between four corner seeds: their bilinear blend at the corners' norm.

    The corners' z are as the renderer draws them (BigGAN-truncated when the threshold is on), so
    the pad at a corner is that corner's image; cheap: no network involved.
    """
    t = state.z_threshold if info.capabilities.truncation == "z" else None
    z = latent.seeded_z(list(seeds), info.z_dim) if t is None else latent.truncated_z(list(seeds), info.z_dim, t)
    if any(getattr(info, "code_sizes", (0, 0))):  # an InfoGAN's seeds carry codes drawn from their priors
        from ganstudio.latent import codes
        z = codes.codes_from_normal(z, codes.layout_of(info))
    return latent.norm_blend(z, bilinear_weights(u, v)).numpy()


# -- vector arithmetic ------------------------------------------------------------------------------
def bin_state(state: RenderState, seed: int) -> RenderState:
    """The bare latent of a seed: the current truncation and edits apply once, on the result."""
    return state.replace(seed=seed, z=None, ws=None, edits=(), truncation_psi=1.0, truncation_cutoff=None,
                         mix_seeds=(), mix_sources=None)


def as_tuple(x):
    """A latent tensor [D] or [L, D] as the nested tuple of floats a RenderState holds."""
    return tuple(tuple(float(v) for v in row) for row in x.tolist()) if x.ndim == 2 else tuple(
        float(v) for v in x.tolist())


def arithmetic_latent(renderer, state: RenderState, bins, space: str):
    """A − B + C (Radford et al. 2016) over the mean latents of three bins of seeds, in z or in ws (``space``);
    ``renderer.latents(state)`` gives (z, c, ws)."""
    pick = 2 if space == "ws" else 0
    groups = [torch.cat([renderer.latents(bin_state(state, s))[pick].cpu() for s in seeds]) for seeds in bins]
    return latent.vector_arithmetic(*groups)


def arithmetic_variations(result: torch.Tensor, count: int, sigma: float) -> list[torch.Tensor]:
    """``count`` latents around an arithmetic result (Gaussian noise of ``sigma``), the same ones every time."""
    gen = torch.Generator().manual_seed(0)
    return [result + sigma * torch.randn(result.shape, generator=gen) for _ in range(count)]


def interpolation_changes(x: torch.Tensor, space: str, pair, t: float, conditional: bool) -> dict:
    """The state fields of an interpolated latent ``x`` in ``space`` (z or ws) a fraction t from ``pair[0]`` to
    ``pair[1]``: that latent, and for a class-conditional model the two states' classes blended by t."""
    changes = {space: as_tuple(x), ("z" if space == "ws" else "ws"): None}
    if conditional:
        changes["class_weights"] = blend_state_classes(pair[0], pair[1], t)
    return changes


# -- noise ----------------------------------------------------------------------------------------
def noise_layers(state: RenderState, count: int) -> list[LayerNoise]:
    """The state's per-layer noise settings; with none, every one of ``count`` layers takes the model's own."""
    return list(state.noise) if state.noise is not None else [LayerNoise("const")] * count


def rerolled_noise(layers, rng) -> list[LayerNoise]:
    """New seeds from ``rng`` (a random.Random); a layer on the model's own noise has no seed to change, so
    it becomes seeded ("fixed")."""
    return [n._replace(mode="fixed" if n.mode == "const" else n.mode, seed=rng.randrange(2**31)) for n in layers]
