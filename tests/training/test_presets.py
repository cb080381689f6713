"""Presets: each family's recipe is valid, overridable, and trains a few steps with its tiny model."""
import math

import pytest
from _train_helpers import TinyData, model_registered, tiny_config

from ganstudio.checkpoints import load_checkpoint
from ganstudio.training.loop import train
from ganstudio.training.presets import PRESETS, TrainConfig, apply_overrides, get_preset, list_presets

FAMILIES = ["dcgan", "wgan-clip", "wgan-gp", "lsgan", "cgan", "acgan", "sngan-projection", "sagan", "biggan",
            "progan", "stylegan2", "vae", "mlp-gan", "infogan", "ebgan", "began", "aae", "vqvae"]

# Terms each recipe must report, beyond the adversarial losses.
EXPECTED_TERMS = {"wgan-gp": {"gp"}, "acgan": {"class_D", "class_G"}, "infogan": {"info_D", "info_G"},
                  "biggan": {"ortho"}, "progan": {"gp", "drift"}, "stylegan2": {"r1"},
                  "vae": {"loss_vae", "vae_recon", "vae_kl"}, "ebgan": {"pt"}, "began": {"k_t", "M_global"},
                  "aae": {"aae_recon"}, "vqvae": {"loss_vq", "vq_recon", "vq_commit", "vq_perplexity", "prior_nll"}}
# Tiny-run settings beyond tiny_config: the VQ-VAE's two stages both within the four steps.
TINY_OVER = {"vqvae": dict(vq_steps=2)}



def test_every_family_has_a_valid_preset():
    assert sorted(FAMILIES) == list_presets()
    for name in FAMILIES:
        cfg = get_preset(name)
        assert cfg.preset == name
        cfg.validate()
        assert TrainConfig.from_dict(cfg.to_dict()) == cfg  # survives config.json


def test_recipes_follow_their_papers():
    wc, gp = get_preset("wgan-clip"), get_preset("wgan-gp")
    assert (wc.loss, wc.optimizer, wc.lr_d, wc.clip, wc.k_disc) == ("wgan", "rmsprop", 5e-5, 0.01, 5)
    assert (gp.loss, gp.gp, gp.betas_d, gp.k_disc) == ("wgan", 10.0, (0.0, 0.9), 5)
    assert get_preset("dcgan").betas_g == (0.5, 0.999) and get_preset("dcgan").lr_g == 2e-4
    assert get_preset("sagan").lr_d == 4 * get_preset("sagan").lr_g  # TTUR
    assert get_preset("sngan-projection").loss == "hinge"
    assert get_preset("biggan").ortho > 0 and get_preset("biggan").ema > 0
    assert get_preset("progan").phase_kimg > 0 and get_preset("stylegan2").style_mixing == 0.9
    assert get_preset("infogan").model_config["info_cat"] == 10


def test_get_preset_returns_a_copy():
    a = get_preset("infogan")
    a.model_config["z_dim"] = 1
    assert PRESETS["infogan"].model_config["z_dim"] == 62


def test_overrides_parse_by_field_type():
    cfg = apply_overrides(get_preset("dcgan"), ["steps=7", "lr_g=1e-3", "betas_d=0.1,0.2", "flip=true",
                                                 "loss=hinge", "model.ngf=16", "model.name=x", "k-disc=3"])
    assert (cfg.steps, cfg.lr_g, cfg.betas_d, cfg.flip, cfg.loss, cfg.k_disc) == (7, 1e-3, (0.1, 0.2), True, "hinge", 3)
    assert cfg.model_config == {"ngf": 16, "name": "x"}


@pytest.mark.parametrize("setting, message", [
    ("nope=1", "unknown setting 'nope'"), ("steps=many", "expected int"), ("flip=maybe", "expected bool"),
    ("loss=fancy", "unknown loss"), ("steps", "key=value"), ("batch=0", "batch must be >= 1"),
    ("ema=1.5", "ema must be in"), ("betas_g=0.5", "betas_g must be two numbers"),
])
def test_bad_overrides_are_one_clear_error(setting, message):
    with pytest.raises(ValueError, match=message):
        apply_overrides(get_preset("dcgan"), [setting])


@pytest.mark.parametrize("name", FAMILIES)
def test_every_preset_trains_a_few_steps(name, tmp_path):
    model = get_preset(name).model
    if not model_registered(model):
        pytest.skip(f"model {model!r} is not registered yet")
    cfg = tiny_config(name, **TINY_OVER.get(name, {}))
    data = TinyData(n=32, res=cfg.resolution, classes=3)
    stats = list(train(cfg, tmp_path / "run", dataset=data))
    assert [s["step"] for s in stats] == [1, 2, 3, 4]
    terms = set().union(*(s["losses"] for s in stats))
    assert EXPECTED_TERMS.get(name, set()) <= terms, terms
    assert ({"loss_D", "loss_G"} <= terms) != (name in ("vae", "vqvae"))
    assert all(math.isfinite(v) for s in stats for v in s["losses"].values())
    grid = stats[-1]["sample"]
    assert grid.dtype.name == "uint8" and grid.ndim == 3 and grid.shape[2] == 3
    ckpt = load_checkpoint(stats[-1]["checkpoint"])  # opens directly in the explorer
    assert ckpt.meta["training"]["preset"] == name and ckpt.meta["training"]["step"] == 4
    if ckpt.G.c_dim:
        assert ckpt.class_names == data.class_names
    if name == "progan":
        assert "stage" in stats[-1] and stats[-1]["stage"] > 0
    if name == "wgan-clip":
        D = load_checkpoint(stats[-1]["checkpoint"], load_D=True).D
        assert all(p.abs().max() <= cfg.clip for p in D.parameters())


def test_conditional_no_trains_without_classes_or_refuses(tmp_path):
    # conditional=no kept the model's default c_dim: a 10-class model fed class 0, or an ACGAN crash.
    from ganstudio.training.loop import build_models
    from ganstudio.training.presets import apply_overrides, get_preset
    cfg = apply_overrides(get_preset("sagan"), ["conditional=no", "resolution=32", "data=shapes"])
    G, D = build_models(cfg, num_classes=0)
    assert G.c_dim == 0
    for name in ("cgan", "acgan", "sngan-projection", "biggan"):
        cfg = apply_overrides(get_preset(name), ["conditional=no", "resolution=32", "data=shapes"])
        with pytest.raises(ValueError, match="class-conditional by design"):
            build_models(cfg, num_classes=0)
    cfg = apply_overrides(get_preset("cgan"), ["resolution=32", "data=shapes"])  # conditional=yes, no labels
    with pytest.raises(ValueError, match="class_folders=true"):
        build_models(cfg, num_classes=0)


def test_settings_list_every_field_once_in_sections_with_help():
    import dataclasses

    from ganstudio.training.presets import SECTIONS, TrainConfig, settings
    listed = settings()
    assert [s.name for s in listed] == [f.name for f in dataclasses.fields(TrainConfig)]
    assert {s.section for s in listed} == set(SECTIONS)
    assert all(s.help and s.applies for s in listed)
    by_name = {s.name: s for s in listed}
    assert by_name["lr_g"].section == "optimization" and by_name["lr_g"].type is float
    assert by_name["r1"].section == "loss and regularizers" and by_name["steps"].section == "schedule"
    assert by_name["data"].section == "data" and by_name["seed"].section == "run"
    # The section comments in TrainConfig's source say the same as SECTION_STARTS.
    import inspect
    import re
    current, from_comments = None, {}
    for line in inspect.getsource(TrainConfig).splitlines():
        head = re.match(r"^ {4}# ([a-z ]+?)(?: \(.*\))?$", line)
        current = head.group(1) if head else current
        m = re.match(r"^ {4}(\w+)\s*:", line)
        if m:
            from_comments[m.group(1)] = current
    assert from_comments == {s.name: s.section for s in listed}


def test_settings_without_sources_still_list_everything(monkeypatch):
    import inspect

    from ganstudio.training.presets import settings

    def no_source(obj):
        raise OSError("no source")

    monkeypatch.setattr(inspect, "getsource", no_source)
    listed = settings()
    assert {s.name: s.help for s in listed}["lr_g"] == "lr g"


@pytest.mark.parametrize("model, applies, not_applies", [
    ("dcgan", ["gp", "r1", "ortho"], ["pl", "style_mixing", "w_avg_beta", "aux_class", "info", "vae_beta",
                                      "phase_kimg"]),
    ("stylegan2", ["pl", "style_mixing", "w_avg_beta", "r1"], ["aux_class", "info", "phase_kimg"]),
    ("acgan", ["aux_class"], ["info", "pl"]),
    ("infogan", ["info", "info_cont_weight"], ["aux_class"]),  # with the preset's codes (model_config)
    ("progan", ["phase_kimg", "drift"], ["pl"]),
    ("vae", ["vae_beta", "lr_g"], ["gp", "loss", "k_disc", "lr_d"]),
])
def test_which_settings_apply_to_a_model(model, applies, not_applies):
    from ganstudio.training.presets import get_preset, settings
    model_config = get_preset(model).model_config if model == "infogan" else None
    flags = {s.name: s.applies for s in settings(model, model_config)}
    assert all(flags[n] for n in applies), {n: flags[n] for n in applies}
    assert not any(flags[n] for n in not_applies), {n: flags[n] for n in not_applies}


def test_one_name_per_concept_and_old_names_still_load():
    from ganstudio.training.presets import TrainConfig, apply_overrides, get_preset
    # info_cont was the InfoGAN loss weight here and the code count in model.info_cont.
    old = TrainConfig.from_dict({"model": "infogan", "info_cont": 0.3, "model_config": {"info_cont": 2}})
    assert old.info_cont_weight == 0.3 and old.model_config == {"info_cont": 2}
    assert apply_overrides(get_preset("infogan"), {"info_cont": "0.2"}).info_cont_weight == 0.2
    # w_avg_beta had two names: the model's field folds into the training setting.
    cfg = apply_overrides(get_preset("stylegan2"), ["model.w_avg_beta=0.9"])
    assert cfg.w_avg_beta == 0.9 and "w_avg_beta" not in cfg.model_config
    old = TrainConfig.from_dict({"model": "stylegan2", "model_config": {"w_avg_beta": 0.5}})
    assert old.w_avg_beta == 0.5 and old.model_config == {}
    with pytest.raises(ValueError, match="contradicts"):
        TrainConfig.from_dict({"model": "stylegan2", "w_avg_beta": 0.9, "model_config": {"w_avg_beta": 0.5}})


def test_vqvae_needs_a_first_stage(tmp_path):
    cfg = tiny_config("vqvae", vq_steps=0)
    with pytest.raises(ValueError, match="vq_steps"):
        list(train(cfg, tmp_path / "run", dataset=TinyData(n=16, res=cfg.resolution, classes=0)))
    assert not (tmp_path / "run" / "checkpoints").exists()
