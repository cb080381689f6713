"""Run folders written before the training refactor (tests/training/fixtures, made by the code of
commit 557f966) still load and resume bit-exactly: the resumed run ends with the same tensors as an
uninterrupted run of that older code."""
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


@pytest.mark.parametrize("name", ["infogan", "stylegan2"])
def test_old_run_folder_resumes_bit_exactly(name, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(FIXTURES / f"old_run_{name}", run)
    cfg = TrainConfig.from_dict(RunDir(run).read_config())
    data = TinyData(n=20, res=cfg.resolution, classes=0)
    steps = [s["step"] for s in train(cfg, run, dataset=data, resume=True)]
    assert steps == [4, 5, 6]
    expected = json.loads((FIXTURES / "old_runs_expected.json").read_text())[name]
    assert _digest(run / "checkpoints/ckpt_000006.safetensors") == expected
