from pathlib import Path

import pytest

from ganstudio.checkpoints import step_of


@pytest.mark.parametrize("name, step", [
    ("ckpt_000100.safetensors", 100), ("runs/a_b/checkpoints/ckpt_1234567.safetensors", 1234567),
    ("step_000045.png", 45), (Path("ckpt_000000.safetensors"), 0),
    ("G.pt", None), ("ckpt_.safetensors", None), ("_000100.png", None), ("ckpt_12a.safetensors", None),
    ("ckpt_\u0661\u0662.safetensors", None),  # Arabic-Indic digits: str.isdigit, but no step of ours
    ("ckpt_-5.safetensors", None),
])
def test_step_of(name, step):
    assert step_of(name) == step


def test_a_run_folder_lists_its_checkpoints_by_the_same_parser(tmp_path):
    from ganstudio.training.run_dir import RunDir
    run = RunDir(tmp_path)
    run.checkpoints_dir.mkdir(parents=True)
    for name in ("ckpt_000010.safetensors", "ckpt_1234567.safetensors", "ckpt_x_12.safetensors", "other_5.safetensors",
                 ".ckpt_000020.safetensors.tmpAb12", "ckpt_000030.safetensors.tmp", "ckpt_.safetensors", "step_000040.png"):
        (run.checkpoints_dir / name).write_bytes(b"")
    assert [(s, p.name) for s, p in run.checkpoints()] == [(10, "ckpt_000010.safetensors"),
                                                           (1234567, "ckpt_1234567.safetensors")]
