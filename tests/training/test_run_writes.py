"""Every file the trainer writes: a full disk is one line naming the file (rc 2) and loses nothing;
checkpoints go through our own temp file; temp files of killed writers never block a run."""
import contextlib
import errno
import os
from pathlib import Path

import pytest
import torch
from _train_helpers import TinyData, tiny_config, write_image_folder
from safetensors.torch import load_file

from ganstudio import _io
from ganstudio.cli import main
from ganstudio.training.loop import train
from ganstudio.training.run_dir import RunDir, RunLog

TINY = ["--batch", "8", "--resolution", "16", "--device", "cpu", "--set", "model.z_dim=8", "--set", "model.ngf=8",
        "--set", "model.ndf=8", "--sample-every", "2", "--ckpt-every", "2", "--log-every", "1", "--set",
        "sample_count=4", "--quiet", "--keep", "5"]


class FullDisk:
    """Writes to files named ``name`` fail with ENOSPC (as the OS reports them: on our temp file)."""

    def __init__(self, monkeypatch, name: str, appends_only: bool = False):
        self.name, self.on, self.hits = name, True, 0
        real_atomic_path, real_append = _io.atomic_path, RunLog.append
        disk = self

        @contextlib.contextmanager
        def atomic_path(path, keep_suffix=False):
            with real_atomic_path(path, keep_suffix) as tmp:
                if disk.on and Path(path).name == disk.name and not appends_only:
                    disk.hits += 1
                    tmp.write_bytes(b"partial")
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp))
                yield tmp

        def append(log, record):
            if disk.on and log.path.name == disk.name:
                disk.hits += 1
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            real_append(log, record)

        monkeypatch.setattr(_io, "atomic_path", atomic_path)
        monkeypatch.setattr(RunLog, "append", append)


@pytest.mark.parametrize("name", ["ckpt_000004.safetensors", "step_000004.png", "status.json", "config.json",
                                  "log.jsonl", "log.jsonl (appends)"])
def test_a_full_disk_is_one_line_naming_the_file_and_the_run_resumes_once_freed(name, tmp_path, capsys,
                                                                                 monkeypatch):
    name, appends_only = name.split()[0], name.endswith("(appends)")
    data = write_image_folder(tmp_path / "data", n=16, res=16)
    run = RunDir(tmp_path / "run")
    assert main(["train", "--preset", "dcgan", "--data", str(data), "--out", str(run.path), "--steps", "2"]
                + TINY) == 0
    before = run.checkpoint_path(2).read_bytes()
    capsys.readouterr()
    disk = FullDisk(monkeypatch, name, appends_only)
    code = main(["train", "--resume", str(run.path), "--steps", "6", "--quiet"])
    err = capsys.readouterr().err.strip()
    assert disk.hits >= 1
    assert code == 2, err
    lines = err.splitlines()
    assert lines[-1].startswith("ganstudio train: error: cannot write "), err
    assert "Traceback" not in err and "SafetensorError" not in err
    assert name in lines[-1] and "no space left on device" in lines[-1], err
    assert ".tmp" not in lines[-1]  # the file asked for, not our temp file
    assert run.checkpoint_path(2).read_bytes() == before
    assert not [p for p in run.checkpoints_dir.iterdir() if p.name.startswith(".")]
    # Space freed: the run goes on from its newest good checkpoint.
    disk.on = False
    assert main(["train", "--resume", str(run.path), "--steps", "6", "--quiet"]) == 0
    assert "finished at step 6" in capsys.readouterr().err
    assert [r["step"] for r in run.read_log()] == [1, 2, 3, 4, 5, 6]
    load_file(str(run.checkpoint_path(6)))


def test_checkpoints_are_written_through_our_own_temp_file(tmp_path, monkeypatch):
    # safetensors' save_file writes ".<name>.tmpXXXXXX" itself before renaming it: a kill left that
    # behind, full-size, under a name no resume removed.
    import safetensors.torch

    def library_writer(*a, **k):
        raise AssertionError("safetensors' own file writer was used")

    monkeypatch.setattr(safetensors.torch, "save_file", library_writer)
    cfg = tiny_config("dcgan", steps=2)
    assert [s["step"] for s in train(cfg, tmp_path / "run", dataset=TinyData())] == [1, 2]
    names = sorted(p.name for p in (tmp_path / "run/checkpoints").iterdir())
    assert names == ["ckpt_000002.safetensors"]


def test_resume_removes_every_temp_file_a_killed_save_can_leave(tmp_path):
    cfg = tiny_config("dcgan", steps=4, keep=5)
    run = RunDir(tmp_path / "run")
    list(train(cfg, run.path, dataset=TinyData(), stop=lambda: False))
    leftovers = [run.checkpoints_dir / ".ckpt_000006.safetensors.Ab3xYz.tmp",  # ours
                 run.checkpoints_dir / ".ckpt_000006.safetensors.tmpQ1w2E3",  # safetensors' own
                 run.checkpoints_dir / "..ckpt_000006.safetensors.Ab3xYz.tmp.tmpQ1w2E3",  # its, around ours
                 run.samples_dir / ".step_000006.png.k9.tmp", run.path / ".status.json.zz.tmp",
                 run.path / ".config.json.a1.tmp"]
    for p in leftovers:
        p.write_bytes(b"x" * 100)
    keep = run.checkpoints_dir / "notes.tmp.txt"  # not a temp name of ours
    keep.write_text("mine")
    cfg = tiny_config("dcgan", steps=6, keep=5)
    assert [s["step"] for s in train(cfg, run.path, dataset=TinyData(), resume=True)] == [5, 6]
    assert not [p for p in leftovers if p.exists()]
    assert keep.exists()


def test_a_folder_holding_only_our_temp_files_is_an_unstarted_run(tmp_path, capsys):
    # A new run killed while writing config.json: neither --resume nor --out took the folder.
    data = write_image_folder(tmp_path / "data", n=16, res=16)
    run = tmp_path / "run"
    run.mkdir()
    (run / ".config.json.x7k2p1.tmp").write_text('{"format": "ganst')
    (run / ".lock").write_text("")
    RunDir(run).check_new()
    assert main(["train", "--preset", "dcgan", "--data", str(data), "--out", str(run), "--steps", "2"] + TINY) == 0
    assert not (run / ".config.json.x7k2p1.tmp").exists()
    assert RunDir(run).read_status()["state"] == "finished"
    # Anything else in it still makes it somebody's folder.
    other = tmp_path / "other"
    other.mkdir()
    (other / ".config.json.x7k2p1.tmp").write_text("")
    (other / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not empty"):
        RunDir(other).check_new()


def test_written_checkpoints_load_and_keep_the_usual_permissions(tmp_path):
    cfg = tiny_config("dcgan", steps=2)
    list(train(cfg, tmp_path / "run", dataset=TinyData()))
    path = tmp_path / "run/checkpoints/ckpt_000002.safetensors"
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask
    assert any(torch.is_tensor(v) for v in load_file(str(path)).values())
