"""Interpolation between render states, without Qt: the Interpolation panel, the Gallery's animations
and `ganstudio export` build their frames here, so the window and the command line give the same ones."""
from __future__ import annotations

from typing import Sequence

from ganstudio import latent
from ganstudio.engine.state import RenderState


def endpoint_state(state: RenderState) -> RenderState:
    """The bare latent of a bookmark: truncation and edits are the current state's, applied once on top."""
    return state.replace(edits=(), truncation_psi=1.0, truncation_cutoff=None)


def blend_state_classes(a: RenderState, b: RenderState, t: float) -> tuple:
    """The class weights a fraction t of the way from ``a``'s to ``b``'s (no weights = class 0)."""
    wa, wb = dict(a.class_weights) or {0: 1.0}, dict(b.class_weights) or {0: 1.0}
    keys = sorted(set(wa) | set(wb))
    return tuple((k, (1 - t) * wa.get(k, 0.0) + t * wb.get(k, 0.0)) for k in keys
                 if (1 - t) * wa.get(k, 0.0) + t * wb.get(k, 0.0) > 0)


def interpolation_states(renderer, stops: Sequence[RenderState], frames_per_leg: int, current: RenderState,
                         loop: bool = True) -> list[RenderState]:
    """Slerp through the stops' latents, one state per frame, ``frames_per_leg`` frames from each stop to the next.

    ``loop``: the last leg returns to the first stop (its last frame is the one before the first, so the
    animation repeats seamlessly); otherwise the walk ends on the last stop.  As in the Interpolation
    panel, each leg also blends its two stops' classes with t (a leg's first frame is then its stop), and
    truncation, edits and the rest come from ``current``.  ``renderer.latents(state)`` gives (z, c, ws).
    """
    if len(stops) < 2:
        raise ValueError(f"an interpolation needs at least two stops, got {len(stops)}")
    if isinstance(frames_per_leg, bool) or not isinstance(frames_per_leg, int) or frames_per_leg < 1:
        raise ValueError(f"frames per leg must be a positive integer, got {frames_per_leg!r}")
    space = "ws" if any(s.ws is not None for s in stops) else "z"
    pick = 2 if space == "ws" else 0
    ends = [renderer.latents(endpoint_state(s)) for s in stops]
    lat = [e[pick][0].cpu() for e in ends]
    conditional = ends[0][1] is not None  # c is None for unconditional models
    legs = [(i, (i + 1) % len(lat)) for i in range(len(lat) if loop else len(lat) - 1)]
    steps = [(i, j, f / frames_per_leg) for i, j in legs for f in range(frames_per_leg)]
    if not loop:
        steps.append((len(lat) - 2, len(lat) - 1, 1.0))  # end on the last stop itself
    out = []
    for i, j, t in steps:
        x = latent.slerp(lat[i], lat[j], t)
        values = tuple(tuple(float(v) for v in row) for row in x.tolist()) if x.ndim == 2 else tuple(
            float(v) for v in x.tolist())
        changes = {space: values, ("z" if space == "ws" else "ws"): None}
        if conditional:
            changes["class_weights"] = blend_state_classes(stops[i], stops[j], t)
        out.append(current.replace(**changes))
    return out
