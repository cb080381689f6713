"""The training loop: stats it yields, the run folder it writes, stopping and failing."""
import json
import math

import pytest
import torch
from _train_helpers import TinyData, tiny_config

from ganstudio.checkpoints import load_checkpoint
from ganstudio.training.data import DatasetError
from ganstudio.training.loop import TrainingError, progressive_schedule, train
from ganstudio.training.presets import TrainConfig
from ganstudio.training.run_dir import RunDir



def test_stats_and_run_folder(tmp_path):
    cfg = tiny_config("dcgan", steps=6, ema=0.9, log_every=2, sample_every=3, ckpt_every=3, keep=1)
    run = RunDir(tmp_path / "run")
    stats = list(train(cfg, run.path, dataset=TinyData()))
    assert [s["step"] for s in stats] == [2, 3, 4, 6]
    for s in stats:
        assert s["kimg"] == s["step"] * 8 / 1000 and s["steps"] == 6
        assert s["img_per_s"] > 0 and s["eta_s"] >= 0
        assert {"loss_D", "loss_G", "D_real", "D_fake"} <= set(s["losses"])
    assert stats[-1]["eta_s"] == 0
    # Samples every 3 steps: a uint8 grid and its PNG.
    assert "sample" not in stats[0] and stats[1]["sample"].dtype.name == "uint8"
    assert stats[1]["sample"].shape == (2 * 16, 2 * 16, 3)  # 4 samples of 16 px in a 2x2 grid
    assert [p.name for p in sorted(run.samples_dir.iterdir())] == ["step_000003.png", "step_000006.png"]
    # Checkpoints every 3 steps, only the newest one kept.
    assert [s for s, _ in run.checkpoints()] == [6]
    assert stats[1]["checkpoint"].endswith("ckpt_000003.safetensors")
    # config.json, log.jsonl, status.json
    assert TrainConfig.from_dict(run.read_config()) == cfg
    log = [json.loads(line) for line in run.log_path.read_text().splitlines()]
    assert [r["step"] for r in log] == [2, 3, 4, 6] and "sample" not in log[1] and "sample_path" in log[1]
    status = run.read_status()
    assert status["state"] == "finished" and status["step"] == 6 and status["pid"] > 0
    assert status["checkpoint"].endswith("ckpt_000006.safetensors")
    # The checkpoint opens in the explorer, with the EMA generator as G and the raw one kept aside.
    ckpt = load_checkpoint(status["checkpoint"], load_D=True)
    assert ckpt.D is not None and ckpt.meta["training"]["ema"] == 0.9
    raw = {k[6:]: v for k, v in ckpt.extra.items() if k.startswith("G_raw.")}
    ema = ckpt.G.state_dict()
    assert raw.keys() == ema.keys()
    assert any(not torch.equal(raw[k], ema[k]) for k in ema if ema[k].is_floating_point())


def test_sample_grid_shows_one_class_per_row(tmp_path):
    cfg = tiny_config("cgan", steps=1, sample_count=9)
    stats = list(train(cfg, tmp_path / "run", dataset=TinyData(classes=3)))
    assert stats[-1]["sample"].shape == (3 * 16, 3 * 16, 3)


def test_stop_saves_a_checkpoint_and_marks_the_run_stopped(tmp_path):
    seen = []
    cfg = tiny_config("dcgan", steps=50, ckpt_every=100, sample_every=100)
    for s in train(cfg, tmp_path / "run", dataset=TinyData(), stop=lambda: len(seen) >= 3):
        seen.append(s["step"])
    run = RunDir(tmp_path / "run")
    assert run.read_status()["state"] == "stopped" and run.read_status()["step"] == 3
    assert [s for s, _ in run.checkpoints()] == [3]
    load_checkpoint(run.checkpoint_path(3))


def test_closing_the_generator_stops_cleanly(tmp_path):
    cfg = tiny_config("dcgan", steps=50, ckpt_every=100, sample_every=100)
    gen = train(cfg, tmp_path / "run", dataset=TinyData())
    for s in gen:
        if s["step"] == 2:
            break
    gen.close()
    run = RunDir(tmp_path / "run")
    assert run.read_status()["state"] == "stopped" and [s for s, _ in run.checkpoints()] == [2]


class _PoisonedData(TinyData):
    """Real images turn to NaN after ``good`` items, as a diverging run's would."""

    def __init__(self, good):
        super().__init__()
        self.good, self.served = good, 0

    def __getitem__(self, i):
        img, label = super().__getitem__(i)
        self.served += 1
        return (img * float("nan") if self.served > self.good else img), label


def test_nan_loss_fails_the_run_and_keeps_the_last_good_checkpoint(tmp_path):
    cfg = tiny_config("dcgan", steps=10, log_every=5, ckpt_every=2, sample_every=100)
    run = RunDir(tmp_path / "run")
    with pytest.raises(TrainingError, match="loss became NaN at step 4"):
        for _ in train(cfg, run.path, dataset=_PoisonedData(good=3 * 8)):
            pass
    status = run.read_status()
    assert status["state"] == "failed" and status["reason"] == "loss became NaN at step 4"
    assert [s for s, _ in run.checkpoints()] == [2]
    ckpt = load_checkpoint(run.checkpoint_path(2), load_D=True)
    assert all(torch.isfinite(p).all() for p in ckpt.D.parameters())


def test_missing_data_fails_before_writing_anything(tmp_path):
    cfg = tiny_config("dcgan", data=str(tmp_path / "nowhere"))
    with pytest.raises(DatasetError, match="nowhere"):
        next(train(cfg, tmp_path / "run"))
    assert not (tmp_path / "run").exists()


def test_bad_data_for_the_preset_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="needs a labelled data set"):
        next(train(tiny_config("cgan"), tmp_path / "a", dataset=TinyData(classes=0)))
    with pytest.raises(ValueError, match="fewer than one batch"):
        next(train(tiny_config("dcgan", batch=64), tmp_path / "b", dataset=TinyData(n=10)))


def test_weight_clipping_in_the_loop(tmp_path):
    cfg = tiny_config("wgan-clip", steps=2, k_disc=2, clip=0.02)
    stats = list(train(cfg, tmp_path / "run", dataset=TinyData()))
    D = load_checkpoint(stats[-1]["checkpoint"], load_D=True).D
    ws = torch.cat([p.flatten() for p in D.parameters()])
    assert ws.abs().max() <= 0.02 and (ws.abs() == 0.02).any()


def test_progressive_schedule():
    # 1 kimg per phase: stage 0 stable, then fade-in / stable per stage.
    assert progressive_schedule(0, 1.0, 3) == (0, 1.0)
    assert progressive_schedule(999, 1.0, 3) == (0, 1.0)
    assert progressive_schedule(1000, 1.0, 3) == (1, 0.0)
    assert progressive_schedule(1500, 1.0, 3) == (1, 0.5)
    assert progressive_schedule(2500, 1.0, 3) == (1, 1.0)
    assert progressive_schedule(3250, 1.0, 3) == (2, 0.25)
    assert progressive_schedule(10 ** 6, 1.0, 3) == (2, 1.0)
    assert progressive_schedule(0, 0.0, 3) == (2, 1.0)  # no growing: full size from the start


def test_progan_grows_during_training(tmp_path):
    from _train_helpers import model_registered
    if not model_registered("progan"):
        pytest.skip("model 'progan' is not registered yet")
    cfg = tiny_config("progan", steps=6, phase_kimg=0.008)  # one step per phase
    stats = list(train(cfg, tmp_path / "run", dataset=TinyData()))
    assert [(s["stage"], s["alpha"]) for s in stats] == [(0, 1.0), (1, 0.0), (1, 1.0), (2, 0.0), (2, 1.0), (2, 1.0)]
    assert all(math.isfinite(v) for s in stats for v in s["losses"].values())


def test_worker_processes_load_the_same_batches(tmp_path):
    """num_workers > 0 changes who reads the data, not which data: the weights come out identical."""
    from safetensors.torch import load_file
    outs = []
    for workers in (0, 2):
        cfg = tiny_config("dcgan", steps=3, ckpt_every=3, sample_every=3, num_workers=workers, flip=True)
        list(train(cfg, tmp_path / f"w{workers}", dataset=TinyData(n=20)))
        outs.append(load_file(str(tmp_path / f"w{workers}/checkpoints/ckpt_000003.safetensors")))
    assert all(torch.equal(outs[0][k], outs[1][k]) for k in outs[0])


def test_reuse_fakes_runs_one_generator_forward_per_step(tmp_path, monkeypatch):
    """The DCGAN recipe's G step trains on the D step's fakes: G runs once per step, not twice."""
    from ganstudio.models.dcgan import DCGANGenerator
    from ganstudio.training.presets import apply_overrides, get_preset
    calls = []
    orig = DCGANGenerator.synthesis
    monkeypatch.setattr(DCGANGenerator, "synthesis", lambda self, *a, **k: calls.append(1) or orig(self, *a, **k))
    imgs = torch.rand(32, 1, 16, 16) * 2 - 1
    ds = torch.utils.data.TensorDataset(imgs, torch.zeros(32, dtype=torch.long))
    counts = {}
    for reuse in (True, False):
        cfg = apply_overrides(get_preset("dcgan"), {
            "resolution": 16, "channels": 1, "batch": 8, "steps": 3, "sample_every": 0, "ckpt_every": 0,
            "log_every": 3, "reuse_fakes": reuse, "model.ngf": 8, "model.ndf": 8, "model.z_dim": 8})
        calls.clear()
        stats = list(train(cfg, tmp_path / f"run{reuse}", dataset=ds))
        assert torch.isfinite(torch.tensor(stats[-1]["losses"]["loss_G"]))
        counts[reuse] = len(calls)
    assert counts[True] < counts[False]


def test_path_length_regularization_and_lazy_adam(tmp_path):
    from ganstudio.checkpoints import read_meta
    cfg = tiny_config("stylegan2", steps=4, pl=2.0, pl_every=2, r1=1.0, r1_every=4, lazy_adam=True,
                      sample_every=0, log_every=1)
    stats = list(train(cfg, tmp_path / "run", dataset=TinyData()))
    logged = [s["losses"] for s in stats]
    # Lazy: the penalty is taken on every second G step only (steps 0 and 2 -> logged at 1 and 3).
    assert ["pl" in x for x in logged] == [True, False, True, False]
    assert all(math.isfinite(x["pl"]) for x in logged if "pl" in x)
    state = read_meta(stats[-1]["checkpoint"])["extra"]["resume"]
    assert state["pl_mean"] > 0  # the running mean path length moved off zero
    # Adam adjusted for the lazy regularizers: lr * c, betas ** c with c = N / (N + 1).
    g = state["opt_G"]["param_groups"][0]
    d = state["opt_D"]["param_groups"][0]
    assert math.isclose(g["lr"], cfg.lr_g * 2 / 3) and math.isclose(g["betas"][1], cfg.betas_g[1] ** (2 / 3))
    assert math.isclose(d["lr"], cfg.lr_d * 4 / 5) and math.isclose(d["betas"][1], cfg.betas_d[1] ** (4 / 5))


def test_lazy_adam_gives_each_lazy_regularizer_an_adam_step_of_its_own(tmp_path, monkeypatch):
    # c = N / (N + 1) assumes N + 1 steps per N batches (the paper's separate regularization pass);
    # with the penalty folded into the main step G moved 20 % less per N batches than the paper's.
    from ganstudio.training import loop
    counts, make = {}, loop.make_optimizer

    def counting(params, kind, lr, betas, lazy_every=1):
        opt = make(params, kind, lr, betas, lazy_every)
        counts[lazy_every] = 0
        opt.register_step_post_hook(lambda *_: counts.__setitem__(lazy_every, counts[lazy_every] + 1))
        return opt
    monkeypatch.setattr(loop, "make_optimizer", counting)
    cfg = tiny_config("stylegan2", steps=4, pl=2.0, pl_every=2, r1=1.0, r1_every=4, lazy_adam=True,
                      sample_every=0, log_every=1, k_disc=1)
    list(train(cfg, tmp_path / "run", dataset=TinyData()))
    assert counts == {2: 4 + 2, 4: 4 + 1}  # G: 4 steps + PL at steps 0 and 2; D: 4 steps + R1 at its step 0


def test_path_length_regularization_needs_a_style_based_generator(tmp_path):
    with pytest.raises(ValueError, match="needs a style-based generator"):
        next(train(tiny_config("dcgan", pl=2.0), tmp_path / "run", dataset=TinyData()))


@pytest.mark.parametrize("model, setting, words", [
    ("sngan-projection", {"aux_class": 1.0}, "no class head"),  # died in the first D step: KeyError
    ("cgan", {"aux_class": 1.0}, "no class head"),
    ("dcgan", {"info": 1.0}, "no latent codes"),  # was silently ignored
])
def test_auxiliary_losses_the_model_cannot_train_are_refused(tmp_path, model, setting, words):
    with pytest.raises(ValueError, match=words):
        next(train(tiny_config(model, **setting), tmp_path / "run", dataset=TinyData()))


def test_label_smoothing_is_refused_for_losses_without_a_real_target():
    from ganstudio.training.presets import apply_overrides, get_preset
    with pytest.raises(ValueError, match="hinge loss has none"):
        apply_overrides(get_preset("sngan-projection"), {"label_smoothing": 0.1})
    assert apply_overrides(get_preset("dcgan"), {"label_smoothing": 0.1}).label_smoothing == 0.1


def test_w_avg_beta_reaches_the_model_it_trains(tmp_path):
    # The loop passed the training config's 0.995 whatever model.w_avg_beta said (and the checkpoint
    # recorded the model's value).
    from ganstudio.checkpoints import read_meta
    base = tiny_config("stylegan2").model_config
    for name, setting in (("a", {"model_config": {**base, "w_avg_beta": 0.5}}), ("b", {"w_avg_beta": 0.5})):
        cfg = tiny_config("stylegan2", steps=1, sample_every=0, log_every=1, **setting)
        stats = list(train(cfg, tmp_path / name, dataset=TinyData()))
        ck = load_checkpoint(stats[-1]["checkpoint"])
        assert read_meta(stats[-1]["checkpoint"])["config"]["w_avg_beta"] == 0.5
        assert ck.G.mapping.w_avg_beta == 0.5
    w_a = load_checkpoint(list((tmp_path / "a").rglob("*.safetensors"))[0]).G.mapping.w_avg
    w_b = load_checkpoint(list((tmp_path / "b").rglob("*.safetensors"))[0]).G.mapping.w_avg
    assert torch.equal(w_a, w_b)  # one knob under two names
    with pytest.raises(ValueError, match="contradicts"):
        next(train(tiny_config("stylegan2", w_avg_beta=0.9, model_config={**base, "w_avg_beta": 0.5}),
                   tmp_path / "c", dataset=TinyData()))


def test_training_picks_its_device_with_the_one_picker(monkeypatch):
    # The loop had its own picker, which ignored Apple MPS on "auto".
    from ganstudio import devices
    from ganstudio.engine import pick_device
    from ganstudio.training import loop
    assert loop.pick_device is pick_device is devices.pick_device
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert devices.pick_device("auto").type == "mps"
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        devices.pick_device("tpu")
