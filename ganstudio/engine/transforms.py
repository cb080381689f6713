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
    return ", ".join(f"{_METHOD_NAMES.get(e[0], e[0])} {e[1]} {e[2]:+.1f}" for e in state.edits)
