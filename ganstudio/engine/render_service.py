"""The render service (no Qt): owns the renderer and the main image's worker, switches device and precision.

Panels and the window render only through it: the main image with ``submit(state)`` (newest wins,
results to ``on_image`` on the worker thread), previews and computations with ``render``,
``render_batch``, ``latents`` and ``directions`` from their jobs, and what a panel needs to
see beside the pixels (attention maps) as ``capture=`` in the RenderResult, never by taking the
renderer's lock or reading the network.  ``switch`` replaces the renderer (another device or
precision) only once the open model has loaded there; until then rendering goes on as before,
and a result of the replaced renderer still in flight is dropped.  This is where the priorities
between the main image and previews belong (issue 17).
"""
from __future__ import annotations

import threading
from typing import Callable, Optional, Sequence

import torch

from ganstudio.engine.jobs import JobDone, NewestWinsRunner
from ganstudio.engine.renderer import ModelInfo, Renderer, RenderResult
from ganstudio.engine.state import RenderState

_MAIN = "main"


class RenderService:
    def __init__(self, renderer: Renderer, on_image: Callable[[RenderResult], None]):
        self._renderer = renderer
        self._generation = 0  # bumped by each switch: results of an older renderer are dropped
        self._swap = threading.Lock()
        self._on_image = on_image
        self.worker = NewestWinsRunner("ganstudio-render", self._deliver)

    # -- what renders ------------------------------------------------------------------------
    @property
    def renderer(self) -> Renderer:
        return self._renderer

    @property
    def device(self) -> torch.device:
        return self._renderer.device

    @property
    def precision(self) -> str:
        return self._renderer.precision

    def _current(self) -> tuple[Renderer, int]:
        with self._swap:
            return self._renderer, self._generation

    # -- the main image -----------------------------------------------------------------------
    def submit(self, state: RenderState, capture: Sequence[str] = ()) -> int:
        """Render ``state`` as the main image, replacing a request still waiting; returns its id."""
        capture = tuple(capture)

        def job():
            renderer, generation = self._current()
            return generation, renderer.render(state, capture=capture) if capture else renderer.render(state)
        return self.worker.submit(_MAIN, job)

    def _deliver(self, done: JobDone) -> None:
        if done.result is None:
            return
        generation, res = done.result
        if generation != self._generation:
            return  # rendered by the renderer a switch replaced
        res.request_id = done.token
        self._on_image(res)

    # -- previews and computations (called from jobs, off the GUI thread) ------------------------
    def render(self, state: RenderState, seeds: Optional[Sequence[int]] = None,
               capture: Sequence[str] = ()) -> RenderResult:
        renderer = self._current()[0]
        return renderer.render(state, seeds, capture=capture) if capture else renderer.render(state, seeds)

    def render_batch(self, states: Sequence[RenderState], raw: bool = False) -> RenderResult:
        renderer = self._current()[0]
        return renderer.render_batch(states, raw=True) if raw else renderer.render_batch(states)

    def latents(self, state: RenderState):
        return self._current()[0].latents(state)

    def directions(self, key: str, method: str, k: int = 20) -> torch.Tensor:
        return self._current()[0].directions(key, method, k)

    def cached_directions(self, key: str, method: str, k: int = 20) -> int:
        return self._current()[0].cached_directions(key, method, k)

    def encode(self, key: str, pixels):
        """(mu, logvar) of an image under the model's encoder (see Renderer.encode)."""
        return self._current()[0].encode(key, pixels)

    def load(self, key: str) -> ModelInfo:
        return self._current()[0].load(key)

    # -- device and precision -------------------------------------------------------------------
    def switch(self, renderer: Renderer, key: str = "") -> Optional[ModelInfo]:
        """Render with ``renderer`` from now on, once ``key`` (the open model, if any) has loaded on it.

        Slow (a load): call it from a job.  Raises what the load raises, and then nothing changes.
        """
        info = renderer.load(key) if key else None
        with self._swap:
            self._renderer = renderer
            self._generation += 1
        return info

    def close(self, timeout: float = 5.0) -> None:
        """Drop the waiting render and wait up to ``timeout`` s for the running one."""
        self.worker.close(timeout)
