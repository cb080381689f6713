import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
import torch

# Two cores: keep each test process from oversubscribing them.
torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture
def tmp_ckpt(tmp_path):
    return tmp_path / "model.safetensors"
