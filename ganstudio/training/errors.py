"""Why training stopped: errors the command line and the Train tab turn into one line."""
from __future__ import annotations

import contextlib
import os
from pathlib import Path


class TrainingError(RuntimeError):
    """Training could not go on (a diverged loss); the run's status.json says why."""


class RunWriteError(TrainingError):
    """A file of the run folder could not be written (a full disk, a read-only or lost mount).

    The message names the file the trainer meant to write, never a temp file of ours."""

    def __init__(self, path, err: OSError):
        reason = os.strerror(err.errno).lower() if err.errno else (str(err) or type(err).__name__)
        super().__init__(f"cannot write {path}: {reason}")
        self.path, self.errno = Path(path), err.errno


@contextlib.contextmanager
def writing(path):
    """Turn an OSError of the block into a :class:`RunWriteError` naming ``path``."""
    try:
        yield
    except OSError as e:
        raise RunWriteError(path, e) from None
