"""Run folders written before the training refactor (tests/training/fixtures, made by the code of
commit 557f966) still load and resume bit-exactly.

The fixtures' own continuation (old_runs_expected.json: the digest of an uninterrupted run of that older
code) was recorded on one machine; float results of the CPU kernels differ between machines (a rerun of a
shipped recipe is bit for bit on the machine that trained it and not on another), so that digest is checked
only where this machine reproduces the fixture's first three steps.  Everywhere, resuming the old folder
straight to step 6 must end with the same tensors as resuming it to step 4 and then that (new-format)
checkpoint to step 6."""
import dataclasses
import hashlib
import json
import shutil
from pathlib import Path

import pytest
from _train_helpers import TinyData
from safetensors.torch import load_file

from ganstudio.training.loop import train
from ganstudio.training.presets import TrainConfig
from ganstudio.training.run_dir import RunDir

FIXTURES = Path(__file__).parent / "fixtures"


def _digest(path: Path) -> str:
    t = load_file(str(path))
    h = hashlib.sha256()
    for k in sorted(t):
        h.update(k.encode())
        h.update(t[k].contiguous().numpy().tobytes())
    return h.hexdigest()


def _train(name: str, run: Path, resume: bool, **overrides) -> list:
    """Train `run` with the fixture's config (fields overridden); the steps it reports."""
    cfg = dataclasses.replace(TrainConfig.from_dict(RunDir(FIXTURES / f"old_run_{name}").read_config()), **overrides)
    data = TinyData(n=20, res=cfg.resolution, classes=0)
    return [s["step"] for s in train(cfg, run, dataset=data, resume=resume)]


def _resume(name: str, run: Path, steps: int) -> list:
    if not run.exists():
        shutil.copytree(FIXTURES / f"old_run_{name}", run)
    return _train(name, run, True, steps=steps)


def _reproduces_fixture_start(name: str, tmp_path: Path, **overrides) -> bool:
    """Does this machine train the fixture's first three steps to the very same tensors?"""
    run = tmp_path / "fresh"
    _train(name, run, False, **{"steps": 3, **overrides})
    ours = load_file(str(run / "checkpoints/ckpt_000003.safetensors"))
    theirs = load_file(str(FIXTURES / f"old_run_{name}/checkpoints/ckpt_000003.safetensors"))
    keys = [k for k in theirs if k.startswith(("G.", "D.")) and k in ours]
    return bool(keys) and all(ours[k].equal(theirs[k]) for k in keys)


@pytest.mark.parametrize("name", ["infogan", "stylegan2"])
def test_old_run_folder_resumes_bit_exactly(name, tmp_path):
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert _resume(name, straight, 6) == [4, 5, 6]
    assert _resume(name, split, 4) == [4]
    assert _resume(name, split, 6) == [5, 6]
    digest = _digest(straight / "checkpoints/ckpt_000006.safetensors")
    assert _digest(split / "checkpoints/ckpt_000006.safetensors") == digest
    if _reproduces_fixture_start(name, tmp_path):
        expected = json.loads((FIXTURES / "old_runs_expected.json").read_text())[name]
        assert digest == expected


def test_the_machine_check_compares_real_tensors(tmp_path):
    """A run of another seed never passes it, on any machine."""
    assert not _reproduces_fixture_start("infogan", tmp_path, seed=12345)
