"""AsyncRenderer: the main image's renders on a worker thread; the newest request wins.

One render runs at a time and at most one waits; a newer submit replaces the waiting one,
so a storm of slider events costs at most two renders behind the latest value.  Results
arrive through ``on_result`` on the worker thread (the GUI marshals them with a signal).
It is engine.jobs.NewestWinsRunner with one channel; ``renderer`` may be swapped (a device
switch) between requests.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

from ganstudio.engine.jobs import JobDone, NewestWinsRunner
from ganstudio.engine.renderer import Renderer, RenderResult
from ganstudio.engine.state import RenderState

_CHANNEL = "render"


class AsyncRenderer:
    def __init__(self, renderer: Renderer, on_result: Callable[[RenderResult], None]):
        self.renderer = renderer
        self.on_result = on_result
        self._runner = NewestWinsRunner("ganstudio-render", self._deliver)

    def submit(self, state: RenderState, seeds: Optional[Sequence[int]] = None, capture: Sequence[str] = ()) -> int:
        """Queue a render (of the state at each of ``seeds`` as one batch when given), replacing any queued one;
        returns its request id.  ``capture`` names what the result also carries (see Renderer.render)."""
        seeds = None if seeds is None else tuple(int(s) for s in seeds)
        capture = tuple(capture)
        if capture:
            return self._runner.submit(_CHANNEL, lambda: self.renderer.render(state, seeds, capture=capture))
        return self._runner.submit(_CHANNEL, lambda: self.renderer.render(state, seeds))

    def submit_batch(self, states: Sequence[RenderState]) -> int:
        states = list(states)
        return self._runner.submit(_CHANNEL, lambda: self.renderer.render_batch(states))

    def _deliver(self, done: JobDone) -> None:
        res = done.result
        if res is None:  # render() never raises; a broken renderer object might
            res = RenderResult(None, error=done.error)
        res.request_id = done.token
        self.on_result(res)

    @property
    def queued(self) -> int:
        return self._runner.queued

    @property
    def in_flight(self) -> int:
        return self._runner.in_flight

    @property
    def max_in_flight(self) -> int:
        return self._runner.max_in_flight

    @property
    def dropped(self) -> int:
        return self._runner.dropped

    @property
    def completed(self) -> int:
        return self._runner.completed

    def idle(self) -> bool:
        return self._runner.idle()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until nothing is queued or running (tests and the CLI)."""
        return self._runner.wait_idle(timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Drop the queued render and wait up to ``timeout`` s for the running one."""
        self._runner.close(timeout)
