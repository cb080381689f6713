"""Loading builds the network once, on a memory budget set by the file; no meta-device detour on the way."""
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ganstudio.checkpoints import CheckpointError, budget, load_checkpoint, save_checkpoint
from ganstudio.checkpoints import format as ckpt_format
from ganstudio.models import create_generator, get_spec

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def biggan(tmp_path):
    torch.manual_seed(0)
    G = create_generator("biggan", **get_spec("biggan").tiny)  # spectral norm everywhere
    path = tmp_path / "biggan.safetensors"
    save_checkpoint(path, G)
    return path, G


def test_opening_a_checkpoint_does_not_import_torchdynamo(biggan):
    # Any arithmetic on the meta device imports TorchDynamo (seconds) and runs slow Python kernels:
    # the shipped BigGAN took 5 s to open that way instead of a fraction of one.
    code = ("import sys; from ganstudio.checkpoints import load_checkpoint; "
            f"load_checkpoint({str(biggan[0])!r}); print('torch._dynamo' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_a_network_whose_construction_needs_room_still_opens(biggan, monkeypatch):
    monkeypatch.setattr(ckpt_format, "SIZE_SLACK", -10**12)  # every build goes over budget at once
    path, G = biggan
    ck = load_checkpoint(path)  # the meta-device twin fits the file: built anyway
    z = torch.randn(2, G.z_dim)
    c = torch.eye(G.c_dim)[:2]
    with torch.no_grad():
        assert torch.equal(ck.G.eval()(z, c), G.eval()(z, c))


def test_a_misfit_over_budget_is_refused_by_the_twin(tmp_path, monkeypatch):
    monkeypatch.setattr(ckpt_format, "SIZE_SLACK", -10**12)
    path = tmp_path / "dcgan.safetensors"
    save_checkpoint(path, create_generator("dcgan", **get_spec("dcgan").tiny))
    real_load = ckpt_format.read_meta

    def wider(p):
        meta = real_load(p)
        meta["config"]["ngf"] = meta["config"]["ngf"] * 2
        return meta
    monkeypatch.setattr(ckpt_format, "read_meta", wider)
    with pytest.raises(CheckpointError, match="wrong shape"):
        load_checkpoint(path)


@pytest.mark.parametrize("call, nbytes", [
    (lambda: torch.empty(2, 3), 24),
    (lambda: torch.empty((2, 3)), 24),
    (lambda: torch.zeros(size=(4,), dtype=torch.float64), 32),
    (lambda: torch.full((2, 3), 7.0), 24),
    (lambda: torch.randn(2, 3, dtype=torch.float16), 12),
    (lambda: torch.ones([5], dtype=torch.uint8), 5),
    (lambda: torch.ones(2, dtype=torch.float64).new_zeros(3), 24),
    (lambda: torch.ones(2).new_full((2, 2), 1.0), 16),
])
def test_the_budget_counts_what_each_factory_call_allocates(call, nbytes):
    counter = budget.Budget(10**9)
    with counter:
        call()
    assert counter.used >= nbytes and counter.used - nbytes <= 16  # new_* also counts its 2-element source


def test_the_budget_stops_a_build_before_the_allocation_that_would_pass_it():
    with pytest.raises(budget.OverBudget):
        with budget.Budget(1000):
            torch.empty(10, 10)  # 400 bytes
            torch.empty(1000, 1000)  # 4 MB: refused before it is made
