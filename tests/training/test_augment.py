"""DiffAugment and ADA: differentiable, identity when off, p's controller, the trainer's use of them, resume."""
import math

import pytest
import torch
from _train_helpers import TinyData, tiny_config
from safetensors.torch import load_file

from ganstudio.checkpoints import read_meta
from ganstudio.training.augment import (Augmenter, ColorParams, ada_augment, color_matrix, diff_augment,
                                        diff_cutout, diff_translation)
from ganstudio.training.loop import train
from ganstudio.training.presets import apply_overrides, get_preset


def _images(n=6, c=3, res=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, c, res, res, generator=g) * 2 - 1


@pytest.mark.parametrize("method", ["diffaugment", "ada-colour", "ada-grey"])
def test_augmentations_pass_gradients_to_their_input(method):
    x = _images(c=1 if method == "ada-grey" else 3).requires_grad_(True)
    g = torch.Generator().manual_seed(1)
    y = diff_augment(x, generator=g) if method == "diffaugment" else ada_augment(x, 0.8, g)
    assert y.shape == x.shape and not torch.equal(y, x)
    (y * torch.randn(y.shape, generator=g)).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_ada_at_p_zero_and_no_augmentation_leave_images_unchanged():
    x = _images()
    g = torch.Generator().manual_seed(0)
    assert ada_augment(x, 0.0, g) is x
    assert Augmenter("none")(x, g) is x
    assert Augmenter("ada", p=0.0)(x, g) is x
    # Tiny p: every transform's draw says "off", so the pipeline's matrices are identities.
    assert torch.allclose(ada_augment(x, 1e-9, g), x, atol=1e-5)


def test_ada_colour_matrix_of_identity_draws_is_the_identity_and_hue_keeps_grey():
    n = 3
    ident = ColorParams(torch.zeros(n), torch.ones(n), torch.zeros(n), torch.zeros(n), torch.ones(n))
    assert torch.allclose(color_matrix(ident), torch.eye(4).expand(n, 4, 4), atol=1e-6)
    hue = ident._replace(hue=torch.full((n,), 2.0))
    grey = torch.tensor([0.3, 0.3, 0.3, 1.0])
    assert torch.allclose(color_matrix(hue) @ grey, grey.expand(n, 4), atol=1e-6)
    flip = ident._replace(luma_flip=torch.ones(n))
    assert torch.allclose(color_matrix(flip) @ grey, torch.tensor([-0.3, -0.3, -0.3, 1.0]).expand(n, 4), atol=1e-6)


def _shifted(img, dy, dx):
    """img moved down dy and right dx pixels, zero where nothing moved in."""
    out = torch.zeros_like(img)
    h, w = img.shape[-2:]
    out[..., max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        img[..., max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
    return out


def test_diffaugment_translation_moves_whole_pixels_and_cutout_blanks_half_the_side():
    x = torch.arange(1.0, 257.0).view(1, 1, 16, 16).expand(100, 1, 16, 16).contiguous()
    g = torch.Generator().manual_seed(0)
    moved = diff_translation(x, g)
    seen = set()
    for img in moved:  # each one is the image moved by up to 2 px (1/8 of 16) each way
        found = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3) if torch.equal(img, _shifted(x[0], dy, dx))]
        assert len(found) == 1
        seen.add(found[0])
    assert len(seen) > 15  # the 25 shifts are all drawn
    holes = (diff_cutout(x, g) == 0).sum(dim=(1, 2, 3))
    assert holes.max() == 64 and holes.min() > 0  # an 8x8 square, partly outside the image at times


def test_ada_p_rises_while_d_overfits_and_falls_otherwise():
    aug = Augmenter("ada", target=0.6, kimg=1.0, interval=4)  # 1000 images from 0 to 1
    for _ in range(4):
        aug.observe(torch.full((8, 1), 3.0))  # a D whose sign on reals is always positive: r_t = 1
    aug.adjust(32)
    assert aug.rt == 1.0 and aug.p == pytest.approx(0.032)
    for _ in range(40):
        aug.observe(torch.ones(8))
        aug.adjust(32)
    assert aug.p == 1.0  # clamped
    for _ in range(3):
        aug.observe(torch.tensor([1.0, -1.0, -1.0, -1.0]))  # r_t = -0.5 < 0.6
        aug.adjust(32)
    assert aug.rt == -0.5 and aug.p == pytest.approx(1 - 3 * 0.032)
    for _ in range(100):
        aug.observe(-torch.ones(8))
        aug.adjust(32)
    assert aug.p == 0.0


def test_ada_p_rises_in_training_when_d_is_always_sure_of_the_reals(tmp_path, monkeypatch):
    from ganstudio.training import phases

    cfg = tiny_config("dcgan", steps=6, augment="ada", ada_kimg=0.1, ada_interval=2, sample_every=0, ckpt_every=0)
    real_scores = phases.GANLoss.scores

    def sure(self, img, c, aux):  # D's real scores forced positive: the overfitting signal, r_t = 1
        s, extra = real_scores(self, img, c, aux)
        return s.abs() + 1.0, extra

    monkeypatch.setattr(phases.GANLoss, "scores", sure)
    ps = [s["augment_p"] for s in train(cfg, tmp_path / "run", dataset=TinyData(n=20, res=cfg.resolution))]
    step = 2 * cfg.batch / 100.0  # images per adjustment / (kimg * 1000)
    assert ps == pytest.approx([0.0, step, step, 2 * step, 2 * step, 3 * step])


def test_resume_with_ada_is_bit_exact_and_keeps_p(tmp_path):
    cfg = tiny_config("dcgan", steps=6, ckpt_every=3, sample_every=6, augment="ada", ada_kimg=0.05,
                      ada_interval=2, ada_target=0.0)
    data = TinyData(n=20, res=cfg.resolution, classes=3)

    def run(folder, stop_at=None, resume=False):
        seen = []
        stop = (lambda: bool(seen) and seen[-1][0] >= stop_at) if stop_at else None
        for s in train(cfg, folder, dataset=data, resume=resume, stop=stop):
            seen.append((s["step"], s["augment_p"]))
        return seen

    straight = run(tmp_path / "straight")
    first = run(tmp_path / "split", stop_at=3)
    second = run(tmp_path / "split", resume=True)
    assert first + second == straight  # p reported alike at every step
    assert any(p > 0 for _, p in straight)
    a = load_file(str(tmp_path / "straight/checkpoints/ckpt_000006.safetensors"))
    b = load_file(str(tmp_path / "split/checkpoints/ckpt_000006.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    state = read_meta(tmp_path / "split/checkpoints/ckpt_000003.safetensors")["extra"]["resume"]["augment"]
    assert state["kind"] == "ada" and state["sign_n"] > 0  # step 3 of interval 2: a partial window is kept


@pytest.mark.parametrize("augment", ["diffaugment", "ada"])
@pytest.mark.parametrize("preset", ["dcgan", "wgan-gp", "stylegan2", "acgan", "progan", "biggan"])
def test_augmentation_trains_every_kind_of_discriminator(preset, augment, tmp_path, monkeypatch):
    from ganstudio.training import phases

    seen = []

    class Recording(Augmenter):  # ADA from p = 0.5 (a run starts at 0, where it changes nothing)
        def __call__(self, x, generator=None):
            seen.append(tuple(x.shape))
            return super().__call__(x, generator)

    monkeypatch.setattr(phases, "make_augmenter", lambda cfg, has_D, device: Recording(
        cfg.augment, p=0.5 if cfg.augment == "ada" else 0.0, kimg=cfg.ada_kimg, device=device))
    cfg = tiny_config(preset, steps=2, augment=augment, sample_every=0, ckpt_every=0)
    stats = list(train(cfg, tmp_path / "run", dataset=TinyData(n=20, res=cfg.resolution)))
    assert stats[-1]["step"] == 2 and all(math.isfinite(v) for v in stats[-1]["losses"].values())
    # Every D call saw augmented images: reals and fakes in each D step, fakes in each G step.
    assert len(seen) >= 2 * (2 * cfg.k_disc + 1)
    assert ("augment_p" in stats[-1]) == (augment == "ada")


def test_bad_augment_settings_are_refused_with_the_reason(tmp_path):
    base = get_preset("dcgan")
    for bad, words in (({"augment": "mixup"}, "unknown augment"), ({"diffaugment": "color,blur"}, "'blur'"),
                       ({"ada_target": 1.5}, "ada_target"), ({"ada_kimg": 0}, "ada_kimg"),
                       ({"subset": -1}, "subset")):
        with pytest.raises(ValueError, match=words):
            apply_overrides(base, bad)
    cfg = tiny_config("vae", augment="ada")
    with pytest.raises(ValueError, match="no discriminator"):
        list(train(cfg, tmp_path / "vae", dataset=TinyData(n=20, res=cfg.resolution)))
    assert not (tmp_path / "vae" / "checkpoints").exists()


def test_subset_trains_on_the_first_n_images(tmp_path):
    from ganstudio.training.loop import _Trainer

    cfg = apply_overrides(tiny_config("dcgan"), {"data": "shapes:64", "subset": 16, "batch": 8})
    t = _Trainer(cfg, tmp_path / "run", resume=False, dataset=None, stop=None)
    assert len(t.dataset) == 16


def test_the_command_line_takes_subset_and_augment_and_refuses_a_bad_one(tmp_path, capsys):
    from ganstudio.cli import main
    from ganstudio.training.run_dir import RunDir

    base = ["train", "--preset", "dcgan", "--data", "shapes:40", "--resolution", "16", "--batch", "8", "--quiet",
            "--set", "model.ngf=8", "--set", "model.ndf=8", "--set", "model.z_dim=8", "--device", "cpu"]
    assert main(base + ["--out", str(tmp_path / "bad"), "--augment", "mixup"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown augment 'mixup'" in err and not (tmp_path / "bad").exists()
    assert main(base + ["--out", str(tmp_path / "ok"), "--steps", "2", "--subset", "16", "--augment", "ada"]) == 0
    cfg = RunDir(tmp_path / "ok").read_config()
    assert (cfg["subset"], cfg["augment"]) == (16, "ada")
    assert all("augment_p" in r for r in RunDir(tmp_path / "ok").read_log())  # the log the Train window plots


def test_ada_translations_move_both_axes_under_one_gate_as_in_the_paper():
    """Each of ADA's two translations is one transform applied with probability p: at p = 0.5 the share of
    images left exactly as they are is the product of every transform's chance to be off (gating x and y
    apart translated 3 images in 4 and left ~0.5% unchanged instead of ~1.5%)."""
    from ganstudio.training.augment import geometric_matrix
    n, p, size = 200_000, 0.5, 32
    m = geometric_matrix(n, size, p, torch.zeros(1), torch.Generator().manual_seed(0))
    untouched = (m == torch.eye(3)).all(-1).all(-1).float().mean().item()
    p_rot = 1 - math.sqrt(1 - p)
    # x-flip (draws 0 half the time), 90-degree rotation (k = 0 a quarter), integer translation (both axes
    # round to 0: 1/8 each), isotropic scale, rotation, anisotropic scale, rotation, fractional translation.
    expected = ((1 - p / 2) * (1 - 3 * p / 4) * (1 - p + p / 64) * (1 - p) * (1 - p_rot) ** 2 * (1 - p) * (1 - p))
    assert untouched == pytest.approx(expected, rel=0.1)


def test_ada_geometry_has_no_favoured_edge():
    """Reflection at the border keeps a constant image constant, and the expected augmented image commutes
    with mirroring top/bottom and left/right: no edge or direction is favoured (a one-sided translation or
    a 90-degree rotation missing one of its four angles fails this at p = 0.5)."""
    n, res, p = 8192, 16, 0.5
    const = torch.full((64, 1, res, res), 0.5)
    y = ada_augment(const, p, torch.Generator().manual_seed(0))
    assert (y - y[:, :, :1, :1]).abs().max() < 1e-5  # colour changes the level, never one pixel against another

    def expected(img):
        g = torch.Generator().manual_seed(0)
        return sum(ada_augment(img.expand(n, 1, res, res), p, g).mean(0) for _ in range(2)) / 2

    x = _images(n=1, c=1, res=res, seed=5)
    for dim in (2, 3):
        gap = (expected(x) - expected(x.flip(dim)).flip(dim - 1)).abs().mean()
        assert gap < 0.0055, (dim, float(gap))  # ~0.0035 is the sampling noise of this draw
