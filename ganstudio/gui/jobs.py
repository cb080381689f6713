"""Background work that is not the main render: grids, directions, model loading, exports.

One worker thread; each channel keeps only its newest job (a grid re-requested while an
older one waits replaces it).  Results come back on the GUI thread through a queued
signal, and only the newest job of a channel delivers its result.
"""
from __future__ import annotations

import threading
import traceback
from collections import OrderedDict
from typing import Any, Callable, Optional

from PySide6.QtCore import QObject, Qt, Signal


class JobRunner(QObject):
    busy_changed = Signal(str)  # text of the running long job, "" when none
    progress = Signal(str, float)  # channel, fraction in [0, 1]
    _finished = Signal(object)

    def __init__(self, parent: Optional[QObject] = None):
        super().__init__(parent)
        self._cond = threading.Condition()
        self._pending: "OrderedDict[str, tuple]" = OrderedDict()
        self._latest: dict[str, int] = {}
        self._callbacks: dict[int, tuple] = {}
        self._token = 0
        self._running = 0
        self._closed = False
        self._finished.connect(self._deliver, Qt.QueuedConnection)
        import torch
        self._threads = torch.get_num_threads()
        self._thread = threading.Thread(target=self._run, name="ganstudio-jobs", daemon=True)
        self._thread.start()

    def submit(self, channel: str, fn: Callable[..., Any], on_done: Callable[[Any], None],
               on_error: Optional[Callable[[str], None]] = None, busy: str = "",
               with_progress: bool = False) -> int:
        """Run ``fn()`` (or ``fn(report)`` when with_progress; report(fraction)) off the GUI thread."""
        with self._cond:
            self._token += 1
            token = self._token
            self._latest[channel] = token
            self._callbacks[token] = (on_done, on_error)
            old = self._pending.pop(channel, None)
            if old is not None:
                self._callbacks.pop(old[0], None)
            self._pending[channel] = (token, fn, busy, with_progress)
            self._cond.notify()
        return token

    def idle(self) -> bool:
        with self._cond:
            return not self._pending and not self._running and not self._callbacks

    def _run(self) -> None:
        import torch
        torch.set_num_threads(self._threads)  # OpenMP's thread count is per thread (see engine/worker.py)
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending or self._closed)
                if self._closed:
                    return
                channel, (token, fn, busy, with_progress) = self._pending.popitem(last=False)
                self._running += 1
            if busy:
                self.busy_changed.emit(busy)
            result, error = None, ""
            try:
                if with_progress:
                    result = fn(lambda f, ch=channel: self._report(ch, f))
                else:
                    result = fn()
            except Exception as e:  # reported to the panel, never raised into the worker
                error = str(e) or type(e).__name__
                if not str(e):
                    error += "\n" + traceback.format_exc(limit=3)
            finally:
                with self._cond:
                    self._running -= 1
            try:
                if busy:
                    self.busy_changed.emit("")
                self._finished.emit((channel, token, result, error))
            except RuntimeError:  # the runner's Qt object is gone (the window closed mid-job)
                return

    def _deliver(self, item) -> None:
        channel, token, result, error = item
        with self._cond:
            callbacks = self._callbacks.pop(token, None)
            latest = self._latest.get(channel) == token
        if callbacks is None or not latest:
            return  # a newer job on this channel supersedes it
        on_done, on_error = callbacks
        if error:
            if on_error is not None:
                on_error(error)
        else:
            on_done(result)

    def _report(self, channel: str, fraction) -> None:
        if self._closed:  # the window is closing: a long export stops at its next step
            raise JobCancelled("cancelled: the window closed")
        self.progress.emit(channel, float(fraction))

    def stop(self) -> None:
        """Drop waiting jobs and ask the running one to stop at its next progress report."""
        with self._cond:
            self._closed = True
            self._pending.clear()
            self._cond.notify_all()

    def close(self, timeout: float = 5.0) -> None:
        self.stop()
        self._thread.join(timeout=max(timeout, 0.0))


class JobCancelled(Exception):
    """Raised inside a job's progress report once the runner is closing."""
