"""Training and evaluation child processes, without Qt: their environment and how an evaluation's output is read."""
import os
import sys
from pathlib import Path

import ganstudio
from ganstudio.training.process import EvalJob, child_env, eval_result, package_root


def test_child_env_puts_this_package_first_and_keeps_ours(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(["/elsewhere", ""]))
    monkeypatch.setenv("GANSTUDIO_PROBE", "ours")
    env = child_env({"OMP_NUM_THREADS": "1"})
    assert env["PYTHONPATH"].split(os.pathsep) == [package_root(), "/elsewhere"]
    assert Path(package_root(), "ganstudio").resolve() == Path(ganstudio.__file__).resolve().parent
    assert env["OMP_NUM_THREADS"] == "1" and env["GANSTUDIO_PROBE"] == "ours" and env["PYTHONUNBUFFERED"] == "1"
    monkeypatch.delenv("PYTHONPATH")
    assert child_env()["PYTHONPATH"] == package_root()


def test_eval_output_becomes_a_metrics_record_or_the_line_saying_why_not():
    run, ckpt = Path("/runs/r"), "/runs/r/checkpoints/ckpt_000040.safetensors"
    ok = eval_result(run, ckpt, 0, '{"fcd": 12.5, "n": 100, "checkpoint": "x", "per_class": [1, 2]}', "")
    assert ok.record == {"step": 40, "checkpoint": ckpt, "fcd": 12.5, "n": 100} and ok.error == ""
    bad = eval_result(run, ckpt, 2, "", "progress\nganstudio eval: error: not a checkpoint\n\n")
    assert bad.record is None and bad.error == "ganstudio eval: error: not a checkpoint"
    assert eval_result(run, ckpt, 0, "not json", "").record is None
    assert eval_result(run, ckpt, -9, "", "").error == "exit code -9"


def test_an_eval_job_reports_its_child_once_and_does_not_block_on_output(tmp_path):
    # A stand-in for ``python -m ganstudio eval``: more output than a pipe holds, then the JSON line.
    fake = tmp_path / "fakepy"
    fake.write_text(f"#!{sys.executable}\nimport sys\nsys.stderr.write('x' * 200000)\nprint('{{\"fcd\": 3.0}}')\n")
    fake.chmod(0o755)
    job = EvalJob(tmp_path / "run", str(tmp_path / "ckpt_000002.safetensors"), 10, python=str(fake))
    assert job.popen.wait(60) == 0  # it ended: nothing waited on a full pipe
    res = job.poll()
    assert res.record["fcd"] == 3.0 and res.record["step"] == 2
    assert job.poll() is None  # reported once
