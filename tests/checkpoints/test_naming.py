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
