"""stop() ends the worker thread in the middle of a long step(n): closing the Train window during "Step 400" (or an
API caller's step(10**6)) left the thread training for minutes after the window had gone."""
import threading

from ganstudio.training.playground import PlaygroundConfig
from ganstudio.training.playground_worker import PlaygroundWorker


def test_stop_interrupts_a_long_step(wait_until):
    started = threading.Event()
    worker = PlaygroundWorker(PlaygroundConfig(n_shown=16, seed=0), heat_res=8)
    step = worker._train

    def train(n):  # tell the test once the long step has begun
        started.set()
        return step(n)
    worker._train = train
    worker.step(10 ** 7)  # days of updates
    assert started.wait(60)
    assert worker.stop(timeout=60)  # before: the join timed out and the thread went on
    assert not worker.is_alive()
    assert 0 < worker.steps < 10 ** 7
    before = worker.steps
    worker.step(3)  # a later command brings a worker back, and its step is whole
    wait_until(lambda: worker.steps == before + 3)
    assert worker.stop(timeout=60)
