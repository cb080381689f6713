"""The playground's worker thread, without Qt: commands applied between updates, snapshots and their loss rows,
the thread's start, stop and idle exit, refused commands, torch's thread count."""
import threading

import numpy as np
import pytest
import torch

from ganstudio.training import playground_worker as pw
from ganstudio.training.playground import Playground, PlaygroundConfig
from ganstudio.training.playground_worker import PlaygroundWorker


@pytest.fixture
def worker():
    w = PlaygroundWorker(PlaygroundConfig(n_shown=32, batch=32, hidden=8, layers=1), heat_res=8)
    yield w
    assert w.stop()


def _next(worker, wait_until, pred=lambda s: True):
    """Take snapshots until one satisfies ``pred``; returns it and the rows of every snapshot taken."""
    got, rows = [], []

    def poll():
        snap = worker.take()
        if snap is not None:
            worker.drawn()  # as the window does once it has drawn it
            rows.append(snap.rows)
            if pred(snap):
                got.append(snap)
        return bool(got)
    wait_until(poll, timeout=60)
    return got[0], np.concatenate(rows)


def test_step_runs_on_the_worker_thread_and_publishes_a_snapshot(worker, wait_until):
    worker.refresh()
    snap, _ = _next(worker, wait_until)
    assert snap.steps == 0 and snap.heat.shape == (8, 8) and snap.fake.shape == (32, 2) and not snap.playing
    assert isinstance(snap.heat, np.ndarray) and snap.rows.shape == (0, 3)
    worker.step(3)
    snap, rows = _next(worker, wait_until, lambda s: s.steps == 3)
    assert rows[:, 0].tolist() == [1, 2, 3] and np.isfinite(rows[:, 1:]).all()
    assert worker.is_alive() and worker._thread.name == pw.THREAD_NAME and worker._thread in threading.enumerate()


def test_rows_of_a_playing_worker_are_all_delivered_once(worker, wait_until):
    worker.play(True)
    snap, rows = _next(worker, wait_until, lambda s: s.steps >= 40)
    worker.play(False)
    snap, more = _next(worker, wait_until, lambda s: not s.playing)
    rows = np.concatenate([rows, more])
    assert rows[:, 0].tolist() == list(range(1, snap.steps + 1))  # every update, in order, none twice
    n = worker.steps
    assert n == snap.steps and worker.take() is None  # paused: nothing new is made
    assert worker.steps == n


def test_commands_apply_to_the_running_worker_between_updates(worker, wait_until):
    worker.play(True)
    _next(worker, wait_until, lambda s: s.steps >= 3)
    worker.set_loss("hinge")
    worker.set_lr(lr_g=0.004, lr_d=0.0002)
    worker.set_distribution("moons")
    snap, _ = _next(worker, wait_until, lambda s: s.config.loss == "hinge" and s.config.distribution == "moons")
    assert snap.lrs == pytest.approx((0.004, 0.0002)) and snap.playing and snap.epoch == 0
    start = snap.steps
    snap, _ = _next(worker, wait_until, lambda s: s.steps >= start + 3)  # training went on with them
    worker.reset(seed=5)
    snap, rows = _next(worker, wait_until, lambda s: s.epoch == 1)
    assert snap.config.seed == 5 and snap.steps == len(snap.rows) and snap.config.loss == "hinge"


def test_a_reset_drops_the_rows_of_the_untaken_snapshot(worker, wait_until):
    worker.step(4)
    wait_until(lambda: worker.steps == 4)
    worker.reset()
    worker.step(2)
    snap, rows = _next(worker, wait_until, lambda s: s.epoch == 1 and s.steps == 2)
    assert snap.rows[:, 0].tolist()[-2:] == [1, 2] and 4 not in snap.rows[:, 0]


def test_refused_commands_say_why_and_the_worker_goes_on(worker, wait_until):
    with pytest.raises(ValueError, match="unknown playground loss"):
        worker.set_loss("nope")
    with pytest.raises(ValueError, match="lr_g"):
        worker.set_lr(lr_g=float("nan"))
    with pytest.raises(ValueError, match="unknown distribution"):
        worker.set_distribution("cube")
    with pytest.raises(ValueError, match="rate"):
        worker.set_rate(-1)
    worker.set_drawn([[1.0, 2.0, 3.0]])  # wrong shape: refused on the worker, told in the snapshot
    snap, _ = _next(worker, wait_until, lambda s: s.error)
    assert "(x, y) pairs" in snap.error
    worker.add_drawn(9.0, 0.0)  # outside the plotted square
    snap, _ = _next(worker, wait_until, lambda s: s.error)
    assert "plotted square" in snap.error and len(snap.drawn) == 0
    worker.set_distribution("drawn")
    worker.step(1)  # nothing drawn yet
    snap, _ = _next(worker, wait_until, lambda s: s.error)
    assert "No points drawn" in snap.error and not snap.ready and snap.steps == 0
    worker.add_drawn(0.5, 0.5)
    worker.step(2)
    snap, _ = _next(worker, wait_until, lambda s: s.steps == 2)
    assert snap.ready and snap.drawn.tolist() == [[0.5, 0.5]] and snap.error == ""


def test_a_failing_update_pauses_with_its_message_and_the_thread_survives(worker, wait_until, monkeypatch):
    def broken(self):
        raise RuntimeError("out of paper")
    monkeypatch.setattr(Playground, "step", broken)
    worker.play(True)
    snap, _ = _next(worker, wait_until, lambda s: s.error)
    assert "training stopped: out of paper" in snap.error and not snap.playing
    monkeypatch.undo()
    worker.step(1)
    snap, _ = _next(worker, wait_until, lambda s: s.steps == 1)


def test_stop_ends_the_thread_and_a_command_starts_another(worker, wait_until):
    worker.play(True)
    _next(worker, wait_until, lambda s: s.steps >= 2)
    thread = worker._thread
    assert worker.stop(timeout=10) and not worker.is_alive()
    assert not thread.is_alive() and thread not in threading.enumerate()
    n = worker.steps
    worker.play(False)
    worker.step(1)  # the same networks, on a new thread
    snap, _ = _next(worker, wait_until, lambda s: s.steps == n + 1 and not s.playing)


def test_an_idle_thread_ends_by_itself(monkeypatch, wait_until):
    monkeypatch.setattr(pw, "IDLE_EXIT_S", 0.05)
    w = PlaygroundWorker(PlaygroundConfig(n_shown=8, batch=8, hidden=4, layers=1), heat_res=4)
    w.step(1)
    wait_until(lambda: w.steps == 1)
    wait_until(lambda: not w.is_alive())
    assert w.take().steps == 1  # what it published is kept


def test_the_worker_uses_one_torch_thread_and_leaves_others_theirs(worker, wait_until, monkeypatch):
    counts = []
    step = Playground.step

    def spy(self):
        counts.append(torch.get_num_threads())
        return step(self)
    monkeypatch.setattr(Playground, "step", spy)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        worker.step(1)
        wait_until(lambda: worker.steps == 1)
        assert counts == [1]
        assert torch.get_num_threads() == 2  # this thread's count was not touched
    finally:
        torch.set_num_threads(before)


def test_training_waits_while_the_viewer_draws_the_snapshot_it_took(worker, wait_until, monkeypatch):
    monkeypatch.setattr(pw, "YIELD_S", 3600.0)  # only drawn() ends the wait here
    worker.play(True)
    wait_until(lambda: worker.take() is not None)  # taken, not drawn yet
    assert not worker._step_due(pw.time.monotonic())
    worker.drawn()
    assert worker._step_due(pw.time.monotonic())
    n = worker.steps
    wait_until(lambda: worker.steps > n + 2)  # and the thread trains again
