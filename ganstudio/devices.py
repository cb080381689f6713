"""The one device picker (Qt-free, no torch device state touched): used by training, the renderer and
the command line."""
from __future__ import annotations

import torch


def pick_device(preference: str = "auto") -> torch.device:
    """CUDA, then Apple MPS, then CPU; an explicit choice that is unavailable is an error."""
    pref = (preference or "auto").lower()
    mps = getattr(torch.backends, "mps", None)
    has_mps = bool(mps and mps.is_available())
    if pref == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if has_mps else torch.device("cpu")
    if pref.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("CUDA was asked for but no CUDA GPU is available")
    if pref == "mps" and not has_mps:
        raise ValueError("Apple MPS was asked for but is not available")
    if pref not in ("cpu", "mps") and not pref.startswith("cuda"):
        raise ValueError(f"unknown device {preference!r} (auto, cpu, cuda, cuda:N, mps)")
    return torch.device(pref)
