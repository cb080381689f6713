"""EBGAN, BEGAN and the adversarial autoencoder: their losses, BEGAN's control, the AAE's code interface."""
import math
import sys
from pathlib import Path

import pytest
import torch

from ganstudio.models import create_discriminator, create_generator, get_spec
from ganstudio.training import losses as L

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
from _train_helpers import TinyData, tiny_config  # noqa: E402


def test_pulling_away_term_is_zero_for_orthogonal_codes_and_one_for_equal_ones():
    assert float(L.pulling_away(3.0 * torch.eye(4))) == 0.0
    equal = torch.tensor([1.0, -2.0, 0.5]).repeat(5, 1)
    assert float(L.pulling_away(equal)) == pytest.approx(1.0)
    mixed = torch.tensor([[1.0, 0.0], [1.0, 1.0]])  # cos 45 deg: squared similarity 1/2 for the one pair
    assert float(L.pulling_away(mixed)) == pytest.approx(0.5)
    assert float(L.pulling_away(torch.ones(1, 3))) == 0.0  # no pairs in a batch of one


def test_ebgan_margin_loss():
    real, fake = torch.tensor([0.1, 0.3]), torch.tensor([2.0, 0.5])
    # D(x) + max(0, m - D(G(z))): the fake above the margin adds nothing, the other adds m - 0.5.
    assert float(L.d_loss("ebgan", real, fake, margin=1.0)) == pytest.approx(0.2 + 0.25)
    assert float(L.g_loss("ebgan", fake)) == pytest.approx(1.25)


def test_began_losses_and_control():
    real, fake = torch.tensor([0.2, 0.4]), torch.tensor([0.1, 0.1])
    assert float(L.d_loss("began", real, fake, k=torch.tensor(0.5))) == pytest.approx(0.3 - 0.05)
    k = L.began_k_update(torch.tensor(0.2), real.mean(), fake.mean(), gamma=0.5, lambda_k=0.1)
    assert float(k) == pytest.approx(0.2 + 0.1 * (0.5 * 0.3 - 0.1))
    # Clipped to [0, 1] both ways.
    assert float(L.began_k_update(torch.tensor(0.9), torch.tensor(10.0), torch.tensor(0.0), 1.0, 1.0)) == 1.0
    assert float(L.began_k_update(torch.tensor(0.1), torch.tensor(0.0), torch.tensor(10.0), 1.0, 1.0)) == 0.0
    m = L.began_convergence(torch.tensor(0.3), torch.tensor(0.1), gamma=0.5)
    assert float(m) == pytest.approx(0.3 + abs(0.15 - 0.1))


def test_autoencoder_discriminators_score_reconstruction_energies():
    for name, kind in (("ebgan", "mse"), ("began", "l1")):
        D = create_discriminator(name, **get_spec(name).tiny)
        x = torch.rand(3, D.img_channels, D.img_resolution, D.img_resolution) * 2 - 1
        recon, h = D.reconstruct(x)
        diff = (recon - x).flatten(1)
        want = diff.square().mean(1) if kind == "mse" else diff.abs().mean(1)
        assert torch.allclose(D(x), want)
        energy, aux = D.forward_aux(x)
        assert torch.allclose(energy, want) and aux["embedding"].shape[0] == 3
        assert "embedding" in D.aux_heads()


def test_began_k_t_stays_in_unit_interval_and_is_checkpointed(tmp_path):
    from ganstudio.checkpoints import read_meta
    from ganstudio.training.loop import train
    # A huge lambda_k drives k_t into both clips within a few steps.
    cfg = tiny_config("began", steps=6, lambda_k=50.0, ckpt_every=3)
    stats = list(train(cfg, tmp_path / "run", dataset=TinyData(n=16, res=cfg.resolution)))
    ks = [s["losses"]["k_t"] for s in stats]
    assert all(0.0 <= k <= 1.0 for k in ks) and any(k > 0 for k in ks)
    assert all(math.isfinite(s["losses"]["M_global"]) for s in stats)
    meta = read_meta(stats[-1]["checkpoint"])
    assert meta["extra"]["resume"]["k_t"] == ks[-1]


def test_aae_encodes_to_a_deterministic_code_and_decodes_it():
    G = create_generator("aae", **get_spec("aae").tiny)
    x = torch.rand(4, G.img_channels, G.img_resolution, G.img_resolution) * 2 - 1
    with torch.no_grad():
        mu, logvar = G.encode(x)
        assert torch.equal(mu, G.code(x)) and torch.isinf(logvar).all() and (logvar < 0).all()
        assert G(mu).shape == x.shape
    assert G.capabilities().encoder
    D = create_discriminator("aae", **get_spec("aae").tiny)
    assert D.reads == "code" and D(mu).shape == (4,)
    with pytest.raises(ValueError, match="code"):
        D(x)


def test_aae_mixture_prior_has_ten_modes_on_a_circle():
    G = create_generator("aae", **{**get_spec("aae").tiny, "prior": "mixture10"})
    z = G.sample_prior(2000, generator=torch.Generator().manual_seed(0))
    radius = z[:, :2].norm(dim=1)
    assert 1.0 < float(radius.median()) < 3.0
    angles = torch.atan2(z[:, 1], z[:, 0]) % (2 * math.pi)
    modes = torch.round(angles / (2 * math.pi / 10)) % 10
    assert len(torch.unique(modes)) == 10
    with pytest.raises(ValueError, match="prior"):
        create_generator("aae", **{**get_spec("aae").tiny, "prior": "uniform"})


@pytest.mark.parametrize("preset, override, message", [
    ("dcgan", dict(loss="ebgan"), "autoencoder discriminator"),
    ("ebgan", dict(loss="ns"), "loss=ebgan or loss=began"),
    ("dcgan", dict(pt=0.1), "pulling-away"),
    ("aae", dict(gp=10.0), "scores codes"),
    ("aae", dict(k_disc=2), "scores codes"),
])
def test_settings_that_do_not_fit_the_discriminator_are_refused(preset, override, message, tmp_path):
    from ganstudio.training.loop import train
    cfg = tiny_config(preset, **override)
    with pytest.raises(ValueError, match=message):
        next(train(cfg, tmp_path / "run", dataset=TinyData(n=16, res=cfg.resolution)))
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_autoencoder_discriminators_decode_linearly_and_began_g_stays_in_range():
    # A tanh on D's decoder reconstructed black fakes exactly where its gradient vanishes: the runs stayed black.
    from torch import nn
    for name in ("ebgan", "began"):
        D = create_discriminator(name, **get_spec(name).tiny)
        last = [m for m in D.decoder.modules() if not list(m.children())][-1]
        assert not isinstance(last, nn.Tanh), name
        with torch.no_grad():  # large weights: the reconstruction leaves [-1, 1] (the energy is not bounded by it)
            for p in D.decoder.parameters():
                p.mul_(50)
            recon, _ = D.reconstruct(torch.zeros(2, D.img_channels, D.img_resolution, D.img_resolution))
        assert recon.abs().max() > 1
    G = create_generator("began", **get_spec("began").tiny)
    with torch.no_grad():
        for p in G.parameters():
            p.mul_(50)
        img = G(torch.randn(2, G.z_dim))
    assert img.abs().max() <= 1
