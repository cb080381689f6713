"""`ganstudio train`: argument handling, one-line errors with exit status 2, a tiny run and its resume."""
import sys

import pytest
from _train_helpers import write_image_folder

from ganstudio.cli import main
from ganstudio.training.presets import TrainConfig
from ganstudio.training.run_dir import RunDir

TINY = ["--batch", "8", "--resolution", "16", "--device", "cpu", "--set", "model.z_dim=8", "--set", "model.ngf=8",
        "--set", "model.ndf=8", "--sample-every", "2", "--ckpt-every", "2", "--log-every", "1", "--set",
        "sample_count=4"]



@pytest.fixture
def data(tmp_path):
    return write_image_folder(tmp_path / "data", n=16, res=16)


def _error(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert err.startswith("ganstudio train: error: ") and "\n" not in err, err
    return err


def test_missing_or_empty_dataset_is_one_line_before_anything_is_written(capsys, tmp_path):
    err = _error(capsys, ["train", "--preset", "dcgan", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "r")])
    assert "nope" in err and not (tmp_path / "r").exists()
    (tmp_path / "empty").mkdir()
    err = _error(capsys, ["train", "--preset", "dcgan", "--data", str(tmp_path / "empty"), "--out", str(tmp_path / "r")])
    assert "empty" in err and not (tmp_path / "r").exists()


@pytest.mark.parametrize("extra, message", [
    (["--preset", "stylegan9"], "unknown preset 'stylegan9'"),
    (["--preset", "dcgan", "--set", "nope=1"], "unknown setting 'nope'"),
    (["--preset", "dcgan", "--set", "batch=lots"], "expected int"),
    (["--preset", "dcgan", "--set", "justakey"], "KEY=VALUE"),
    (["--preset", "dcgan", "--loss", "fancy"], "unknown loss 'fancy'"),
    (["--preset", "dcgan", "--steps", "0"], "steps must be >= 1"),
    (["--preset", "dcgan", "--set", "model.ngf=-1"], "ngf"),
    (["--preset", "dcgan", "--set", "model.bogus=1"], "bogus"),
    (["--data", "shapes"], "--preset is required"),
])
def test_bad_arguments_are_one_line_errors(capsys, tmp_path, data, extra, message):
    argv = ["train", "--data", str(data), "--out", str(tmp_path / "run")] + TINY + extra
    err = _error(capsys, argv)
    assert message in err, err


def test_out_must_be_new_or_empty(capsys, tmp_path, data):
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    err = _error(capsys, ["train", "--preset", "dcgan", "--data", str(data), "--out", str(busy)] + TINY)
    assert "not empty and is not a run folder" in err
    assert sorted(p.name for p in busy.iterdir()) == ["notes.txt"]


def test_train_then_resume(capsys, tmp_path, data):
    run = RunDir(tmp_path / "run")
    argv = ["train", "--preset", "dcgan", "--data", str(data), "--out", str(run.path), "--steps", "2",
            "--loss", "wgan-gp", "--lr-g", "1e-3", "--k-disc", "2", "--ema", "0.5"] + TINY
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "step 2/2" in err and "kimg" in err and "img/s" in err and "ETA" in err
    cfg = TrainConfig.from_dict(run.read_config())
    assert (cfg.loss, cfg.gp, cfg.lr_g, cfg.k_disc, cfg.ema, cfg.data) == ("wgan", 10.0, 1e-3, 2, 0.5, str(data))
    assert [s for s, _ in run.checkpoints()] == [2]
    # The same --out again is refused; --resume continues, with a longer --steps.
    err = _error(capsys, argv)
    assert "existing run folder" in err and "--resume" in err
    err = _error(capsys, ["train", "--resume", str(run.path), "--lr-g", "0.1"])
    assert "cannot change 'lr_g' when resuming" in err
    err = _error(capsys, ["train", "--resume", str(tmp_path / "nothing")])
    assert "no such run folder" in err
    assert main(["train", "--resume", str(run.path), "--steps", "4", "--quiet"]) == 0
    assert "finished at step 4" in capsys.readouterr().err
    assert run.read_status()["state"] == "finished" and [r["step"] for r in run.read_log()] == [1, 2, 3, 4]


def test_list_presets(capsys):
    assert main(["train", "--list-presets"]) == 0
    out = capsys.readouterr().out
    for name in ("dcgan", "wgan-gp", "stylegan2", "vae", "progan"):
        assert name in out


def test_resume_with_steps_not_beyond_the_run_is_an_error(tmp_path, capsys):
    from ganstudio.cli import main
    from ganstudio.training.run_dir import RunDir
    run = tmp_path / "run"
    run.mkdir()
    import json
    (run / "config.json").write_text(json.dumps({"format": "ganstudio-run", "version": 1,
                                                  "config": {"preset": "dcgan", "model": "dcgan", "data": "digits"}}))
    RunDir(run).write_status("stopped", step=6, steps=10, kimg=0.1)
    assert main(["train", "--resume", str(run), "--steps", "6"]) == 2
    assert "already at step 6" in capsys.readouterr().err


@pytest.mark.parametrize("extra, message", [
    (["--data", ""], "--data is empty"),
    (["--set", "sample_count=100000000"], "sample_count must be at most"),
    (["--lr-g", "1e308"], "lr_g must be a number up to"),
])
def test_more_bad_arguments_are_one_line_errors(capsys, tmp_path, data, extra, message):
    argv = ["train", "--preset", "dcgan", "--data", str(data), "--out", str(tmp_path / "run")] + TINY + extra
    assert message in _error(capsys, argv)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("extra, message", [
    # Built, then died in oneDNN at the first step ("could not create a primitive descriptor"), leaving
    # a failed run folder behind.
    (["--set", "model.ngf=0"], "model.ngf=0"),
    (["--set", "model.ndf=0"], "model.ndf=0"),
    (["--set", "model.z_dim=0"], "model.z_dim=0"),
    (["--set", "gp=nan"], "gp must be a finite number"),
    (["--set", "r1=inf"], "r1 must be a finite number"),
    (["--seed", str(2 ** 80)], "seed must be a whole number in [0, 2**63)"),
    (["--seed", "-1"], "seed must be a whole number in [0, 2**63)"),
    (["--set", "style_mixing=2"], "style_mixing is a probability"),
])
def test_settings_are_checked_before_anything_is_written(capsys, tmp_path, data, extra, message):
    argv = ["train", "--preset", "dcgan", "--data", str(data), "--out", str(tmp_path / "run"), "--steps", "2",
            "--quiet"] + TINY + extra
    assert message in _error(capsys, argv)
    assert not (tmp_path / "run").exists()


def test_networks_that_build_but_cannot_run_are_refused_without_touching_them():
    import torch

    from ganstudio.training.loop import check_models_run

    class G(torch.nn.Module):
        z_dim, c_dim = 4, 0

        def __init__(self):
            super().__init__()
            self.bn = torch.nn.BatchNorm1d(4)

        def forward(self, z, c):
            return self.bn(z + torch.rand(z.shape))

    class D(torch.nn.Module):
        def forward(self, img, c):
            raise RuntimeError("could not create a primitive descriptor for a convolution forward\nmore")

    g = G()
    rng = torch.get_rng_state()
    cfg = TrainConfig(model_config={"ngf": 3})
    with pytest.raises(ValueError, match=r"^model dcgan: with model.ngf=3 the networks cannot run \(could not "
                                         r"create a primitive descriptor for a convolution forward\)$"):
        check_models_run(cfg, g, D(), torch.device("cpu"))
    assert g.training and int(g.bn.num_batches_tracked) == 0 and torch.equal(torch.get_rng_state(), rng)


def _finished_run(tmp_path, data, capsys):
    run = tmp_path / "run"
    assert main(["train", "--preset", "dcgan", "--data", str(data), "--out", str(run), "--steps", "4", "--quiet",
                 "--keep", "2"] + TINY) == 0
    capsys.readouterr()
    return RunDir(run)


def test_resume_when_no_checkpoint_loads_changes_nothing(capsys, tmp_path, data):
    run = _finished_run(tmp_path, data, capsys)
    before = {p.name: p.read_bytes() for p in run.checkpoints_dir.iterdir()}
    for p in run.checkpoints_dir.iterdir():
        p.write_bytes(p.read_bytes()[:1000])  # every checkpoint truncated
    broken = {p.name: p.read_bytes() for p in run.checkpoints_dir.iterdir()}
    assert main(["train", "--resume", str(run.path), "--steps", "8", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "none of the checkpoints" in err and "nothing was changed" in err
    assert {p.name: p.read_bytes() for p in run.checkpoints_dir.iterdir()} == broken
    assert sorted(before) == sorted(broken)


def test_resume_with_a_config_edited_to_another_architecture_keeps_the_weights(capsys, tmp_path, data):
    import json
    run = _finished_run(tmp_path, data, capsys)
    before = {p.name: p.read_bytes() for p in run.checkpoints_dir.iterdir()}
    doc = json.loads(run.config_path.read_text())
    doc["config"]["model_config"]["ngf"] = 16
    run.config_path.write_text(json.dumps(doc))
    assert main(["train", "--resume", str(run.path), "--steps", "8", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "can be resumed" in err and "size mismatch" in err
    assert len(err.strip().splitlines()) <= 4  # not torch's whole listing
    assert {p.name: p.read_bytes() for p in run.checkpoints_dir.iterdir()} == before


@pytest.mark.parametrize("field, value, message", [
    ("device", 5, "device must be a text"),
    ("steps", None, "steps must be a whole number"),
    ("batch", "lots", "batch must be a whole number"),
])
def test_hand_edited_run_config_is_a_one_line_error(capsys, tmp_path, data, field, value, message):
    import json
    run = _finished_run(tmp_path, data, capsys)
    doc = json.loads(run.config_path.read_text())
    doc["config"][field] = value
    run.config_path.write_text(json.dumps(doc))
    assert message in _error(capsys, ["train", "--resume", str(run.path), "--steps", "8"])


def test_hand_edited_run_version_and_status(capsys, tmp_path, data):
    import json
    run = _finished_run(tmp_path, data, capsys)
    run.status_path.write_text(json.dumps({"state": 5, "step": "abc"}))
    assert main(["train", "--resume", str(run.path), "--steps", "6", "--quiet"]) == 0
    capsys.readouterr()
    doc = json.loads(run.config_path.read_text())
    doc["version"] = "2"
    run.config_path.write_text(json.dumps(doc))
    assert "version is not a whole number" in _error(capsys, ["train", "--resume", str(run.path), "--steps", "8"])


def test_a_relative_data_path_is_recorded_absolute_and_the_same_command_resumes(capsys, tmp_path, data, monkeypatch):
    # "data/imgs" was stored as typed: resuming from another folder (the Train tab runs the trainer in
    # the runs folder) could not find it, and --data with the absolute path was refused as a change.
    monkeypatch.chdir(data.parent)
    run = tmp_path / "run"
    argv = ["train", "--preset", "dcgan", "--data", data.name, "--out", str(run), "--steps", "2", "--quiet"] + TINY
    assert main(argv) == 0
    assert TrainConfig.from_dict(RunDir(run).read_config()).data == str(data.resolve())
    monkeypatch.chdir(tmp_path.parent)
    # The original command line again (restating --batch and the rest) with --resume and a new total.
    again = ["train", "--resume", str(run), "--data", str(data), "--steps", "4", "--quiet"] + TINY
    assert main(again) == 0, capsys.readouterr().err
    assert "finished at step 4" in capsys.readouterr().err
    err = _error(capsys, ["train", "--resume", str(run), "--batch", "4", "--steps", "6"])
    assert "cannot change 'batch'" in err  # a real change is still refused


# The trainer as `python -m ganstudio` runs it, except that it stops itself (SIGSTOP) just before building its
# parser, which imports torch: the moment at which the Train tab's Stop used to kill it.
_STOPS_BEFORE_TORCH = """
import os, signal, sys
import ganstudio.cli as cli
build_parser = cli.build_parser
def stopping_build_parser():
    os.kill(os.getpid(), signal.SIGSTOP)
    return build_parser()
cli.build_parser = stopping_build_parser
sys.exit(cli.main(sys.argv[1:]))
"""


@pytest.mark.slow  # a real `python -m ganstudio train` process
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the stopped state from /proc")
def test_a_stop_while_the_trainer_starts_is_a_clean_stop(tmp_path, wait_until):
    # The Train tab's Stop in the first second (torch still importing) met SIGTERM's default action:
    # the trainer died and the run showed as failed.  The signal arrives at that moment for certain (a
    # fixed sleep in the test could end before the interpreter had started, or after torch was imported).
    import signal
    import subprocess

    from ganstudio.training.monitor import process_state
    run = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-c", _STOPS_BEFORE_TORCH, "train", "--preset", "dcgan", "--data=shapes:64",
                             "--batch", "8", f"--out={run}", "--quiet", "--steps", "100000"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    wait_until(lambda: proc.poll() is not None or process_state(proc.pid) == "paused")
    assert proc.poll() is None, proc.communicate()[0]
    proc.send_signal(signal.SIGTERM)  # pending while it is stopped, delivered when it continues
    proc.send_signal(signal.SIGCONT)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    assert "stopped at step" in out and RunDir(run).read_status()["state"] == "stopped"


def test_in_process_train_leaves_the_signal_handlers_as_it_found_them(tmp_path, data):
    import signal
    before = signal.getsignal(signal.SIGINT)
    assert main(["train", "--preset", "dcgan", "--data", str(data), "--out", str(tmp_path / "r"), "--steps", "1",
                 "--quiet"] + TINY) == 0
    assert signal.getsignal(signal.SIGINT) is before


def test_a_second_trainer_on_a_run_in_training_is_refused(capsys, tmp_path, data):
    # Both trained at once: mixed checkpoints, and the first one's log lines went to a replaced file.
    from ganstudio.training import loop
    run = tmp_path / "run"
    assert main(["train", "--preset", "dcgan", "--data", str(data), "--out", str(run), "--steps", "2",
                 "--quiet"] + TINY) == 0
    capsys.readouterr()
    held = loop._lock_run(run)  # another process training it (a lock is per open file, also in one process)
    try:
        err = _error(capsys, ["train", "--resume", str(run), "--steps", "4", "--quiet"])
        assert "another process is training this run" in err
        assert [r["step"] for r in RunDir(run).read_log()] == [1, 2]  # untouched
    finally:
        held.close()
    assert main(["train", "--resume", str(run), "--steps", "4", "--quiet"]) == 0


def test_resume_keeps_the_runs_creation_time(capsys, tmp_path, data):
    # The Train tab lists runs by creation: a resumed run jumped to the top as if new.
    import json as _json
    run = tmp_path / "run"
    assert main(["train", "--preset", "dcgan", "--data", str(data), "--out", str(run), "--steps", "1",
                 "--quiet"] + TINY) == 0
    created = _json.loads((run / "config.json").read_text())["created"]
    assert main(["train", "--resume", str(run), "--steps", "2", "--quiet"]) == 0
    doc = _json.loads((run / "config.json").read_text())
    assert doc["created"] == created and doc["config"]["steps"] == 2


def _colour_folder(folder, n=16, res=16, size=None):
    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    for i in range(n):
        s = size(i) if size else res
        Image.fromarray(rng.integers(0, 256, (s, s, 3), dtype=np.uint8)).save(folder / f"{i:03d}.png")
    return folder


def test_channels_follow_the_data_unless_set_and_a_set_mismatch_is_explained_first(capsys, tmp_path):
    # The dcgan preset (grey, for Fashion-MNIST) on shapes-upright trained grey without a word.
    tiny = TINY  # the last step (1) writes a sample grid
    run = tmp_path / "rgb"
    argv = ["train", "--preset", "dcgan", "--data", "shapes-upright:32", "--out", str(run), "--steps", "1",
            "--quiet"] + tiny
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert TrainConfig.from_dict(RunDir(run).read_config()).channels == 3
    assert "channels=3: shapes-upright:32 is colour" in err
    import numpy as np
    from PIL import Image
    grid = np.asarray(Image.open(RunDir(run).sample_path(1)))
    assert (grid[..., 0] != grid[..., 1]).any()  # colour samples
    assert main(argv[:6] + [str(tmp_path / "grey")] + argv[7:] + ["--channels", "1"]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == ("ganstudio train: note: channels=1 as set: the colour images of shapes-upright:32 are "
                        "trained as grey (luma)")
    assert TrainConfig.from_dict(RunDir(tmp_path / "grey").read_config()).channels == 1


def test_resolution_follows_an_image_folder_of_one_size_unless_set(capsys, tmp_path):
    data = _colour_folder(tmp_path / "data", res=16)
    tiny = [a for a in TINY]
    del tiny[tiny.index("--resolution"):tiny.index("--resolution") + 2]
    assert main(["train", "--preset", "dcgan", "--data", str(data), "--out", str(tmp_path / "a"), "--steps", "1"]
                + tiny) == 0
    cfg = TrainConfig.from_dict(RunDir(tmp_path / "a").read_config())
    assert (cfg.channels, cfg.resolution) == (3, 16)
    assert "resolution=16: the size of the images" in capsys.readouterr().err
    assert main(["train", "--preset", "dcgan", "--data", str(data), "--out", str(tmp_path / "b"), "--steps", "1",
                 "--resolution", "32"] + tiny) == 0
    assert TrainConfig.from_dict(RunDir(tmp_path / "b").read_config()).resolution == 32
    assert "resolution=32: the 16x16 images" in capsys.readouterr().err


def test_data_geometry(tmp_path):
    import dataclasses

    from ganstudio.training.data import DataGeometry, data_geometry
    from ganstudio.training.presets import follow_data, get_preset
    assert data_geometry(str(write_image_folder(tmp_path / "grey", n=4, res=8))) == DataGeometry(1, 8)
    assert data_geometry(str(_colour_folder(tmp_path / "rgb", n=4, res=8))) == DataGeometry(3, 8)
    mixed = _colour_folder(tmp_path / "mixed", n=4, size=lambda i: 8 + 8 * (i % 2))
    assert data_geometry(str(mixed)) == DataGeometry(3, None)
    assert data_geometry("shapes-upright") == DataGeometry(3, None)
    assert data_geometry(str(tmp_path / "nothing")) is None
    # Photos are not followed to their size (hours per step on a CPU), only told about.
    big = _colour_folder(tmp_path / "big", n=2, res=512)
    cfg, notes = follow_data(dataclasses.replace(get_preset("dcgan"), data=str(big)))
    assert (cfg.channels, cfg.resolution) == (3, 32)
    assert notes[-1] == (f"resolution=32: the 512x512 images of {big} are resized to 32x32 (set resolution to "
                         "train at another size)")
    # A preset on its own data keeps its recipe (mlp-gan: MNIST at 28 px, not the padded 32).
    cfg = get_preset("mlp-gan")
    assert follow_data(cfg) == (cfg, [])
