"""The one newest-wins runner (no Qt): a worker thread that runs jobs by channel, the newest of each first come.

A channel keeps only its newest job: a job submitted while an older one of its channel still
waits replaces it (a slider storm costs at most one render behind the latest value).  Jobs of
different channels run in the order submitted.  A finished job is handed to ``deliver`` on the
worker thread, with ``latest`` telling whether a newer job of its channel was submitted since;
the main image (engine.worker.AsyncRenderer) and the window's background jobs (gui.jobs) are
both this runner, with their own thread each, so a long grid never queues the main image.
"""
from __future__ import annotations

import threading
import traceback
from collections import OrderedDict
from typing import Any, Callable, NamedTuple, Optional


class JobCancelled(Exception):
    """Raised inside a job's progress report once the runner is stopping (or by the render service inside
    a preview job that a newer job of its channel has superseded)."""


_running = threading.local()  # the job this thread runs now: (runner, channel, token)


def current_job_superseded() -> bool:
    """Inside a job of a NewestWinsRunner: whether a newer job of its channel was submitted since it started,
    or the runner is stopping (its result will be dropped either way, so it may stop).  False outside a job."""
    job = getattr(_running, "job", None)
    return job is not None and (job[0]._closed or not job[0].is_latest(job[1], job[2]))


class JobDone(NamedTuple):
    channel: str
    token: int
    result: Any
    error: str  # "" on success: the exception's text otherwise (jobs never raise into the runner)
    latest: bool  # no newer job of this channel was submitted while it ran


class NewestWinsRunner:
    def __init__(self, name: str, deliver: Callable[[JobDone], None],
                 on_busy: Optional[Callable[[str], None]] = None,
                 on_progress: Optional[Callable[[str, float], None]] = None,
                 on_drop: Optional[Callable[[int], None]] = None):
        """``deliver(JobDone)`` on the worker thread after each job; ``on_busy(text)`` before a job given a busy
        text and ``on_busy("")`` after it; ``on_progress(channel, fraction)``; ``on_drop(token)`` for a job
        replaced before it ran (it is never delivered)."""
        self._deliver, self._on_busy, self._on_progress, self._on_drop = deliver, on_busy, on_progress, on_drop
        self._cond = threading.Condition()
        self._pending: "OrderedDict[str, tuple]" = OrderedDict()  # channel -> (token, fn, busy, with_progress)
        self._latest: dict[str, int] = {}
        self._token = 0
        self.in_flight = 0
        self.max_in_flight = 0  # for tests: never above 1
        self.dropped = 0  # jobs replaced before they ran
        self.completed = 0
        self._closed = False
        import torch
        self._threads = torch.get_num_threads()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, channel: str, fn: Callable[..., Any], busy: str = "", with_progress: bool = False) -> int:
        """Queue ``fn()`` (``fn(report)`` with progress; report(fraction)) on ``channel``, replacing its waiting job."""
        with self._cond:
            self._token += 1
            self._latest[channel] = self._token
            old = self._pending.pop(channel, None)
            if old is not None:
                self.dropped += 1
                if self._on_drop is not None:
                    self._on_drop(old[0])
            self._pending[channel] = (self._token, fn, busy, with_progress)
            self._cond.notify_all()
            return self._token

    def is_latest(self, channel: str, token: int) -> bool:
        with self._cond:
            return self._latest.get(channel) == token

    @property
    def queued(self) -> int:
        return len(self._pending)

    def idle(self) -> bool:
        with self._cond:
            return not self._pending and self.in_flight == 0

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until nothing waits or runs (tests and the command line)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending and self.in_flight == 0, timeout)

    def _run(self) -> None:
        import torch

        from ganstudio.engine.process import render_threads
        # OpenMP's thread count is per calling thread: set it here, from what the process chose at start-up
        # (engine.process; it may change with a device switch, so it is checked before each job).
        threads = self._threads
        torch.set_num_threads(threads)
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending or self._closed)
                if self._closed:
                    return
                channel, (token, fn, busy, with_progress) = self._pending.popitem(last=False)
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
            if render_threads() and render_threads() != threads:
                threads = render_threads()
                torch.set_num_threads(threads)
            _running.job = (self, channel, token)
            try:
                done = self._call(channel, token, fn, busy, with_progress)
            finally:
                _running.job = None
            try:
                self._deliver(done._replace(latest=self.is_latest(channel, token)))
            except Exception:  # a broken consumer (or a window already gone) must not kill the worker
                pass
            finally:
                with self._cond:
                    self.in_flight -= 1
                    self.completed += 1
                    self._cond.notify_all()

    def _call(self, channel: str, token: int, fn, busy: str, with_progress: bool) -> JobDone:
        if busy and self._on_busy is not None:
            self._on_busy(busy)
        result, error = None, ""
        try:
            result = fn(lambda f: self._report(channel, f)) if with_progress else fn()
        except Exception as e:  # reported to the submitter, never raised into the worker
            error = str(e) or type(e).__name__ + "\n" + traceback.format_exc(limit=3)
        finally:
            if busy and self._on_busy is not None:
                try:
                    self._on_busy("")
                except Exception:
                    pass
        return JobDone(channel, token, result, error, True)

    def _report(self, channel: str, fraction) -> None:
        if self._closed:  # closing: a long export stops at its next step
            raise JobCancelled("cancelled: the window closed")
        if self._on_progress is not None:
            self._on_progress(channel, float(fraction))

    def stop(self) -> None:
        """Drop waiting jobs and ask the running one to stop at its next progress report."""
        with self._cond:
            self._closed = True
            self._pending.clear()
            self._cond.notify_all()

    def close(self, timeout: float = 5.0) -> None:
        """Stop, then wait up to ``timeout`` s for the running job."""
        self.stop()
        self._thread.join(timeout=max(timeout, 0.0))
