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
        render_on_every_core()
    freeze_long_lived_objects()


_render_threads = 0  # what render_on_every_core chose; 0 = never called (torch's own default)


def render_on_every_core(training_in_process: bool = False) -> int:
    """torch's CPU renders use every core the machine has (issue 17: a 256 px StyleGAN2 takes ~0.5 s a
    frame on 2 cores, and the image is what the user waits for); every core but one while a training
    runs in this process, so it keeps a core.  The GUI thread stays smooth without a core of its own:
    it holds the GIL only between torch ops (short switch interval above) and only paints.  Also after
    a switch to the CPU from another device.  Returns the thread count."""
    import torch
    global _render_threads
    cores = os.cpu_count() or 1
    _render_threads = max(1, cores - 1) if training_in_process else cores
    torch.set_num_threads(_render_threads)
    return _render_threads


def render_threads() -> int:
    """The torch thread count the render and job workers use (0: torch's default, nothing configured)."""
    return _render_threads


def freeze_long_lived_objects() -> None:
    """Move every object alive now out of the garbage collector's reach.

    torch, Qt and a loaded network are millions of long-lived objects; a full collection walking them
    stalled the event loop for ~200 ms mid slider-storm.  Freezing them keeps full collections to the
    objects made since.  Called at start-up and after each model load (the network is new then).
    """
    gc.collect()
    gc.freeze()
