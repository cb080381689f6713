"""Background work that is not the main render (grids, directions, model loading, exports), for the GUI thread.

The runner is engine.jobs.NewestWinsRunner (one worker thread; each channel keeps only its
newest job); this adapter brings results back to the GUI thread through a queued signal, and
only the newest job of a channel delivers its result.
"""
from __future__ import annotations

import threading
from typing import Any, Callable, Optional

from PySide6.QtCore import QObject, Qt, Signal

from ganstudio.engine.jobs import JobCancelled, JobDone, NewestWinsRunner

__all__ = ["JobCancelled", "JobRunner"]


class JobRunner(QObject):
    busy_changed = Signal(str)  # text of the running long job, "" when none
    progress = Signal(str, float)  # channel, fraction in [0, 1]
    _finished = Signal(object)

    def __init__(self, parent: Optional[QObject] = None):
        super().__init__(parent)
        self._lock = threading.Lock()
        self._callbacks: dict[int, tuple] = {}  # token -> (on_done, on_error), until delivered or dropped
        self._finished.connect(self._deliver, Qt.QueuedConnection)
        self._runner = NewestWinsRunner("ganstudio-jobs", self._finished.emit, self.busy_changed.emit,
                                        self.progress.emit, self._dropped)

    def submit(self, channel: str, fn: Callable[..., Any], on_done: Callable[[Any], None],
               on_error: Optional[Callable[[str], None]] = None, busy: str = "",
               with_progress: bool = False) -> int:
        """Run ``fn()`` (or ``fn(report)`` when with_progress; report(fraction)) off the GUI thread."""
        with self._lock:
            token = self._runner.submit(channel, fn, busy, with_progress)
            self._callbacks[token] = (on_done, on_error)
        return token

    def _dropped(self, token: int) -> None:  # called inside submit: the lock is held
        self._callbacks.pop(token, None)

    def idle(self) -> bool:
        with self._lock:
            return self._runner.idle() and not self._callbacks

    def _deliver(self, done: JobDone) -> None:
        with self._lock:
            callbacks = self._callbacks.pop(done.token, None)
        if callbacks is None or not self._runner.is_latest(done.channel, done.token):
            return  # a newer job on this channel supersedes it
        on_done, on_error = callbacks
        if done.error:
            if on_error is not None:
                on_error(done.error)
        else:
            on_done(done.result)

    def stop(self) -> None:
        """Drop waiting jobs and ask the running one to stop at its next progress report."""
        with self._lock:
            self._runner.stop()
            self._callbacks.clear()

    def close(self, timeout: float = 5.0) -> None:
        self.stop()
        self._runner.close(timeout)
