"""File names that carry a training step: ``ckpt_000100.safetensors`` (checkpoints) and
``step_000100.png`` (sample grids).  The one parser of those names; the run folder's layout is
documented in :mod:`ganstudio.training.run_dir`."""
from __future__ import annotations

import os
from pathlib import PurePath
from typing import Optional


def step_of(path: str | os.PathLike) -> Optional[int]:
    """The step a checkpoint or sample file name carries (the digits after the stem's last ``_``),
    or None for a name that carries none (``ckpt_000100.safetensors`` -> 100, ``G.pt`` -> None)."""
    stem = PurePath(path).stem
    prefix, sep, digits = stem.rpartition("_")
    if not sep or not prefix or not digits.isascii() or not digits.isdigit():
        return None
    return int(digits)
