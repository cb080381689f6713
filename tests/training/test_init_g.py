"""init_g: a new run's G starts from the generator of a GAN Studio file (fine-tuning)."""
import dataclasses

import pytest
import torch
from _train_helpers import TinyData, tiny_config

from ganstudio.checkpoints import load_checkpoint
from ganstudio.training.loop import _Trainer, train
from ganstudio.training.run_dir import RunDir


def _source(tmp_path):
    cfg = tiny_config("dcgan", steps=2, ckpt_every=2, sample_every=0)
    list(train(cfg, tmp_path / "src", dataset=TinyData()))
    path = RunDir(tmp_path / "src").checkpoints()[-1][1]
    return cfg, path, load_checkpoint(path).G.state_dict()


def test_init_g_starts_the_generator_from_the_files_weights(tmp_path):
    cfg, path, want = _source(tmp_path)
    started = _Trainer(dataclasses.replace(cfg, seed=1, init_g=str(path)), tmp_path / "b", resume=False,
                       dataset=TinyData(), stop=None).G.state_dict()
    assert want.keys() == started.keys() and all(torch.equal(started[k], want[k]) for k in want)
    fresh = _Trainer(dataclasses.replace(cfg, seed=1), tmp_path / "c", resume=False,
                     dataset=TinyData(), stop=None).G.state_dict()
    assert any(not torch.equal(fresh[k], want[k]) for k in want if want[k].is_floating_point())


def test_init_g_from_another_architecture_or_no_file_is_refused_before_writing(tmp_path):
    _cfg, path, _want = _source(tmp_path)
    other = tiny_config("infogan", init_g=str(path))  # z + codes: G's first layer has another shape
    with pytest.raises(ValueError, match="init_g .*(shape|architecture)"):
        next(train(other, tmp_path / "d", dataset=TinyData(classes=0)))
    assert not (tmp_path / "d").exists()
    with pytest.raises(ValueError, match="not a readable safetensors file"):
        next(train(tiny_config("dcgan", init_g=str(tmp_path / "none.safetensors")), tmp_path / "e",
                   dataset=TinyData()))
    assert not (tmp_path / "e").exists()
