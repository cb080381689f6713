"""Resume: stopping halfway and resuming gives bit-identical weights, EMA and optimizer state on CPU."""
import json
import logging

import pytest
import torch
from _train_helpers import TinyData, model_registered, tiny_config, write_image_folder
from safetensors.torch import load_file

from ganstudio.checkpoints import read_meta
from ganstudio.training.loop import train
from ganstudio.training.run_dir import RunDir



def _run(cfg, folder, data, *, stop_at=None, resume=False):
    seen = []
    stop = (lambda: bool(seen) and seen[-1] >= stop_at) if stop_at else None
    for s in train(cfg, folder, dataset=data, resume=resume, stop=stop):
        seen.append(s["step"])
    return seen


CASES = {
    # BatchNorm, EMA, random flips, two D steps per G step, several epochs of a 20-image set.
    "dcgan-ema-flip-k2": ("dcgan", dict(ema=0.9, flip=True, k_disc=2)),
    "mlp-gan-dropout": ("mlp-gan", dict(label_smoothing=0.1, instance_noise=0.1)),
    "wgan-gp": ("wgan-gp", dict(k_disc=2)),
    "acgan": ("acgan", {}),
    "stylegan2": ("stylegan2", dict(r1_every=2)),
    # Path length regularization keeps a running mean a: it must survive the resume too.
    "stylegan2-pl-lazy-adam": ("stylegan2", dict(r1_every=2, pl=2.0, pl_every=2, lazy_adam=True)),
    "vae": ("vae", {}),
    # BEGAN's k_t is training state; EBGAN's pulling-away term; the AAE's three steps per batch.
    "began": ("began", dict(lambda_k=0.05)),
    "ebgan": ("ebgan", {}),
    "aae": ("aae", {}),
    # The VQ-VAE's two stages (EMA codebook and restarts, then the prior), interrupted in each.
    "vqvae-stop-in-stage-1": ("vqvae", dict(vq_steps=4)),
    "vqvae-stop-in-stage-2": ("vqvae", dict(vq_steps=2)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_resumed_run_matches_an_uninterrupted_one(case, tmp_path):
    preset, over = CASES[case]
    cfg = tiny_config(preset, steps=6, ckpt_every=6, sample_every=6, **over)
    if not model_registered(cfg.model):
        pytest.skip(f"model {cfg.model!r} is not registered yet")
    data = TinyData(n=20, res=cfg.resolution, classes=3)
    assert _run(cfg, tmp_path / "straight", data) == [1, 2, 3, 4, 5, 6]
    assert _run(cfg, tmp_path / "split", data, stop_at=3) == [1, 2, 3]
    assert RunDir(tmp_path / "split").read_status()["state"] == "stopped"
    assert _run(cfg, tmp_path / "split", data, resume=True) == [4, 5, 6]
    a = tmp_path / "straight/checkpoints/ckpt_000006.safetensors"
    b = tmp_path / "split/checkpoints/ckpt_000006.safetensors"
    ta, tb = load_file(str(a)), load_file(str(b))
    assert ta.keys() == tb.keys()
    # G (the EMA copy when EMA is on), D, raw G, optimizer moments and steps, RNG state: all bit-equal.
    assert any(k.startswith("extra.opt_G.") for k in ta) and any(k.startswith("G.") for k in ta)
    different = [k for k in ta if not torch.equal(ta[k], tb[k])]
    assert not different, f"differ after resume: {different[:5]}"
    ra, rb = read_meta(a)["extra"]["resume"], read_meta(b)["extra"]["resume"]
    assert ra == rb
    # The log of the resumed run reads like the uninterrupted one.
    steps = [r["step"] for r in RunDir(tmp_path / "split").read_log()]
    assert steps == [1, 2, 3, 4, 5, 6]


def test_resume_with_image_folder_data_and_flips(tmp_path):
    """The real data path: an ImageDataset with its own per-epoch flips."""
    from ganstudio.training.data import make_dataset

    folder = write_image_folder(tmp_path / "imgs", n=20, res=16)
    cfg = tiny_config("dcgan", steps=6, ckpt_every=6, sample_every=6, flip=True, data=str(folder))
    data = make_dataset(cfg.data, cfg.resolution, cfg.channels, flip=True)
    _run(cfg, tmp_path / "straight", data)
    data = make_dataset(cfg.data, cfg.resolution, cfg.channels, flip=True)
    _run(cfg, tmp_path / "split", data, stop_at=2)
    data = make_dataset(cfg.data, cfg.resolution, cfg.channels, flip=True)
    _run(cfg, tmp_path / "split", data, resume=True)
    ta = load_file(str(tmp_path / "straight/checkpoints/ckpt_000006.safetensors"))
    tb = load_file(str(tmp_path / "split/checkpoints/ckpt_000006.safetensors"))
    assert all(torch.equal(ta[k], tb[k]) for k in ta)


def test_resume_skips_a_corrupt_newest_checkpoint_and_truncates_the_log(tmp_path, caplog):
    cfg = tiny_config("dcgan", steps=6, ckpt_every=3, sample_every=100, keep=5)
    run = RunDir(tmp_path / "run")
    data = TinyData()
    _run(cfg, run.path, data)
    good6 = {k: v.clone() for k, v in load_file(str(run.checkpoint_path(6))).items()}  # not a view of the file
    run.checkpoint_path(6).write_bytes(b"\x00" * 100)  # a torn file, as a crash on a bad disk leaves
    with caplog.at_level(logging.WARNING, logger="ganstudio.training"):
        assert _run(cfg, run.path, data, resume=True) == [4, 5, 6]
    assert "ckpt_000006" in caplog.text
    assert [r["step"] for r in run.read_log()] == [1, 2, 3, 4, 5, 6]
    again = load_file(str(run.checkpoint_path(6)))
    assert all(torch.equal(good6[k], again[k]) for k in good6)


def test_resume_without_checkpoints_starts_over(tmp_path, caplog):
    cfg = tiny_config("dcgan", steps=2)
    run = RunDir(tmp_path / "run")
    run.write_config(cfg.to_dict())
    run.log_path.write_text(json.dumps({"step": 5}) + "\n{partial")
    with caplog.at_level(logging.WARNING, logger="ganstudio.training"):
        assert _run(cfg, run.path, TinyData(), resume=True) == [1, 2]
    assert "starting from step 0" in caplog.text
    assert [r["step"] for r in run.read_log()] == [1, 2]
