"""The direction library as part of the state: adding, renaming, removing and replacing directions, and
making a direction from another direction set or from the current edit.

The library lives in ``RenderState.user_directions``, so every change here is a new state that the
core applies as one undoable step (and a session keeps).  "user" edits index that list: removing a
direction drops its edits and renumbers the edits of the ones after it.
"""
from __future__ import annotations

from typing import Optional

import torch

from ganstudio.engine.renderer import ModelInfo
from ganstudio.engine.state import Edit, RenderState
from ganstudio.latent import codes
from ganstudio.latent.library import MAX_DIRECTIONS, LibraryError, UserDirection, check_direction

SOURCE_NAMES = {"pca": "PCA", "sefa": "SeFa", "raw": "z", "w": "w", "code": "code"}


def add_direction(state: RenderState, direction: UserDirection) -> RenderState:
    """``state`` with ``direction`` appended to its library (checked; at most MAX_DIRECTIONS)."""
    if len(state.user_directions) >= MAX_DIRECTIONS:
        raise LibraryError(f"the library holds {MAX_DIRECTIONS} directions, the most the sliders show: "
                           "delete one first")
    direction = check_direction(direction, f"direction {direction[0]!r}")
    return state.replace(user_directions=state.user_directions + (direction,))


def rename_direction(state: RenderState, index: int, name: str) -> RenderState:
    d = state.user_directions[index]._replace(name=name.strip())
    check_direction(d, "the new name")
    dirs = list(state.user_directions)
    dirs[index] = d
    return state.replace(user_directions=tuple(dirs))


def remove_direction(state: RenderState, index: int) -> RenderState:
    """Drop direction ``index`` and its edits; the edits of later directions follow their new numbers."""
    if not 0 <= index < len(state.user_directions):
        raise IndexError(f"no direction {index}")
    edits = tuple(e._replace(index=e.index - 1) if e.method == "user" and e.index > index else e
                  for e in state.edits if not (e.method == "user" and e.index == index))
    dirs = state.user_directions[:index] + state.user_directions[index + 1:]
    return state.replace(user_directions=dirs, edits=edits)


def replace_library(state: RenderState, directions) -> RenderState:
    """A loaded library in place of the current one; the old library's edits go with it."""
    if len(directions) > MAX_DIRECTIONS:
        raise LibraryError(f"{len(directions)} directions, at most {MAX_DIRECTIONS}")
    dirs = tuple(check_direction(d, f"direction {i + 1}") for i, d in enumerate(directions))
    return state.replace(user_directions=dirs, edits=tuple(e for e in state.edits if e.method != "user"))


def unique_name(state: RenderState, name: str) -> str:
    """``name``, or ``name (2)``, ``name (3)``... when the library has it already."""
    taken = {d.name for d in state.user_directions}
    name = name.strip()[:70] or "direction"
    if name not in taken:
        return name
    return next(f"{name} ({k})" for k in range(2, MAX_DIRECTIONS + 2) if f"{name} ({k})" not in taken)


def direction_from_source(render, state: RenderState, info: ModelInfo, method: str, index: int,
                          layers: Optional[tuple] = None) -> UserDirection:
    """Direction ``index`` of a direction set as a library entry (a unit step as the slider makes it).

    ``method``: pca / sefa (in w for style models, else z), raw (a z dimension), w (a w dimension),
    code (an InfoGAN continuous code ``index`` >= 1, in z).  ``render``: the render service or a
    Renderer (PCA / SeFa are computed there, and cached).  Slow for a first PCA: call it from a job.
    """
    style = bool(info.capabilities.style_layers)
    if method in ("pca", "sefa"):
        d = render.directions(state.model, method)
        if not 0 <= index < len(d):
            raise ValueError(f"{SOURCE_NAMES[method]} has no direction #{index} (it has {len(d)})")
        vector, space = d[index].float().cpu(), "w" if style else "z"
    elif method in ("raw", "w"):
        dim = info.z_dim if method == "raw" else info.w_dim
        if not 0 <= index < dim:
            raise ValueError(f"{method} dimension {index} out of range (0-{dim - 1})")
        vector, space = torch.zeros(dim), "z" if method == "raw" or not style else "w"
        vector[index] = 1.0
    elif method == "code":
        layout = codes.layout_of(info)
        vector, space = torch.zeros(info.z_dim), "z"
        vector[layout.continuous_dim(index)] = 1.0
    else:
        raise ValueError(f"unknown direction set {method!r} ({', '.join(SOURCE_NAMES)})")
    name = f"{SOURCE_NAMES[method]} #{index}" if method != "code" else f"code {index}"
    return UserDirection(name, space, tuple(vector.tolist()), layers if space == "w" else None)


def plain_seed(state: RenderState) -> RenderState:
    """The state's seed with nothing applied but its class (and truncation, mixing, noise, stage)."""
    return state.replace(z=None, ws=None, edits=())


def direction_from_edit(render, state: RenderState, info: ModelInfo, name: str = "edit") -> UserDirection:
    """The difference between the current image's latent and its plain seed's (``plain_seed``) as a direction.

    In z for models without a mapping network and for a style model whose edit is all in z (an explicit
    z, raw z or code edits); otherwise in w, over the layers where the two differ (their mean
    difference when the layers differ by different amounts).  A step of 1.0 replays the edit on
    the seed.  Raises ValueError when the image is its plain seed.
    """
    z_only = all(e.method in ("raw", "code") or (e.method == "user" and state.user_directions[e.index].space == "z")
                 for e in state.edits) and state.ws is None
    cur, base = render.latents(state), render.latents(plain_seed(state))
    if not info.capabilities.style_layers or (z_only and cur[0] is not None):
        delta = (cur[0] if cur[0] is not None else cur[2][:, 0]) - (base[0] if base[0] is not None else base[2][:, 0])
        return _nonzero(name, "z", delta[0], None)
    dws = (cur[2] - base[2])[0]  # [num_ws, w_dim]
    moved = [i for i in range(dws.shape[0]) if bool(dws[i].abs().max() > 1e-6)]
    if not moved:
        raise ValueError("the image is its plain seed: there is no edit to save as a direction")
    first, end = moved[0], moved[-1] + 1
    layers = None if (first, end) == (0, info.num_ws) else (first, end)
    return _nonzero(name, "w", dws[first:end].mean(0), layers)


def _nonzero(name: str, space: str, vector: torch.Tensor, layers) -> UserDirection:
    if not bool(vector.abs().max() > 1e-6):
        raise ValueError("the image is its plain seed: there is no edit to save as a direction")
    return UserDirection(name, space, tuple(vector.float().tolist()), layers)


def user_edit(state: RenderState, index: int, alpha: float) -> tuple:
    """The state's edits with library direction ``index`` at ``alpha`` (on the direction's own layers)."""
    out = [e for e in state.edits if not (e.method == "user" and e.index == index)]
    if alpha:
        out.append(Edit("user", index, float(alpha), state.user_directions[index].layers))
    return tuple(out)


def code_edit(state: RenderState, index: int, value: Optional[float]) -> tuple:
    """The state's edits with InfoGAN code ``index`` (0: the category) set to ``value``; None: the seed's own."""
    out = [e for e in state.edits if not (e.method == "code" and e.index == index)]
    if value is not None:
        out.append(Edit("code", index, float(value)))
    return tuple(out)
