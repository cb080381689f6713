"""The package's one way to write a duration for people: the trainer's ETA, the Train window, the model card."""
from __future__ import annotations

import math


def format_duration(seconds, unknown: str = "?") -> str:
    """``5 s``, ``12 min 34 s``, ``1 h 02 min``; ``unknown`` for a missing, negative or non-finite value."""
    try:
        s = float(seconds)
    except (TypeError, ValueError):
        return unknown
    if not math.isfinite(s) or s < 0:
        return unknown
    s = int(round(s))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    if h:
        return f"{h} h {m:02d} min"
    return f"{m} min {s:02d} s" if m else f"{s} s"
