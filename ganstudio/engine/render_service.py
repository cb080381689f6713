"""The render service (no Qt): owns the renderer and the main image's worker, switches device and precision.

Panels and the window render only through it: the main image with ``submit(state)`` (newest wins,
results to ``on_image`` on the worker thread), previews and computations with ``render``,
``render_batch``, ``latents`` and ``directions`` from their jobs, and what a panel needs to
see beside the pixels (attention maps) as ``capture=`` in the RenderResult, never by taking the
renderer's lock or reading the network.  ``switch`` replaces the renderer (another device or
precision) only once the open model has loaded there; until then rendering goes on as before,
and a result of the replaced renderer still in flight is dropped.

Priorities (issue 17): the main image first.  A preview (``render``, ``render_batch``, ``latents``,
``encode``, ``directions`` called from a job) waits while a main request is queued or rendering and
while the user drags; it renders in pieces that each cost at most about one main render (so the
main image never waits behind more than one), and stops between pieces once a newer job of its
channel (its owner: one panel's row or grid) has been submitted, its result being stale.

Dragging: a main request that comes within DRAG_GAP_S of the previous one is part of a drag (60 Hz
slider, seed or pad events are 17 ms apart); DRAG_GAP_S without one ends it.  While dragging, a
model whose full render takes longer than FRAME_BUDGET_MS and that can stop synthesis early
(``Capabilities.preview_resolutions``: StyleGAN2's skip generator) renders at a lower resolution
(``choose_preview``: the largest readable one that fits the budget, else the largest that keeps 12
frames a second) and shows it upsampled (``RenderResult.preview``); the full image follows as soon
as the drag pauses.  Every other model renders in full, newest wins.  The costs it chooses from are
measured once per model right after its first image (``_calibrate``) and then kept up to date by
every main render (the median of the last few of each size).
"""
from __future__ import annotations

import statistics
import threading
import time
from collections import deque
from typing import Callable, Optional, Sequence

import numpy as np
import torch

from ganstudio.engine.jobs import JobCancelled, JobDone, NewestWinsRunner, current_job_superseded
from ganstudio.engine.renderer import ModelInfo, Renderer, RenderResult
from ganstudio.engine.state import RenderState
from ganstudio.latent.library import MAX_DIRECTIONS

_MAIN = "main"
# A drag's events come every ~17 ms (60 Hz); a hand that stops for 0.1 s has paused.  Longer would add to
# the wait for the full image after a drag (issue 17: within 1.5x one full render), shorter would end a
# drag between two events of a slow mouse.
DRAG_GAP_S = 0.1
# 50 ms for a dragged frame: 20 previews/s, twice the 10/s a drag must show, leaving the other half of
# each frame to the GUI thread, the upsampling and a preview piece that may hold the device.  (The
# 1/60 s of a display frame is out of reach for any 256 px StyleGAN2 layer stack on a 2-core CPU.)
FRAME_BUDGET_MS = 50.0
# A model whose full image renders faster than this on every core renders on one thread: the other
# threads' start-up and the GUI thread competing for the same 2 cores cost more than they save
# (fmnist-stylegan2, 9 ms alone on 2 threads: 21 ms a frame in the window, 43 frames/s while dragging).
ONE_THREAD_BELOW_MS = 30.0
# When no readable preview fits FRAME_BUDGET_MS, a drag takes slower frames, down to 12 a second (above
# the floor of 10), for a larger preview: on 2 cores at NVIDIA's paper256 widths only 4 px fits
# 50 ms, a blur of 16 colours, while 16 px, where a face or a shoe can be told, costs ~60-80 ms.
SLOWEST_FRAME_MS = 1000.0 / 12
# Previews smaller than this show colours rather than an image: worth slower frames to avoid.
READABLE_PX = 16
# The first render of a model pays one-time costs (kernel selection, allocation) that can be several
# times a warm render's: a model whose first render took less than this renders once more to be timed.
WARM_RERENDER_BELOW_MS = 200.0
_HISTORY = 5  # renders of each size whose median is the size's cost
# While a drag shows previews of a model whose full image has rendered within SLOWEST_FRAME_MS, every
# PROBE_EVERY-th frame renders in full: its time tells whether the full image fits again (a model judged
# over budget during a moment of load had otherwise kept previewing until drags ended; fmnist-stylegan2,
# 5.6 ms a render, showed 16 px previews for 111 of 296 dragged frames).
PROBE_EVERY = 12


def choose_preview(full_ms: float, costs: dict) -> int:
    """The resolution a dragged frame renders at, from measured ms per render ({resolution: ms} of the
    previews, ``full_ms`` of the full image); 0 renders the full image.

    The full image while it fits FRAME_BUDGET_MS; else the largest preview within the budget if it is
    readable (READABLE_PX); else the full image if it keeps SLOWEST_FRAME_MS; else the largest preview
    that does; else the smallest preview there is."""
    if full_ms <= FRAME_BUDGET_MS or not costs:
        return 0
    fits = [r for r, ms in costs.items() if ms <= FRAME_BUDGET_MS]
    if fits and max(fits) >= READABLE_PX:
        return max(fits)
    if full_ms <= SLOWEST_FRAME_MS:
        return 0
    slower = [r for r, ms in costs.items() if ms <= SLOWEST_FRAME_MS]
    return max(slower) if slower else min(costs)


class _Timing:
    """What one model costs on one renderer: recent full and preview render times, its thread count."""

    def __init__(self):
        self.calibrated = False
        self.full: deque = deque(maxlen=_HISTORY)
        self.previews: dict[int, deque] = {}
        self.threads = 0  # torch threads for its full main image (0: what the process chose)
        self.preview_threads = 0  # torch threads for its dragged previews (0: what the process chose)
        self.previews_in_row = 0  # dragged frames shown as previews since the last full one

    def record(self, res: RenderResult) -> None:
        times = self.previews.setdefault(res.preview, deque(maxlen=_HISTORY)) if res.preview else self.full
        times.append(res.render_ms)

    @property
    def full_ms(self) -> Optional[float]:
        return statistics.median(self.full) if self.full else None

    def preview(self) -> int:
        """The resolution of a dragged frame now (0: the full image; also before calibration).

        The full image is judged by its fastest recent render (one slow moment should not make a fast
        model preview), previews by their median; a run of previews is broken by a full probe now and
        then when the full image has ever been fast enough for a slow frame (PROBE_EVERY)."""
        if not self.calibrated or not self.full:
            return 0
        best_full = min(self.full)
        choice = choose_preview(best_full, {r: statistics.median(t) for r, t in self.previews.items() if t})
        self.previews_in_row = self.previews_in_row + 1 if choice else 0
        if choice and self.previews_in_row >= PROBE_EVERY and best_full <= SLOWEST_FRAME_MS:
            self.previews_in_row = 0
            return 0
        return choice


class RenderService:
    def __init__(self, renderer: Renderer, on_image: Callable[[RenderResult], None]):
        self._renderer = renderer
        self._generation = 0  # bumped by each switch: results of an older renderer are dropped
        self._swap = threading.Lock()
        self._on_image = on_image
        self._gate = threading.Condition()  # guards the fields below; previews wait on it for their turn
        self._main_outstanding = 0  # main and settle jobs queued or running: previews wait for them
        self._submits = 0  # main requests so far (a settle job renders only if none came after its own)
        self._last_submit = -1e9  # time.monotonic() of the last main request
        self._held = False  # hold(True): the user is dragging (set by a widget on press, cleared on release)
        self._released_at = -1e9  # time.monotonic() of the last hold(False) after a hold(True)
        self._closed = False
        self._timings: dict[tuple, _Timing] = {}  # (model, renderer generation) -> its render costs
        self.previews_waiting = 0  # previews blocked in wait_turn now (tests watch it)
        self.worker = NewestWinsRunner("ganstudio-render", self._deliver, on_drop=self._dropped)

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
        """Render ``state`` as the main image, replacing a request still waiting; returns its id.

        Part of a drag (see the module's docstring), it may render as a fast preview, shown at once; the
        same job then waits for the drag to pause and renders the full image, unless a newer request
        came (one main job queued at most, as before)."""
        capture, token = tuple(capture), []
        with self._gate:  # held across the runner's submit, so the job can read its token
            now = time.monotonic()
            dragging = self._held or now - self._last_submit < DRAG_GAP_S
            self._last_submit = now
            self._submits += 1
            number = self._submits
            self._main_outstanding += 1
            self._gate.notify_all()

            def job():
                renderer, generation = self._current()
                timing = self._timing((state.model, generation))
                if capture:
                    self._set_threads(timing)
                    return generation, renderer.render(state, capture=capture)
                preview = timing.preview() if dragging else 0
                self._set_threads(timing, preview=bool(preview))
                res = renderer.render(state, preview=preview) if preview else renderer.render(state)
                if res.error or res.model is None:
                    return generation, res
                if not res.preview:
                    if timing.calibrated:
                        timing.record(res)
                        return generation, res
                    # The model's first full image: shown, then its costs measured now, before panel
                    # previews start, so that a drag's first frame does not pay for the measurement.
                    self._show(generation, res, token[0])
                    self._calibrate(renderer, timing, state, res)
                    return None
                timing.record(res)
                self._show(generation, res, token[0])
                if not self._drag_paused(number):
                    return None  # a newer request renders instead
                self._set_threads(timing)
                res = renderer.render(state)
                if not res.error:
                    timing.record(res)
                return generation, res
            token.append(self.worker.submit(_MAIN, job))
        return token[0]

    def hold(self, dragging: bool) -> None:
        """Say the user is dragging (a slider pressed, a pad pressed) or has let go: while held, main
        requests may render as previews and panel previews wait; letting go renders the full image."""
        with self._gate:
            if self._held and not dragging:
                self._released_at = time.monotonic()
            self._held = bool(dragging)
            self._gate.notify_all()

    @property
    def dragging(self) -> bool:
        with self._gate:
            return self._held or time.monotonic() - self._last_submit < DRAG_GAP_S

    def _drag_paused(self, number: int) -> bool:
        """Wait until the drag pauses (True) or a newer main request comes (False)."""
        with self._gate:
            while True:
                if self._closed or self._submits != number:
                    return False
                quiet = time.monotonic() - self._last_submit
                # Released (no request since), or no request for a drag gap: the full image now.
                if not self._held and (quiet >= DRAG_GAP_S or self._released_at >= self._last_submit):
                    return True
                self._gate.wait(DRAG_GAP_S if self._held else DRAG_GAP_S - quiet)

    def _timing(self, key: tuple) -> _Timing:
        timing = self._timings.get(key)
        if timing is None:
            timing = self._timings[key] = _Timing()
        return timing

    def _set_threads(self, timing: _Timing, preview: bool = False) -> None:
        """The thread count ``_calibrate`` chose for the model's full image or for its previews (one for
        a model measured fast, ONE_THREAD_BELOW_MS, or faster on one), else what the process chose."""
        from ganstudio.engine.process import render_threads
        wanted = (timing.preview_threads if preview else timing.threads) or render_threads()
        if wanted and torch.get_num_threads() != wanted:
            torch.set_num_threads(wanted)

    def _calibrate(self, renderer: Renderer, timing: _Timing, state: RenderState, first: RenderResult) -> None:
        """Measure a model once, after its first image: a warm full render (on every core), its thread
        count (one where the render is quick or one thread is faster), and for a model over the frame
        budget what each preview costs, smallest first, until one costs more than the slowest frame a
        drag accepts (the probes cost about two such frames)."""
        full = first
        if first.render_ms < WARM_RERENDER_BELOW_MS:
            again = renderer.render(state)
            full = first if again.error else again
        faster, one = self._one_thread_faster(renderer, state, full)
        # Compared on the full image (``one``), the answer holds for it and for previews; compared on a
        # preview, for previews only: a 256 px StyleGAN2 whose 4 px preview was faster on one thread had
        # rendered its full image on one, 1026 ms a frame in the window against 605 ms on 2 cores.
        if full.render_ms < ONE_THREAD_BELOW_MS or (faster and one is not None):
            timing.threads = 1
        if faster or timing.threads == 1:
            timing.preview_threads = 1
        self._set_threads(timing)
        if timing.threads == 1 and one is not None:
            full = one  # the main image renders on one thread from now on: that is its cost
        timing.record(full)
        if full.render_ms > FRAME_BUDGET_MS:
            self._set_threads(timing, preview=True)
            for r in sorted(r for r in first.model.capabilities.preview_resolutions if r < first.model.resolution):
                res = renderer.render(state, preview=r)
                if res.error:
                    break
                timing.record(res)
                if res.render_ms > SLOWEST_FRAME_MS:
                    break
            self._set_threads(timing)
        timing.calibrated = True

    def _one_thread_faster(self, renderer: Renderer, state: RenderState,
                           full: RenderResult) -> tuple[bool, Optional[RenderResult]]:
        """(whether the model renders faster on one thread than on every core, the full image's render on
        one thread if that is what was timed).  Timed on the full image when it is quick, else on the
        smallest readable preview (READABLE_PX: at 4 px one thread won where at 16 px both did); nothing
        to compare on one core or where the process left torch's threads alone.

        On a 2-core machine that other processes keep busy, torch's threads wait for each other at every
        op: a 16 px StyleGAN2 took 1.2 s a frame on 2 threads and 3-40 ms on one (machine load 19)."""
        from ganstudio.engine.process import render_threads
        cores, info = render_threads(), full.model
        small = sorted(r for r in info.capabilities.preview_resolutions if r < info.resolution)
        quick = full.render_ms < WARM_RERENDER_BELOW_MS
        if cores <= 1 or not (quick or small):
            return False, None
        try:
            torch.set_num_threads(cores)
            # the smallest readable preview (the size a drag wants to show), else the smallest there is
            probe = next((r for r in small if r >= READABLE_PX), small[0]) if small else 0
            every = full if quick else renderer.render(state, preview=probe)
            torch.set_num_threads(1)
            one = renderer.render(state, preview=every.preview) if every.preview else renderer.render(state)
        finally:
            torch.set_num_threads(cores)
        if one.error or every.error:
            return False, None
        return one.render_ms < every.render_ms, (None if one.preview else one)

    def _dropped(self, token: int) -> None:  # a queued main or settle job replaced before it ran
        with self._gate:
            self._main_outstanding -= 1
            self._gate.notify_all()

    def _deliver(self, done: JobDone) -> None:
        with self._gate:
            self._main_outstanding -= 1
            self._gate.notify_all()
        if done.result is not None:
            self._show(*done.result, done.token)

    def _show(self, generation: int, res: RenderResult, token: int) -> None:
        if generation != self._generation:
            return  # rendered by the renderer a switch replaced
        res.request_id = token
        self._on_image(res)

    # -- previews and computations (called from jobs, off the GUI thread) ------------------------
    def wait_turn(self) -> None:
        """Block while the main image has a request queued or rendering, or the user drags.  Inside a job
        whose channel has a newer job, raise JobCancelled instead (its result would be dropped)."""
        with self._gate:
            while True:
                if current_job_superseded():
                    raise JobCancelled("superseded by a newer request")
                if self._closed:
                    raise JobCancelled("cancelled: the render service closed")
                quiet = time.monotonic() - self._last_submit
                if not self._main_outstanding and not self._held and quiet >= DRAG_GAP_S:
                    return
                # A newer job of the channel notifies nobody here: look again at least every drag gap.
                self.previews_waiting += 1
                try:
                    self._gate.wait(DRAG_GAP_S if self._main_outstanding or self._held else DRAG_GAP_S - quiet)
                finally:
                    self.previews_waiting -= 1

    def render(self, state: RenderState, seeds: Optional[Sequence[int]] = None,
               capture: Sequence[str] = ()) -> RenderResult:
        """A preview of ``state`` (at each of ``seeds`` as one [N, H, W, C] image), after the main image."""
        if seeds is not None and not capture:
            return self.render_batch([state.replace(seed=int(s), z=None, ws=None) for s in seeds])
        self.wait_turn()
        renderer = self._current()[0]
        return renderer.render(state, seeds, capture=capture) if capture else renderer.render(state, seeds)

    def render_batch(self, states: Sequence[RenderState], raw: bool = False) -> RenderResult:
        """Previews of ``states`` as one [N, H, W, C] image, rendered in pieces between main renders."""
        states, parts, start, size = list(states), [], 0, 1
        while start < len(states) or not parts:
            self.wait_turn()
            renderer, generation = self._current()
            piece = states[start:start + size]
            res = renderer.render_batch(piece, raw=True) if raw else renderer.render_batch(piece)
            if res.error or res.image is None:
                return res
            parts.append(res)
            start += len(piece)
            size = self._piece_size(states[0].model, generation, res.render_ms / max(1, len(piece)))
        return _joined(parts)

    def _piece_size(self, model: str, generation: int, ms_per_image: float) -> int:
        """Images per piece so that a piece costs at most about one main render (one image when unknown)."""
        timing = self._timings.get((model, generation))
        full_ms = (timing.full_ms if timing is not None else None) or 0.0
        return max(1, int(full_ms / max(ms_per_image, 1e-3)))

    def latents(self, state: RenderState):
        self.wait_turn()
        return self._current()[0].latents(state)

    def directions(self, key: str, method: str, k: int = MAX_DIRECTIONS) -> torch.Tensor:
        self.wait_turn()
        return self._current()[0].directions(key, method, k)

    def cached_directions(self, key: str, method: str, k: int = MAX_DIRECTIONS) -> int:
        return self._current()[0].cached_directions(key, method, k)

    def encode(self, key: str, pixels):
        """(mu, logvar) of an image under the model's encoder (see Renderer.encode)."""
        self.wait_turn()
        return self._current()[0].encode(key, pixels)

    def project(self, key: str, target, **kw):
        """A real image's latents under the model (engine.projection.project, on a private copy of the network)."""
        from ganstudio.engine.projection import project_model
        return project_model(self._current()[0], key, target, **kw)

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
        with self._gate:
            self._closed = True
            self._gate.notify_all()
        self.worker.close(timeout)


def _joined(parts: list) -> RenderResult:
    """One result of a batch rendered in pieces: the images (and raw floats) in order, the times added."""
    res = parts[0]
    if len(parts) > 1:
        res.image = np.concatenate([p.image for p in parts])
        if res.raw is not None:
            res.raw = np.concatenate([p.raw for p in parts])
        res.render_ms = sum(p.render_ms for p in parts)
    return res
