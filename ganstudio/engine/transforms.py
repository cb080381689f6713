"""State transforms the panels use, without Qt: each takes a RenderState (and plain values) and returns one.

The panels call these and hand the result to the application state; the command line and the
tests can call them alike.
"""
from __future__ import annotations

from ganstudio.engine.state import RenderState

_METHOD_NAMES = {"raw": "z", "w": "w", "pca": "PCA", "sefa": "SeFa"}


def samples_base(state: RenderState, carry_edits: bool) -> RenderState:
    """The state a panel's sample grid renders its seeds from: the current one, with or without its edits.

    With the edits, every sample carries the same direction offsets (after strong PCA edits, a grid
    of look-alikes); without, the samples are plain seeds under the current truncation and class.
    """
    return state if carry_edits else state.replace(edits=())


def describe_edits(state: RenderState) -> str:
    """The current edits in a few words ("PCA 0 +2.0, z 5 -1.0"), "" when there are none."""
    return ", ".join(f"{_METHOD_NAMES.get(e.method, e.method)} {e.index} {e.alpha:+.1f}" for e in state.edits)


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
