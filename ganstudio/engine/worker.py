"""AsyncRenderer: renders on a worker thread; the newest request wins.

One render runs at a time and at most one waits; a newer submit replaces the waiting one,
so a storm of slider events costs at most two renders behind the latest value.  Results
arrive through ``on_result`` on the worker thread (the GUI marshals them with a signal).
"""
from __future__ import annotations

import threading
from typing import Callable, Optional, Sequence

from ganstudio.engine.renderer import Renderer, RenderResult
from ganstudio.engine.state import RenderState


class AsyncRenderer:
    def __init__(self, renderer: Renderer, on_result: Callable[[RenderResult], None]):
        self.renderer = renderer
        self.on_result = on_result
        self._cond = threading.Condition()
        self._queued: Optional[tuple[int, RenderState, Optional[tuple], bool]] = None
        self._next_id = 0
        self.in_flight = 0
        self.max_in_flight = 0  # for tests: never above 1
        self.dropped = 0  # requests replaced before they ran
        self.completed = 0
        self._closed = False
        import torch
        self._threads = torch.get_num_threads()
        self._thread = threading.Thread(target=self._run, name="ganstudio-render", daemon=True)
        self._thread.start()

    def submit(self, state: RenderState, seeds: Optional[Sequence[int]] = None, batch: bool = False) -> int:
        """Queue a render, replacing any queued one; returns its request id.

        ``seeds`` renders the state at each seed as one batch; ``batch=True`` with ``seeds=None``
        is not used.  Use ``submit_batch`` for a list of distinct states.
        """
        return self._put(state, None if seeds is None else tuple(int(s) for s in seeds), False)

    def submit_batch(self, states: Sequence[RenderState]) -> int:
        return self._put(tuple(states), None, True)

    def _put(self, payload, seeds, is_batch) -> int:
        with self._cond:
            self._next_id += 1
            if self._queued is not None:
                self.dropped += 1
            self._queued = (self._next_id, payload, seeds, is_batch)
            self._cond.notify()
            return self._next_id

    @property
    def queued(self) -> int:
        return 0 if self._queued is None else 1

    def idle(self) -> bool:
        with self._cond:
            return self._queued is None and self.in_flight == 0

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until nothing is queued or running (tests and the CLI)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._queued is None and self.in_flight == 0, timeout)

    def _run(self) -> None:
        import torch
        # OpenMP's thread count is per calling thread: without this the worker's GEMMs use every
        # core, and on a busy CPU their barrier waits cost milliseconds per render.
        torch.set_num_threads(self._threads)
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queued is not None or self._closed)
                if self._closed:
                    return
                rid, payload, seeds, is_batch = self._queued
                self._queued = None
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                if is_batch:
                    res = self.renderer.render_batch(list(payload))
                else:
                    res = self.renderer.render(payload, seeds)
                res.request_id = rid
                try:
                    self.on_result(res)
                except Exception:  # a broken consumer must not kill the worker
                    pass
            finally:
                with self._cond:
                    self.in_flight -= 1
                    self.completed += 1
                    self._cond.notify_all()

    def close(self, timeout: float = 5.0) -> None:
        """Drop the queued render and wait up to ``timeout`` s for the running one."""
        with self._cond:
            self._closed = True
            self._queued = None
            self._cond.notify_all()
        self._thread.join(timeout=max(timeout, 0.0))
