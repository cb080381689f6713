"""Process-wide settings of the interactive explorer, made in one place at start-up, each with its reason.

The command line's batch commands leave the interpreter and torch as they are; only the window,
where a GUI thread must stay smooth beside torch's workers, changes them (gui.app.run_app calls
``configure_interactive_process``; benchmarks that open the window call it too).
"""
from __future__ import annotations

import gc
import os
import sys


def configure_interactive_process(device_type: str = "cpu") -> None:
    """Settings for a window rendering on ``device_type`` (the renderer's device type)."""
    # The render worker holds the GIL between torch ops; a short switch interval hands it back to the
    # GUI thread quickly (slider storms ran ~2x faster with 1 ms than with the 5 ms default).
    sys.setswitchinterval(min(sys.getswitchinterval(), 0.001))
    if device_type == "cpu":
        leave_a_core_to_the_gui()
    freeze_long_lived_objects()


def leave_a_core_to_the_gui() -> None:
    """torch's CPU renders use every core but one, so sliders stay smooth while torch renders (also after
    a switch to the CPU from another device)."""
    import torch
    torch.set_num_threads(max(1, min(torch.get_num_threads(), (os.cpu_count() or 2) - 1)))


def freeze_long_lived_objects() -> None:
    """Move every object alive now out of the garbage collector's reach.

    torch, Qt and a loaded network are millions of long-lived objects; a full collection walking them
    stalled the event loop for ~200 ms mid slider-storm.  Freezing them keeps full collections to the
    objects made since.  Called at start-up and after each model load (the network is new then).
    """
    gc.collect()
    gc.freeze()
