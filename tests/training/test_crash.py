"""Crash safety: SIGKILL at random moments while checkpoints are written; SIGTERM stops cleanly."""
import json
import os
import random
import sys
import time

import pytest
from _train_helpers import cli_forkserver, run_cli, run_cli_stopping_in_a_checkpoint_write, write_image_folder

from ganstudio.checkpoints import load_checkpoint
from ganstudio.training import monitor as M
from ganstudio.training.run_dir import RunDir

pytestmark = pytest.mark.slow  # real training processes, killed and resumed

TINY = ["--preset", "mlp-gan", "--batch", "8", "--resolution", "8", "--device", "cpu", "--quiet",
        "--set", "model.z_dim=8", "--set", "model.g_hidden=[16,32]", "--set", "model.d_hidden=[32,16]"]


@pytest.fixture(scope="module")
def ctx():
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    return cli_forkserver()


def _wait_for(predicate, timeout=60.0, proc=None, poll=0.005):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        if proc is not None and not proc.is_alive():
            return predicate()
        time.sleep(poll)
    return False


def _newest(run):
    found = run.checkpoints()
    return found[-1] if found else (0, None)


def test_sigkill_while_checkpointing_never_leaves_a_broken_newest_checkpoint(ctx, tmp_path):
    data = write_image_folder(tmp_path / "data", n=24, res=8)
    run = RunDir(tmp_path / "run")
    rng = random.Random(1234)
    args = TINY + ["--steps", "1000000", "--ckpt-every", "1", "--keep", "3", "--sample-every", "0", "--log-every", "1"]
    newest_step = 0
    for kill in range(10):
        if kill == 0:
            argv = ["train", "--data", str(data), "--out", str(run.path)] + args[:]
        else:
            argv = ["train", "--resume", str(run.path), "--quiet"]
        # Every other time the trainer stops itself inside its second checkpoint write (the file complete
        # in its temporary, not renamed yet) and is killed there; otherwise it is killed at a random moment
        # after its first checkpoint.
        mid_write = bool(kill % 2) and sys.platform.startswith("linux")  # "paused" is read from /proc
        target = run_cli_stopping_in_a_checkpoint_write if mid_write else run_cli
        p = ctx.Process(target=target, args=(argv,))
        p.start()
        try:
            assert _wait_for(lambda: _newest(run)[0] > newest_step, proc=p), f"kill {kill}: no new checkpoint"
            if mid_write:
                assert _wait_for(lambda: M.process_state(p.pid) == "paused", proc=p), f"kill {kill}: never stopped"
            else:
                time.sleep(rng.uniform(0.0, 0.12))  # the random moment of the kill (fault injection, not a wait)
        finally:
            p.kill()
            p.join()
        if mid_write:
            assert list(run.checkpoints_dir.glob(".*.tmp")), "the kill left no temporary file: it missed the write"
        step, path = _newest(run)
        assert step > newest_step
        ckpt = load_checkpoint(path, load_D=True)  # the newest surviving file always loads
        assert ckpt.meta["training"]["step"] == step and ckpt.D is not None
        assert json.loads(run.status_path.read_text())["state"] == "running"  # atomic: never torn
        newest_step = step
    # Resume once more and let it finish: it continues from the newest checkpoint.
    final = newest_step + 3
    p = ctx.Process(target=run_cli, args=(["train", "--resume", str(run.path), "--steps", str(final), "--quiet"],))
    p.start()
    p.join(120)
    assert p.exitcode == 0
    status = run.read_status()
    assert status["state"] == "finished" and status["step"] == final
    assert load_checkpoint(run.checkpoint_path(final)).meta["training"]["step"] == final
    assert len(run.checkpoints()) == 3  # --keep
    assert not list(run.checkpoints_dir.glob(".*.tmp"))  # a resume clears a killed writer's leftovers
    steps = [r["step"] for r in run.read_log()]
    assert steps == list(range(1, final + 1))  # no step logged twice, none missing


def test_sigterm_saves_a_checkpoint_and_exits_cleanly(ctx, tmp_path):
    data = write_image_folder(tmp_path / "data", n=24, res=8)
    run = RunDir(tmp_path / "run")
    argv = ["train", "--data", str(data), "--out", str(run.path), "--steps", "1000000", "--ckpt-every", "100000",
            "--sample-every", "0", "--log-every", "1"] + TINY
    p = ctx.Process(target=run_cli, args=(argv,))
    p.start()
    try:
        assert _wait_for(lambda: len(run.read_log()) >= 3, proc=p)
        p.terminate()  # SIGTERM
        p.join(60)
    finally:
        if p.is_alive():
            p.kill()
    assert p.exitcode == 0
    status = run.read_status()
    assert status["state"] == "stopped" and status["step"] >= 3
    step, path = _newest(run)
    assert step == status["step"]
    load_checkpoint(path)
