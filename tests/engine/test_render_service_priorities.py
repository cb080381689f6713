"""Issue 17: the main image first, previews in pieces that yield and drop when stale, a fast preview while dragging.

A fake renderer records the order of what it was asked to render and reports the render times the
service decides on, so these tests check the order of work, never the clock.
"""
import threading
import time

import numpy as np
import pytest
import torch

from ganstudio.engine import Renderer, RenderState
from ganstudio.engine import render_service
from ganstudio.engine.jobs import JobDone, NewestWinsRunner
from ganstudio.engine.render_service import RenderService
from ganstudio.engine.renderer import ModelInfo, RenderResult
from ganstudio.models import Capabilities

MODEL = "fake"


def _until(cond, timeout=60.0):
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError("condition not met in time")
        time.sleep(0.005)


class Recorder:
    """Renders nothing: logs ('main', seed, preview) / ('piece', seeds) and reports ``full_ms`` per full image."""

    device, precision = torch.device("cpu"), "fp32"

    def __init__(self, full_ms=10.0, preview_ms=None, piece_ms=None, first_full_ms=None):
        self.full_ms, self.preview_ms = full_ms, preview_ms or {}
        self.first_full_ms = first_full_ms  # the model's first full render, if it costs more (warm-up)
        self.threads_ms, self.threads_seen = {}, []  # {torch threads: full render ms}; (seed, preview, threads)
        self.preview_threads_ms = {}  # {torch threads: ms of any preview}, where set
        self.piece_ms = full_ms if piece_ms is None else piece_ms  # per image in a preview piece
        self.log, self.lock = [], threading.Lock()
        self.block_main, self.block_piece = threading.Event(), threading.Event()
        self.block_main.set()
        self.block_piece.set()
        caps = Capabilities(preview_resolutions=tuple(sorted(self.preview_ms)) + (64,))
        self.info = ModelInfo(MODEL, MODEL, MODEL, "fake", caps, [], 8, 8, 1, 0, 64, 3)

    def load(self, key):
        return self.info

    def render(self, state, seeds=None, capture=(), preview=0):
        with self.lock:
            self.log.append(("main", state.seed, preview))
        self.block_main.wait(60)
        ms = self.preview_ms[preview] if preview else self.full_ms
        self.threads_seen.append((state.seed, preview, torch.get_num_threads()))
        if not preview and self.threads_ms:
            ms = self.threads_ms[torch.get_num_threads()]
        if preview and self.preview_threads_ms:
            ms = self.preview_threads_ms[torch.get_num_threads()]
        if not preview and self.first_full_ms is not None:
            ms, self.first_full_ms = self.first_full_ms, None
        return RenderResult(np.full((64, 64, 3), state.seed, np.uint8), "", ms, state, self.info, preview=preview)

    def render_batch(self, states, raw=False):
        with self.lock:
            self.log.append(("piece", tuple(s.seed for s in states)))
        self.block_piece.wait(60)
        image = np.stack([np.full((64, 64, 3), s.seed, np.uint8) for s in states])
        return RenderResult(image, "", self.piece_ms * len(states), states[0], self.info)


def _states(seeds):
    return [RenderState(model=MODEL, seed=s) for s in seeds]


def _calibrated_and_held(fake):
    """A service whose model has shown its first image (costs measured), with a slider now pressed."""
    shown = []
    service = RenderService(fake, shown.append)
    service.submit(RenderState(model=MODEL, seed=0))
    _until(lambda: len(shown) == 1 and service.worker.idle())
    service.hold(True)
    return service, shown


def test_a_main_request_runs_before_the_rest_of_a_preview_batch_and_pieces_cost_one_main_render():
    fake, shown, done = Recorder(full_ms=10.0, piece_ms=5.0), [], []
    service = RenderService(fake, shown.append)
    service.submit(RenderState(model=MODEL, seed=100))
    _until(lambda: len(shown) == 1)  # a full main render timed: 10 ms, so a piece holds two 5 ms images
    jobs = NewestWinsRunner("test-jobs", done.append)
    fake.block_piece.clear()
    jobs.submit("grid", lambda: service.render_batch(_states(range(7))))
    _until(lambda: ("piece", (0,)) in fake.log)  # the first piece (one image: cost unknown yet) is running
    fake.block_main.clear()
    service.submit(RenderState(model=MODEL, seed=101))
    _until(lambda: ("main", 101, 0) in fake.log)
    service.submit(RenderState(model=MODEL, seed=102))
    service.submit(RenderState(model=MODEL, seed=103))  # replaces 102 while it waits
    fake.block_piece.set()
    _until(lambda: service.previews_waiting == 1)  # the rest of the batch waits for the main image
    fake.block_main.set()
    _until(lambda: len(done) == 1)
    log = [e for e in fake.log if e != ("main", 100, 0)]
    assert log[:3] == [("piece", (0,)), ("main", 101, 0), ("main", 103, 0)]  # then the newest main request
    pieces = [e[1] for e in log if e[0] == "piece"]
    assert sum(pieces, ()) == tuple(range(7)) and max(len(p) for p in pieces) == 2
    assert done[0].error == "" and done[0].result.image.shape == (7, 64, 64, 3)
    assert [int(im[0, 0, 0]) for im in done[0].result.image] == list(range(7))
    jobs.close()
    service.close()


def test_previews_never_start_while_a_main_request_is_pending():
    fake, shown, done = Recorder(), [], []
    service = RenderService(fake, shown.append)
    fake.block_main.clear()
    service.submit(RenderState(model=MODEL, seed=1))
    _until(lambda: fake.log == [("main", 1, 0)])
    service.submit(RenderState(model=MODEL, seed=2))  # queued behind the running one
    jobs = NewestWinsRunner("test-jobs", done.append)
    jobs.submit("row", lambda: service.render(RenderState(model=MODEL), seeds=[5, 6, 7]))
    _until(lambda: service.previews_waiting == 1)
    assert all(e[0] == "main" for e in fake.log)
    fake.block_main.set()
    _until(lambda: len(done) == 1)
    first_piece = next(i for i, e in enumerate(fake.log) if e[0] == "piece")
    # Seed 1 twice: the model's first image, then its warm render that times it (WARM_RERENDER_BELOW_MS).
    assert [e[1] for e in fake.log[:first_piece]] == [1, 1, 2]
    assert done[0].result.image.shape == (3, 64, 64, 3)
    jobs.close()
    service.close()


def test_a_stale_preview_stops_between_pieces_and_the_newest_one_renders():
    fake, done = Recorder(), []
    service = RenderService(fake, lambda res: None)
    jobs = NewestWinsRunner("test-jobs", done.append)
    fake.block_piece.clear()
    jobs.submit("samples", lambda: service.render_batch(_states([1, 2, 3, 4])))
    _until(lambda: fake.log == [("piece", (1,))])
    jobs.submit("samples", lambda: service.render_batch(_states([7, 8])))  # the inputs changed
    fake.block_piece.set()
    _until(lambda: len(done) == 2)
    old, new = done
    assert not old.latest and "superseded" in old.error and old.result is None
    assert new.error == "" and [int(im[0, 0, 0]) for im in new.result.image] == [7, 8]
    assert sum((e[1] for e in fake.log), ()) == (1, 7, 8)  # 2, 3 and 4 were never rendered
    jobs.close()
    service.close()


def test_previews_are_held_while_dragging_and_resume_after():
    fake, shown, done = Recorder(), [], []
    service = RenderService(fake, shown.append)
    service.hold(True)
    jobs = NewestWinsRunner("test-jobs", done.append)
    jobs.submit("thumbs", lambda: service.render_batch(_states([3, 4])))
    _until(lambda: service.previews_waiting == 1)
    service.submit(RenderState(model=MODEL, seed=9))  # the dragged main image still renders
    _until(lambda: len(shown) == 1)
    _until(lambda: service.previews_waiting == 1)
    assert not done and all(e[0] == "main" for e in fake.log)
    service.hold(False)
    _until(lambda: len(done) == 1)
    assert done[0].error == "" and done[0].result.image.shape[0] == 2
    jobs.close()
    service.close()


def test_a_drag_shows_the_largest_preview_within_the_budget_then_the_full_image():
    budget = render_service.FRAME_BUDGET_MS
    fake = Recorder(full_ms=8 * budget, preview_ms={4: budget / 8, 8: budget / 4, 16: budget / 2, 32: 2 * budget})
    shown = []
    service = RenderService(fake, shown.append)
    service.submit(RenderState(model=MODEL, seed=0))
    _until(lambda: len(shown) == 1 and service.worker.idle())
    assert shown[0].preview == 0
    service.hold(True)  # a slider is pressed
    for seed in (1, 2, 3):
        service.submit(RenderState(model=MODEL, seed=seed))
    _until(lambda: shown[-1].state.seed == 3)
    assert shown[-1].preview == 16 and all(r.preview == 16 for r in shown[1:])  # 32 px misses the budget
    assert service.dragging
    service.hold(False)  # released
    _until(lambda: shown[-1].preview == 0)
    assert shown[-1].state.seed == 3 and service.worker.wait_idle(60)
    assert [r.preview for r in shown[1:]].count(0) == 1  # one full image, after the drag
    # Measured once per model: the next drag probes nothing.
    probes = [e for e in fake.log if e[0] == "main" and e[2] in (4, 8, 32)]
    service.hold(True)
    service.submit(RenderState(model=MODEL, seed=4))
    _until(lambda: shown[-1].state.seed == 4)
    assert [e for e in fake.log if e[0] == "main" and e[2] in (4, 8, 32)] == probes and shown[-1].preview == 16
    service.hold(False)
    _until(lambda: shown[-1].state.seed == 4 and shown[-1].preview == 0)
    service.close()


def test_a_fast_model_renders_in_full_while_dragging():
    fake, shown = Recorder(full_ms=render_service.FRAME_BUDGET_MS / 2, preview_ms={4: 0.1}), []
    service = RenderService(fake, shown.append)
    service.submit(RenderState(model=MODEL, seed=0))
    _until(lambda: len(shown) == 1)
    service.hold(True)
    service.submit(RenderState(model=MODEL, seed=1))
    _until(lambda: len(shown) == 2)
    assert shown[1].preview == 0 and all(e[2] == 0 for e in fake.log)
    service.hold(False)
    service.close()


def test_a_slow_first_render_does_not_make_a_fast_model_preview():
    # The first render pays one-time costs (here 3x the budget): judged on it, this model would preview
    # at 4 px in every drag, though a warm render fits the budget (fmnist-stylegan2 did under load).
    budget = render_service.FRAME_BUDGET_MS
    fake, shown = Recorder(full_ms=budget / 2, first_full_ms=3 * budget, preview_ms={4: 0.1, 8: 0.2}), []
    service = RenderService(fake, shown.append)
    service.submit(RenderState(model=MODEL, seed=0))
    _until(lambda: len(shown) == 1 and service.worker.idle())
    service.hold(True)
    service.submit(RenderState(model=MODEL, seed=1))
    _until(lambda: len(shown) == 2)
    assert shown[1].preview == 0 and all(e[2] == 0 for e in fake.log)  # nothing probed, nothing previewed
    service.hold(False)
    service.close()


@pytest.fixture
def two_render_threads(monkeypatch):
    """The process renders on 2 threads (engine.process.render_on_every_core on a 2-core machine)."""
    from ganstudio.engine import process
    threads = torch.get_num_threads()
    monkeypatch.setattr(process, "_render_threads", 2)
    yield
    torch.set_num_threads(threads)


def test_a_model_faster_on_one_thread_renders_on_one(two_render_threads):
    # A busy 2-core machine: torch's 2 threads wait for each other (10x the budget), one thread fits it.
    budget = render_service.FRAME_BUDGET_MS
    fake, shown = Recorder(full_ms=0, preview_ms={4: 0.1}), []
    fake.threads_ms = {2: 3 * budget, 1: budget / 2}
    service = RenderService(fake, shown.append)
    service.submit(RenderState(model=MODEL, seed=0))
    _until(lambda: len(shown) == 1 and service.worker.idle())
    service.hold(True)
    service.submit(RenderState(model=MODEL, seed=1))
    _until(lambda: len(shown) == 2)
    # Timed on both, then the main image on one thread: in full, since that fits the budget.
    assert [t for _, _, t in fake.threads_seen[:3]] == [2, 2, 1]
    assert fake.threads_seen[-1] == (1, 0, 1) and shown[1].preview == 0
    service.hold(False)
    service.close()


def test_a_model_faster_on_every_core_keeps_them(two_render_threads):
    budget = render_service.FRAME_BUDGET_MS
    fake, shown = Recorder(full_ms=0, preview_ms={4: 0.1}), []
    fake.threads_ms = {2: budget, 1: 2 * budget}  # over ONE_THREAD_BELOW_MS on every core
    service = RenderService(fake, shown.append)
    service.submit(RenderState(model=MODEL, seed=0))
    _until(lambda: len(shown) == 1 and service.worker.idle())
    service.submit(RenderState(model=MODEL, seed=1))
    _until(lambda: len(shown) == 2)
    assert fake.threads_seen[-1] == (1, 0, 2)
    service.close()


def test_a_slow_model_whose_small_preview_is_faster_on_one_thread_keeps_every_core_for_its_full_image(
        two_render_threads):
    # A 256 px StyleGAN2: its 4 px preview is quicker on one thread, its full image is not (and was never
    # timed on one: too slow to time twice).  Previews on one thread, the full image on both.
    budget = render_service.FRAME_BUDGET_MS
    fake, shown = Recorder(full_ms=0, preview_ms={4: 0}), []
    fake.threads_ms = {2: 12 * budget, 1: 20 * budget}
    fake.preview_threads_ms = {2: budget / 2, 1: budget / 4}
    service = RenderService(fake, shown.append)
    service.submit(RenderState(model=MODEL, seed=0))
    _until(lambda: len(shown) == 1 and service.worker.idle())
    assert (0, 0, 1) not in fake.threads_seen  # the full image was never rendered on one thread
    service.hold(True)
    service.submit(RenderState(model=MODEL, seed=1))
    _until(lambda: len(shown) == 2)
    assert shown[1].preview == 4 and fake.threads_seen[-1] == (1, 4, 1)
    service.hold(False)  # letting go: the full image, on both threads
    _until(lambda: len(shown) == 3)
    assert shown[2].preview == 0 and fake.threads_seen[-1] == (1, 0, 2)
    service.close()


def test_a_preview_is_chosen_from_the_measured_costs():
    choose, budget, slowest = render_service.choose_preview, render_service.FRAME_BUDGET_MS, render_service.SLOWEST_FRAME_MS
    assert render_service.READABLE_PX == 16 and budget < slowest
    assert choose(budget, {4: 1.0}) == 0  # the full image fits the budget
    assert choose(10 * budget, {}) == 0  # nothing to preview with: the full image
    # The largest preview within the budget, when it is readable.
    assert choose(10 * budget, {4: budget / 8, 8: budget / 4, 16: budget / 2, 32: budget}) == 32
    assert choose(10 * budget, {4: budget / 8, 8: budget / 4, 16: budget, 32: 2 * budget}) == 16
    # Only a tiny one fits (paper256 widths on 2 cores): slower frames, down to the slowest, for 16 px ...
    assert choose(10 * budget, {4: budget / 4, 8: 0.9 * budget, 16: slowest, 32: 3 * slowest}) == 16
    # ... or for the full image itself, if it keeps them.
    assert choose(0.99 * slowest, {4: budget / 4, 8: 2 * budget}) == 0
    assert choose(10 * budget, {4: budget / 4, 8: 0.9 * slowest, 16: 1.1 * slowest}) == 8
    # Nothing keeps the slowest frame: the smallest preview, the least slow there is.
    assert choose(100 * budget, {4: 2 * slowest, 8: 3 * slowest}) == 4
    assert choose(100 * budget, {8: 3 * slowest, 4: 1.5 * slowest}) == 4


def test_a_drag_picks_a_readable_preview_over_a_faster_blur():
    budget, slowest = render_service.FRAME_BUDGET_MS, render_service.SLOWEST_FRAME_MS
    fake = Recorder(full_ms=20 * budget, preview_ms={4: budget / 2, 8: 1.5 * budget, 16: 0.9 * slowest,
                                                       32: 3 * slowest})
    service, shown = _calibrated_and_held(fake)
    service.submit(RenderState(model=MODEL, seed=1))
    _until(lambda: len(shown) == 2)
    assert shown[1].preview == 16
    assert [e[2] for e in fake.log if e[0] == "main"] == [0, 4, 8, 16, 32, 16]  # probed up to the first too slow
    service.hold(False)
    _until(lambda: shown[-1].preview == 0)
    service.close()


@pytest.mark.parametrize("model", ["registry:stylegan2:tiny"])
def test_the_image_after_a_drag_equals_a_direct_render(model, monkeypatch):
    monkeypatch.setattr(render_service, "FRAME_BUDGET_MS", 0.0)  # every real render misses it: previews
    monkeypatch.setattr(render_service, "SLOWEST_FRAME_MS", 0.0)
    shown = []
    service = RenderService(Renderer("cpu"), shown.append)
    service.submit(RenderState(model=model, seed=0))
    _until(lambda: len(shown) == 1)
    service.hold(True)
    for seed in (5, 6):
        service.submit(RenderState(model=model, seed=seed))
    _until(lambda: shown[-1].state.seed == 6)
    preview = shown[-1]
    assert preview.error == "" and preview.preview == 4  # the smallest: even it misses a zero budget
    service.hold(False)
    _until(lambda: shown[-1].preview == 0 and shown[-1].state.seed == 6)
    direct = Renderer("cpu").render(RenderState(model=model, seed=6))
    assert shown[-1].image.shape == preview.image.shape == direct.image.shape
    assert np.array_equal(shown[-1].image, direct.image)
    assert not np.array_equal(preview.image, direct.image)
    service.close()


def test_jobs_know_when_a_newer_job_of_their_channel_came():
    from ganstudio.engine.jobs import current_job_superseded
    seen, started, go = [], threading.Event(), threading.Event()

    def job():
        started.set()
        go.wait(60)
        return current_job_superseded()
    done: list[JobDone] = []
    runner = NewestWinsRunner("test-jobs", done.append)
    runner.submit("a", job)
    started.wait(60)
    assert not current_job_superseded()  # outside any job
    runner.submit("b", lambda: current_job_superseded())  # another channel: not newer than "a"'s
    runner.submit("a", lambda: current_job_superseded())
    go.set()
    _until(lambda: len(done) == 3)
    seen = {(d.channel, d.result) for d in done}
    assert seen == {("a", True), ("b", False), ("a", False)}
    runner.close()


def test_letting_go_of_the_slider_renders_the_full_image_without_waiting_for_a_pause(monkeypatch):
    monkeypatch.setattr(render_service, "DRAG_GAP_S", 3600.0)  # a pause alone would never end this drag
    budget = render_service.FRAME_BUDGET_MS
    fake, shown = Recorder(full_ms=8 * budget, preview_ms={4: budget / 8}), []
    service = RenderService(fake, shown.append)
    service.submit(RenderState(model=MODEL, seed=0))
    _until(lambda: len(shown) == 1)
    service.hold(True)
    service.submit(RenderState(model=MODEL, seed=1))
    _until(lambda: shown[-1].preview == 4)
    service.hold(False)
    _until(lambda: shown[-1].preview == 0 and shown[-1].state.seed == 1, timeout=30)
    service.close()


def test_a_model_judged_slow_for_a_moment_renders_in_full_again_within_a_drag():
    # Its full renders were slow while the machine was busy (calibration and the first drag end), then
    # fast again: a long drag must not keep showing previews until it ends.
    budget = render_service.FRAME_BUDGET_MS
    fake = Recorder(full_ms=1.5 * budget, preview_ms={4: 0.1, 8: 0.2, 16: budget / 4})
    service, shown = _calibrated_and_held(fake)
    service.submit(RenderState(model=MODEL, seed=1))
    _until(lambda: shown[-1].state.seed == 1)
    assert shown[-1].preview == 16  # over budget: previewed
    fake.full_ms = budget / 5  # the load is gone
    for seed in range(2, 2 + 2 * render_service.PROBE_EVERY):
        service.submit(RenderState(model=MODEL, seed=seed))
        _until(lambda: shown[-1].state.seed == seed)
    kinds = [r.preview for r in shown[2:]]
    first_full = kinds.index(0)  # a full probe came within the drag ...
    assert first_full < render_service.PROBE_EVERY + 1
    assert all(k == 0 for k in kinds[first_full:])  # ... and once it was fast, every frame is full
    service.hold(False)
    service.close()


def test_a_model_too_slow_for_any_frame_is_never_probed_in_full_while_dragging():
    budget = render_service.FRAME_BUDGET_MS
    fake = Recorder(full_ms=2 * render_service.SLOWEST_FRAME_MS, preview_ms={4: 0.1, 16: budget / 4})
    service, shown = _calibrated_and_held(fake)
    for seed in range(1, 2 + 2 * render_service.PROBE_EVERY):
        service.submit(RenderState(model=MODEL, seed=seed))
        _until(lambda: shown[-1].state.seed == seed)
    assert all(r.preview == 16 for r in shown[1:])
    service.hold(False)
    service.close()
