"""The Qt-free run-folder monitor: incremental log tail, effective state, samples, checkpoints, run list."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from ganstudio.training import monitor as M
from ganstudio.training.run_dir import RunDir


def rec(step, **kw):
    return json.dumps({"step": step, "losses": {"loss_D": 1.0 / step, "loss_G": float(step)}, **kw}) + "\n"


def append(path, text):
    with open(path, "a", encoding="utf-8") as f:
        f.write(text)


def test_tail_reads_only_new_complete_lines(tmp_path):
    log = tmp_path / "log.jsonl"
    tail = M.JsonlTail(log)
    assert tail.read_new() == ([], False)  # no file yet
    append(log, rec(1) + rec(2) + '{"step": 3, "loss')  # a writer mid-line
    got, reset = tail.read_new()
    assert [r["step"] for r in got] == [1, 2] and not reset
    assert tail.read_new() == ([], False)  # the partial line is not consumed
    append(log, 'es": {}}\n' + rec(4))
    got, _ = tail.read_new()
    assert [r["step"] for r in got] == [3, 4]
    offset = tail.offset
    assert offset == log.stat().st_size and tail.done
    # A torn line in the middle (a killed writer, then a resumed one appending) is skipped.
    append(log, '{"step": 5, "lo' + "\n" + rec(6))
    got, _ = tail.read_new()
    assert [r["step"] for r in got] == [6]


def test_tail_rereads_a_rewritten_log(tmp_path):
    run = RunDir(tmp_path)
    append(run.log_path, "".join(rec(s) for s in range(1, 11)))
    tail = M.JsonlTail(run.log_path)
    assert len(tail.read_new()[0]) == 10
    run.truncate_log(4)  # what resume does: an atomic rewrite with the first records
    append(run.log_path, rec(5))
    got, reset = tail.read_new()
    assert reset and [r["step"] for r in got] == [1, 2, 3, 4, 5]
    # A log that shrank in place is re-read too.
    run.log_path.write_text(rec(1))
    got, reset = tail.read_new()
    assert reset and [r["step"] for r in got] == [1]


def test_tail_loads_a_long_history_in_bounded_chunks(tmp_path):
    log = tmp_path / "log.jsonl"
    append(log, "".join(rec(s) for s in range(1, 2001)))
    tail = M.JsonlTail(log, max_bytes=4096)
    steps, calls = [], 0
    while not tail.done:
        got, _ = tail.read_new()
        steps += [r["step"] for r in got]
        calls += 1
    assert steps == list(range(1, 2001)) and calls > 10
    # One line longer than max_bytes still comes through.
    append(log, rec(2001, note="x" * 10000))
    assert [r["step"] for r in tail.read_new()[0]] == [2001]


def test_tail_lines_of_a_progress_log(tmp_path):
    p = tmp_path / "process.log"
    p.write_bytes(b"\x1b[Kstep 1\rstep 2\n\nganstudio train: error: no such folder\n")
    assert M.tail_lines(p, 2) == ["step 2", "ganstudio train: error: no such folder"]
    assert M.tail_lines(tmp_path / "missing") == []


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_process_state_alive_paused_zombie_dead(wait_until):
    assert M.process_state(os.getpid()) == "alive"
    assert M.process_state(None) == "dead" and M.process_state(0) == "dead"
    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])  # a child that stays alive
    try:
        assert M.process_state(p.pid) == "alive"
        os.kill(p.pid, signal.SIGSTOP)
        wait_until(lambda: M.process_state(p.pid) == "paused", message="SIGSTOP never showed as paused")
        os.kill(p.pid, signal.SIGCONT)
        os.kill(p.pid, signal.SIGKILL)
        # A zombie (killed, not reaped yet: p.wait() has not run) counts as dead.
        wait_until(lambda: M.process_state(p.pid) == "dead", message="SIGKILL never showed as dead")
    finally:
        p.kill()
        p.wait()
    assert M.process_state(p.pid) == "dead"


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="needs /proc for start times")
def test_process_state_rejects_a_recycled_pid():
    # status.json written long before this process started: the pid belongs to someone else now.
    assert M.process_state(os.getpid(), not_before=time.time() - 10 * 365 * 86400) == "dead"
    assert M.process_state(os.getpid(), not_before=time.time()) == "alive"


def write_status(run: RunDir, state, pid, **kw):
    doc = {"state": state, "reason": kw.pop("reason", ""), "pid": pid, "step": kw.pop("step", 10),
           "steps": 100, "kimg": 0.1, "checkpoint": kw.pop("checkpoint", None), "updated": time.time()}
    run.status_path.write_text(json.dumps(doc))


def make_run(path, config=None, created=None):
    run = RunDir(path)
    run.write_config(config or {"preset": "dcgan", "model": "dcgan", "steps": 100})
    if created is not None:  # a run created at that unix time (listed newest first)
        doc = json.loads(run.config_path.read_text())
        run.config_path.write_text(json.dumps({**doc, "created": created}))
    return run


def test_effective_states(tmp_path):
    run = make_run(tmp_path / "a")
    assert M.read_run_status(run.path).state == "starting"
    write_status(run, "running", os.getpid())
    assert M.read_run_status(run.path).state == "running"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    write_status(run, "running", dead.pid)
    st = M.read_run_status(run.path)
    assert st.state == M.UNEXPECTED and str(dead.pid) in st.reason and not st.active
    write_status(run, "failed", dead.pid, reason="loss became NaN at step 7")
    st = M.read_run_status(run.path)
    assert (st.state, st.reason) == ("failed", "loss became NaN at step 7")
    # A trainer that failed before writing anything leaves only its process.log.
    b = tmp_path / "b"
    b.mkdir()
    (b / M.PROCESS_LOG).write_text("loading\nganstudio train: error: no data set at /nope\n")
    st = M.read_run_status(b)
    assert st.state == "failed" and "no data set at /nope" in st.reason


def test_monitor_reports_only_changes(tmp_path):
    run = make_run(tmp_path / "r")
    write_status(run, "running", os.getpid(), step=0)
    mon = M.RunMonitor(run.path)
    u = mon.poll()
    assert u.status.state == "running" and u.status_changed and u.records == [] and u.sample is None
    assert u.checkpoints == []
    run.samples_dir.mkdir()
    png = run.sample_path(10)
    png.write_bytes(b"png")
    append(run.log_path, rec(5) + rec(10, sample_path=str(png)))
    u = mon.poll()
    assert [r["step"] for r in u.records] == [5, 10] and u.sample == png and not u.status_changed
    u = mon.poll()
    assert u.records == [] and u.sample is None and u.checkpoints is None
    run.checkpoints_dir.mkdir()
    ck = run.checkpoint_path(20)
    ck.write_bytes(b"x")
    png2 = run.sample_path(20)
    png2.write_bytes(b"png")  # a sample not yet named by the log is found by listing the folder
    write_status(run, "stopped", os.getpid(), step=20, checkpoint=str(ck), reason="stop requested")
    append(run.log_path, json.dumps({"step": 20, "losses": {}, "metrics": {"fcd": 3.5}}) + "\n")
    M.append_metrics(run.path, {"step": 20, "checkpoint": str(ck), "fcd": 3.25})
    u = mon.poll()
    assert u.status.state == "stopped" and u.status_changed
    assert u.checkpoints == [(20, ck)] and u.sample == png2
    assert sorted(m["fcd"] for m in u.metrics) == [3.25, 3.5]
    assert mon.poll().metrics == []


def test_list_runs_and_names(tmp_path):
    assert M.list_runs(tmp_path / "missing") == []
    old = make_run(tmp_path / "old", created=1000.0)
    new = make_run(tmp_path / "new", created=2000.0)
    (tmp_path / "empty").mkdir()
    (tmp_path / ".logs").mkdir()
    (tmp_path / ".logs" / M.PROCESS_LOG).write_text("x")
    failed = tmp_path / "failed"
    failed.mkdir()
    (failed / M.PROCESS_LOG).write_text("error")
    runs = M.list_runs(tmp_path)
    assert set(runs) == {old.path, new.path, failed} and runs.index(new.path) < runs.index(old.path)
    name = M.new_run_name(tmp_path, "wgan gp", now=0)
    assert name.startswith("wgan-gp-") and not (tmp_path / name).exists()
    (tmp_path / name).mkdir()
    assert M.new_run_name(tmp_path, "wgan gp", now=0) == name + "-2"
