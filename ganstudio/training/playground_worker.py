"""The 2-D playground trained on a worker thread; the window only draws the snapshots it publishes.

The worker thread owns the :class:`~ganstudio.training.playground.Playground`: every change asked for
(play / pause, one step, reset, the loss, the learning rates, the distribution, the drawn points, a speed
limit) is queued as a command and applied between two updates.  It publishes a :class:`Snapshot` (numpy
arrays, made on the worker thread) as soon as a command has changed something while paused, and while
playing at most ``FPS`` times a second and only once the previous snapshot has been taken, so a slow
viewer costs no frames it cannot draw; between snapshots it keeps training.  The thread starts with the
first command and ends when stopped or after ``IDLE_EXIT_S`` with nothing to do.  Nothing here knows Qt.
"""
from __future__ import annotations

import atexit
import os
import threading
import time
import weakref
from dataclasses import replace
from typing import Callable, NamedTuple, Optional, Sequence

import numpy as np
import torch

from ganstudio.training.playground import (BOUNDS, DISTRIBUTIONS, LOSSES, MAX_DRAWN, Playground, PlaygroundConfig,
                                           check_config, check_points)

FPS = 30.0  # snapshots a second at most while playing: the drawing's cost stays bounded, training gets the rest
YIELD_S = 0.03  # after a snapshot is taken, training waits this long at most for drawn() (see take)
THREAD_NICE = 5  # the worker thread's nice value above the process's (Linux): the GUI thread is served first
IDLE_EXIT_S = 2.0  # the thread ends after this long with nothing to do (the next command starts another)
THREAD_NAME = "ganstudio-playground"
NOT_READY = "No points drawn yet: click or drag on the plot to add some"
_NO_ROWS = np.empty((0, 3))
_workers: "weakref.WeakSet[PlaygroundWorker]" = weakref.WeakSet()  # those whose thread has been started


class Snapshot(NamedTuple):
    """One published state of the playground: everything the window draws, as numpy arrays."""
    epoch: int  # counts resets: the loss history of a new epoch starts over
    steps: int  # updates made since the last reset
    playing: bool
    ready: bool  # False while the drawn distribution has no points
    config: PlaygroundConfig
    lrs: tuple[float, float]  # the learning rates G's and D's optimizers use now
    rate: float  # the speed limit, updates a second (0: none)
    real: np.ndarray  # [n, 2] real points shown; the same object while the real set is unchanged
    drawn: np.ndarray  # [m, 2] the user's points; the same object while unchanged
    fake: np.ndarray  # [n, 2] generated from the playground's fixed z
    heat: np.ndarray  # [res, res] D's output on a grid over BOUNDS; row = y, column = x
    heat_levels: tuple[float, float]
    grad: np.ndarray  # [n, 2] where G's loss pushes each generated point
    rows: np.ndarray  # [k, 3] (update, D loss, G loss) of the updates made since the previous snapshot taken
    error: str  # why the last refused command was refused, "" if none


class PlaygroundWorker:
    """Trains a :class:`Playground` on its own thread; every public method may be called from any thread.

    ``notify()`` is called on the worker thread after each snapshot published (a GUI turns it into a
    queued signal and calls :meth:`take`).  The worker thread runs torch on one thread: on the loaded
    2-core machine its tiny matrix products on 2 threads waited for each other at every op (1.1-22.5
    updates/s against 54-78 on one; ``benchmarks/playground.py``).  OpenMP's count is per thread, so the
    explorer's render threads (which set their own) keep theirs; torch's default for threads started
    later is put back when the worker ends.
    """

    def __init__(self, config: PlaygroundConfig = PlaygroundConfig(), drawn: Sequence = (), heat_res: int = 64,
                 notify: Optional[Callable[[], None]] = None):
        self._config0 = check_config(config)
        self._drawn0 = drawn
        self.heat_res, self.notify = int(heat_res), notify
        self._cond = threading.Condition()
        self._commands: list[tuple[Callable, tuple]] = []  # guarded by _cond, like the four below
        self._thread: Optional[threading.Thread] = None
        self._stop = False
        self._latest: Optional[Snapshot] = None  # published, not yet taken
        self._pending_rows: list[np.ndarray] = []  # rows of the snapshots published since the last take
        self._viewing_since: Optional[float] = None  # a snapshot taken and not yet drawn() since then
        self.steps = 0  # updates since the last reset (written by the worker thread; an int is safe to read)
        # The worker thread's own state (no lock: only it reads or writes these)
        self._pg: Optional[Playground] = None
        self._playing, self._rate, self._epoch, self._error = False, 0.0, 0, ""
        self._changed = True  # something to publish
        self._last_pub = self._last_step = 0.0
        self._unpublished: list = []  # StepStats since the last snapshot published
        self._arrays: dict[str, tuple] = {}  # name -> (tensor, its numpy array): unchanged sets keep their array

    # -- commands (any thread) -----------------------------------------------------------------------
    def play(self, on: bool = True) -> None:
        self._submit(self._do_play, bool(on))

    def step(self, n: int = 1) -> None:
        """``n`` updates (D, then G), whether playing or not."""
        self._submit(self._do_step, max(1, int(n)))

    def reset(self, seed: Optional[int] = None) -> None:
        """New networks from ``seed`` (default: the current one); the loss history starts over."""
        if seed is not None:
            check_config(replace(PlaygroundConfig(), seed=int(seed)))
        self._submit(self._do_reset, seed)

    def set_loss(self, loss: str) -> None:
        if loss not in LOSSES:
            raise ValueError(f"unknown playground loss {loss!r}; known: {', '.join(LOSSES)}")
        self._submit(lambda pg: pg.set_loss(loss))

    def set_lr(self, lr_g: Optional[float] = None, lr_d: Optional[float] = None) -> None:
        check_config(replace(PlaygroundConfig(), **{k: float(v) for k, v in (("lr_g", lr_g), ("lr_d", lr_d))
                                                    if v is not None}))
        self._submit(lambda pg: pg.set_lr(lr_g=lr_g, lr_d=lr_d))

    def set_distribution(self, name: str) -> None:
        if name not in DISTRIBUTIONS:
            raise ValueError(f"unknown distribution {name!r}; known: {', '.join(DISTRIBUTIONS)}")
        self._submit(lambda pg: pg.set_distribution(name))

    def set_drawn(self, points: Sequence) -> None:
        """Replace the user-drawn set (an empty list clears it); a bad set is refused in the next snapshot's error."""
        try:
            pts = np.array(points, dtype=np.float32) if len(points) else np.zeros((0, 2), np.float32)
        except (TypeError, ValueError):
            raise ValueError("drawn points must be a list of (x, y) pairs") from None
        self._submit(lambda pg: pg.set_drawn(pts))

    def add_drawn(self, x: float, y: float) -> None:
        self._submit(self._do_add, float(x), float(y))

    def set_rate(self, per_second: float) -> None:
        """At most this many updates a second while playing; 0: as many as the CPU allows."""
        if not per_second >= 0:
            raise ValueError(f"the update rate must be >= 0, got {per_second!r}")
        self._submit(self._do_rate, float(per_second))

    def refresh(self) -> None:
        """Publish a snapshot of the current state (the first picture)."""
        self._submit(lambda pg: None)

    # -- the viewer's side (any thread) --------------------------------------------------------------
    def take(self) -> Optional[Snapshot]:
        """The newest snapshot not yet taken (its rows: every update since the previous take), or None.

        Training then pauses until :meth:`drawn` (or ``YIELD_S``): the viewer's drawing is Python too, and
        sharing the interpreter lock with the updates made a 5-10 ms frame take 25-35 ms of the event loop."""
        with self._cond:
            snap, self._latest = self._latest, None
            rows, self._pending_rows = self._pending_rows, []
            if snap is not None:
                self._viewing_since = time.monotonic()
            self._cond.notify_all()  # a playing worker waits for this before its next snapshot
        if snap is None:
            return None
        return snap._replace(rows=np.concatenate(rows) if rows else _NO_ROWS)

    def drawn(self) -> None:
        """The viewer has drawn the snapshot it took: training goes on."""
        with self._cond:
            self._viewing_since = None
            self._cond.notify_all()

    def is_alive(self) -> bool:
        with self._cond:
            return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> bool:
        """End the thread (commands still queued wait for the next one); True once it has ended."""
        with self._cond:
            thread, self._stop = self._thread, True
            self._cond.notify_all()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        return thread is None or not thread.is_alive()

    def _submit(self, fn: Callable, *args) -> None:
        with self._cond:
            self._commands.append((fn, args))
            self._stop = False  # a command after stop() wants the worker back
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
                self._thread.start()
                _workers.add(self)
            self._cond.notify_all()

    # -- the worker thread ---------------------------------------------------------------------------
    def _run(self) -> None:
        default = torch.get_num_threads()  # a new thread starts with torch's process default
        torch.set_num_threads(1)  # this thread's OpenMP count (see the class docstring)
        _lower_priority()
        while True:
            commands = self._wait_for_work()
            if commands is None:
                if self._end(default):
                    return
                continue
            try:
                self._iterate(commands)
            except Exception as e:  # noqa: BLE001 - a failed update must not end the thread unseen
                self._playing, self._error, self._changed = False, f"training stopped: {e}", True
                try:
                    self._publish()
                except Exception:  # noqa: BLE001 - nothing to draw: wait for the next command
                    self._changed = False

    def _iterate(self, commands: list) -> None:
        if self._pg is None:
            self._pg = Playground(self._config0, self._drawn0)
        for fn, args in commands:
            self._apply(fn, args)
        if self._step_due(time.monotonic()):
            self._train(1)
        if self._publish_due(time.monotonic()):
            self._publish()

    def _wait_for_work(self) -> Optional[list]:
        """Block until there is something to do: the commands queued (maybe none), or None to end the thread."""
        idle_since = None
        with self._cond:
            while True:
                if self._stop:
                    return None
                if self._commands:
                    commands, self._commands = self._commands, []
                    return commands
                wait = self._wait_s(time.monotonic())
                if wait is not None and wait <= 0:
                    return []
                if wait is None:
                    idle_since = idle_since or time.monotonic()
                    wait = IDLE_EXIT_S - (time.monotonic() - idle_since)
                    if wait <= 0:
                        return None
                self._cond.wait(wait)

    def _end(self, default_threads: int) -> bool:
        """End the thread unless a command came since it decided to (then False: it goes on).  Locked, so
        no new thread starts before this one has put torch's default back."""
        with self._cond:
            if self._commands and not self._stop:
                return False
            torch.set_num_threads(default_threads)
            self._thread = None
            return True

    def _wait_s(self, now: float) -> Optional[float]:
        """Seconds until the next update or snapshot is due (<= 0: now), None when neither is (called locked)."""
        waits = []
        if self._pg is not None and self._playing and self._pg.ready:
            waits.append(max(self._last_step + 1.0 / self._rate - now if self._rate > 0 else 0.0,
                             self._yield_s(now)))
        if self._changed and (not self._playing or self._latest is None):
            waits.append(self._last_pub + 1.0 / FPS - now if self._playing else 0.0)
        return min(waits) if waits else None

    def _yield_s(self, now: float) -> float:
        """How much longer training waits for the viewer to draw (called locked)."""
        since = self._viewing_since
        return 0.0 if since is None else since + YIELD_S - now

    def _step_due(self, now: float) -> bool:
        if not (self._playing and self._pg.ready):
            return False
        with self._cond:
            if self._yield_s(now) > 0:
                return False
        return self._rate <= 0 or now - self._last_step >= 1.0 / self._rate

    def _publish_due(self, now: float) -> bool:
        if not self._changed:
            return False
        if not self._playing:
            return True
        with self._cond:
            taken = self._latest is None
        return taken and now - self._last_pub >= 1.0 / FPS

    def _apply(self, fn: Callable, args: tuple) -> None:
        try:
            fn(self._pg, *args)
        except ValueError as e:
            self._error = str(e)
        self._changed = True

    def _do_play(self, pg: Playground, on: bool) -> None:
        self._playing = on

    def _do_step(self, pg: Playground, n: int) -> None:
        if not pg.ready:
            raise ValueError(NOT_READY)
        self._train(n)

    def _do_reset(self, pg: Playground, seed: Optional[int]) -> None:
        pg.reset(seed)
        self._epoch += 1
        self._unpublished = []
        self.steps = 0

    def _do_add(self, pg: Playground, x: float, y: float) -> None:
        lo, hi = BOUNDS
        if not (lo <= x <= hi and lo <= y <= hi):
            raise ValueError(f"a drawn point must lie in the plotted square [{lo}, {hi}]^2, got ({x:g}, {y:g})")
        if len(pg.drawn) >= MAX_DRAWN:
            raise ValueError(f"At most {MAX_DRAWN} drawn points: clear them to draw more")
        pg.add_drawn(x, y)
        if pg.config.distribution != "drawn":
            pg.set_distribution("drawn")

    def _do_rate(self, pg: Playground, per_second: float) -> None:
        self._rate = per_second

    def _train(self, n: int) -> None:
        for i in range(n):
            if i and self._stop:  # stop() (a closed window) ends a long step(n) between two updates
                break
            self._unpublished.append(self._pg.step())
        self.steps = len(self._pg.history)
        self._last_step = time.monotonic()
        self._changed = True

    def _array(self, name: str, t: torch.Tensor) -> np.ndarray:
        """``t`` as numpy; the same array as last time while the playground keeps the same tensor."""
        old = self._arrays.get(name)
        if old is None or old[0] is not t:
            self._arrays[name] = old = (t, t.numpy())
        return old[1]

    def _publish(self) -> None:
        start, pg = time.monotonic(), self._pg
        f = pg.frame(self.heat_res)
        rows = np.array(self._unpublished, dtype=float).reshape(-1, 3)
        self._unpublished = []
        lrs = (pg.opt_g.param_groups[0]["lr"], pg.opt_d.param_groups[0]["lr"])
        snap = Snapshot(self._epoch, len(pg.history), self._playing, pg.ready, pg.config, lrs, self._rate,
                        self._array("real", f.real), self._array("drawn", pg.drawn), f.fake.numpy(), f.heat.numpy(),
                        f.heat_levels, f.grad.numpy(), _NO_ROWS, self._error)
        with self._cond:
            if self._latest is not None and self._latest.epoch != snap.epoch:
                self._pending_rows = []  # a reset since the untaken snapshot: its rows are history no longer
            self._pending_rows.append(rows)
            self._latest = snap
        self._changed, self._error = False, ""  # an error is told once
        self._last_pub = start  # the frame interval counts from here: the frame's own cost is inside it
        if self.notify is not None:
            self.notify()


def _lower_priority() -> None:
    """The calling thread yields the CPU to the GUI thread: on Linux a thread has its own nice value."""
    if THREAD_NICE and hasattr(os, "setpriority") and hasattr(threading, "get_native_id"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(),
                           os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) + THREAD_NICE)
        except OSError:  # not allowed here: the thread keeps the process's priority
            pass


@atexit.register
def _stop_all() -> None:
    """At interpreter exit, end the threads still running: a daemon thread killed inside torch aborts the process."""
    for worker in list(_workers):
        worker.stop(timeout=2.0)
