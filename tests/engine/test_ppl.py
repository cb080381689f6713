"""Perceptual path length: known answers on generators with closed-form paths, sampling, filtering, the CLI."""
import json

import numpy as np
import pytest
import torch

from ganstudio.engine import ppl
from ganstudio.models import Capabilities
from ganstudio.models._base import Generator


class PolyG(Generator):
    """A generator with a linear mapping w = B z and synthesis x = A w (``power`` 1) or x = |w|^2 v (2),
    as a 2x2 image: distances along its paths have closed forms."""

    def __init__(self, d: int = 4, power: int = 1, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.z_dim = self.w_dim = d
        self.num_ws, self.c_dim, self.img_resolution, self.img_channels = 2, 0, 2, 1
        self.register_buffer("B", torch.randn(d, d, generator=g, dtype=torch.float64))
        self.register_buffer("A", torch.randn(4, d, generator=g, dtype=torch.float64))
        self.register_buffer("v", torch.randn(4, generator=g, dtype=torch.float64))
        self.power = power

    def capabilities(self):
        return Capabilities(style_layers=True)

    def mapping(self, z, c=None, truncation_psi=1.0, truncation_cutoff=None):
        return (z.double() @ self.B.T)[:, None].repeat(1, self.num_ws, 1)

    def synthesis(self, ws, c=None, **kw):
        w = ws[:, 0].double()
        x = w @ self.A.T if self.power == 1 else (w * w).sum(1, keepdim=True) * self.v
        return x.view(-1, 1, 2, 2)


def linear_features(seed=1):
    F = torch.randn(3, 4, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return F, ppl.FeatureNet(lambda x: x.flatten(1).double() @ F.T, "linear")


def slerp_velocity(z0, z1, t):
    """d/dt of slerp(z0, z1; t) (Shoemake's formula differentiated)."""
    z0, z1, t = z0.double(), z1.double(), t.double()[:, None]
    cos = ((z0 / z0.norm(dim=1, keepdim=True)) * (z1 / z1.norm(dim=1, keepdim=True))).sum(1, keepdim=True)
    om = torch.arccos(cos)
    return om / torch.sin(om) * (-torch.cos((1 - t) * om) * z0 + torch.cos(t * om) * z1)


def test_linear_generator_in_w_equals_the_closed_form():
    G = PolyG()
    F, feats = linear_features()
    M = F @ G.A @ G.B  # features of the image as a linear map of z
    z0, z1, t, _ = ppl.draw_pairs(G, 300, "full", seed=3)
    d = ppl.path_distances(G, feats, z0, z1, t, space="w")
    exact = ((z1 - z0).double() @ M.T).square().sum(1)  # |M (z1 - z0)|^2: the lerp's speed is constant
    assert torch.allclose(d, exact, rtol=1e-5)


def test_linear_generator_in_z_equals_the_closed_form():
    G = PolyG()
    F, feats = linear_features()
    M = F @ G.A @ G.B
    z0, z1, t, _ = ppl.draw_pairs(G, 300, "full", seed=4)
    d = ppl.path_distances(G, feats, z0, z1, t, space="z")
    exact = (slerp_velocity(z0, z1, t) @ M.T).square().sum(1)
    assert torch.allclose(d, exact, rtol=2e-2)  # z is float32 on the path: eps = 1e-4 costs ~1e-3 relative


def test_the_whole_measurement_is_the_percentile_filtered_mean_of_the_closed_form():
    G = PolyG()
    F, feats = linear_features()
    M = F @ G.A @ G.B
    r = ppl.perceptual_path_length(G, space="w", n=400, batch=64, seed=5, features=feats, bootstrap=200)
    z0, z1, _, _ = ppl.draw_pairs(G, 400, "full", seed=5)
    exact = ((z1 - z0).double() @ M.T).square().sum(1).numpy()
    lo, hi = np.percentile(exact, 1, method="lower"), np.percentile(exact, 99, method="higher")
    kept = exact[(exact >= lo) & (exact <= hi)]
    assert r.n == 400 and r.n_kept == kept.size < 400
    assert r.mean == pytest.approx(kept.mean(), rel=1e-5)
    assert r.std == pytest.approx(kept.std(ddof=1), rel=1e-4)
    assert r.ci_low < r.mean < r.ci_high
    assert exact.mean() > r.mean  # the top percent (heavy tail) is what the filter drops


def test_end_point_and_full_sampling_differ_as_the_path_says():
    # Linear in w: the speed along a lerp is the same everywhere, so end-point == full pair by pair.
    G = PolyG()
    _, feats = linear_features()
    full = ppl.perceptual_path_length(G, space="w", sampling="full", n=200, seed=0, features=feats, bootstrap=0)
    end = ppl.perceptual_path_length(G, space="w", sampling="end", n=200, seed=0, features=feats, bootstrap=0)
    assert (end.t == 0).all() and 0 < full.t.min() and full.t.max() < 1
    np.testing.assert_allclose(full.distances, end.distances, rtol=1e-5)
    # x = |w|^2 v: the speed is 2 (w(t) . dw)|Fv|; at t = 0 it is 2 (w0 . dw), larger on average than mid-path
    # (E = 4 (d^2 + 3d) at the end-points against 4d at t = 1/2 for w0, w1 ~ N(0, I)).
    Q = PolyG(power=2)
    F, feats = linear_features()
    full = ppl.perceptual_path_length(Q, space="w", sampling="full", n=400, seed=0, features=feats, bootstrap=0)
    end = ppl.perceptual_path_length(Q, space="w", sampling="end", n=400, seed=0, features=feats, bootstrap=0)
    z0, z1, t, _ = ppl.draw_pairs(Q, 400, "full", seed=0)
    w0, dw = z0.double() @ Q.B.T, (z1 - z0).double() @ Q.B.T
    fv = (F @ Q.v).square().sum()

    def exact(t):  # the finite difference itself: ((|w(t + eps)|^2 - |w(t)|^2) / eps)^2 |Fv|^2
        a, b = w0 + t[:, None] * dw, w0 + (t[:, None] + ppl.EPSILON) * dw
        return (((b * b).sum(1) - (a * a).sum(1)) / ppl.EPSILON) ** 2 * fv
    np.testing.assert_allclose(end.distances, exact(torch.zeros(400, dtype=torch.float64)).numpy(), rtol=1e-4)
    np.testing.assert_allclose(full.distances, exact(t).numpy(), rtol=1e-4)
    assert end.mean > 1.5 * full.mean


def test_bad_arguments_are_refused():
    G = PolyG()
    _, feats = linear_features()
    for kw, word in [({"space": "x"}, "space"), ({"sampling": "mid"}, "sampling"), ({"n": 1}, "n must"),
                     ({"eps": 0.0}, "eps"), ({"batch": 0}, "batch")]:
        with pytest.raises(ValueError, match=word):
            ppl.perceptual_path_length(G, features=feats, **kw)


def test_a_model_without_a_mapping_network_has_no_w_and_cancel_stops():
    from ganstudio.models import create_generator, get_spec
    torch.manual_seed(0)
    G = create_generator("dcgan", **get_spec("dcgan").tiny).eval()
    assert ppl.spaces_of(G) == ("z",)
    with pytest.raises(ValueError, match="no mapping network"):
        ppl.perceptual_path_length(G, space="w", n=4)
    calls = []
    with pytest.raises(ppl.PPLCancelled, match="after 4 of 12"):
        ppl.perceptual_path_length(G, n=12, batch=4, should_stop=lambda: len(calls) >= 1,
                                   progress=lambda d, t: calls.append(d))


def test_non_finite_distances_are_an_error():
    with pytest.raises(ValueError, match="1 of 3 distances are NaN"):
        ppl.filtered_stats(np.array([1.0, float("nan"), 2.0]))


def test_a_real_tiny_model_in_the_classifier_features():
    from ganstudio.models import create_generator, get_spec
    torch.manual_seed(0)
    G = create_generator("stylegan2", **get_spec("stylegan2").tiny).eval()
    assert ppl.spaces_of(G) == ("z", "w")
    feats = ppl.classifier_features(G)
    assert "converted to grey" in feats.note or G.img_channels == 1
    r = ppl.perceptual_path_length(G, space="w", n=8, batch=4, features=feats, bootstrap=50)
    assert np.isfinite(r.mean) and r.mean > 0 and r.n == 8


# -- the command line -------------------------------------------------------------------------------

def _tiny_checkpoint(tmp_path, name="stylegan2", **overrides):
    from ganstudio.checkpoints import save_checkpoint
    from ganstudio.models import create_generator, get_spec
    torch.manual_seed(0)
    G = create_generator(name, **{**get_spec(name).tiny, **overrides})
    path = tmp_path / f"{name}.safetensors"
    save_checkpoint(path, G)
    return path


def test_cli_prints_and_writes_json(tmp_path, capsys):
    from ganstudio.cli import main
    ck = _tiny_checkpoint(tmp_path)
    out = tmp_path / "ppl.json"
    assert main(["ppl", str(ck), "--n", "6", "--batch", "3", "--sampling", "both", "--bootstrap", "20",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "z     full" in printed and "w     end" in printed
    report = json.loads(out.read_text())
    assert report["format"] == "ganstudio-ppl" and report["n"] == 6 and report["eps"] == 1e-4
    assert [(r["space"], r["sampling"]) for r in report["results"]] == [("z", "full"), ("z", "end"),
                                                                       ("w", "full"), ("w", "end")]
    assert all(r["mean"] > 0 and r["ci_low"] <= r["mean"] <= r["ci_high"] for r in report["results"])
    assert main(["ppl", str(ck), "--n", "6", "--space", "z", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["results"][0]["space"] == "z"


@pytest.mark.parametrize("args,word", [(["--n", "1"], "--n must"), (["--eps", "nan"], "--eps"),
                                       (["--eps", "2"], "--eps"), (["--batch", "0"], "--batch"),
                                       (["--seed", "-1"], "--seed"), (["--bootstrap", "-5"], "--bootstrap"),
                                       (["--out", "/no/such/folder/x.json"], "does not exist"),
                                       (["--device", "nosuchdevice"], "--device")])
def test_cli_bad_arguments_fail_cleanly(tmp_path, capsys, args, word):
    from ganstudio.cli import main
    ck = _tiny_checkpoint(tmp_path)
    assert main(["ppl", str(ck), *args]) == 2
    err = capsys.readouterr().err
    assert word in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_cli_w_on_a_model_without_mapping_and_a_missing_file(tmp_path, capsys):
    from ganstudio.cli import main
    ck = _tiny_checkpoint(tmp_path, "dcgan")
    out = tmp_path / "keep.json"
    out.write_text("old")
    assert main(["ppl", str(ck), "--space", "w", "--out", str(out)]) == 2
    assert "no mapping network" in capsys.readouterr().err
    assert out.read_text() == "old"  # nothing written on failure
    assert main(["ppl", str(tmp_path / "missing.safetensors")]) == 2
    assert "missing.safetensors" in capsys.readouterr().err


def test_cli_features_probe_on_an_rgb_model_and_refused_on_a_grey_one(tmp_path, capsys):
    from ganstudio.cli import main
    from ganstudio.training.factor_probe import DEFAULT_PATH
    grey = _tiny_checkpoint(tmp_path, "dcgan", img_channels=1)
    assert main(["ppl", str(grey), "--n", "4", "--features", "probe"]) == 2
    assert "reads RGB images" in capsys.readouterr().err
    if not DEFAULT_PATH.is_file():
        pytest.skip("the shapes factor probe is not in pretrained/")
    from ganstudio.models import create_generator, get_spec
    torch.manual_seed(0)
    G = create_generator("stylegan2", **{**get_spec("stylegan2").tiny, "img_channels": 3}).eval()
    r = ppl.perceptual_path_length(G, n=6, features=ppl.probe_features(G), bootstrap=10)
    assert np.isfinite(r.mean) and r.mean > 0


def test_infogan_end_points_have_codes_from_their_priors():
    from ganstudio.latent import codes
    from ganstudio.models import create_generator, get_spec
    torch.manual_seed(0)
    G = create_generator("infogan", **get_spec("infogan").tiny).eval()
    lay = codes.layout_of(G)
    assert lay.categories or lay.continuous
    z0, z1, _, _ = ppl.draw_pairs(G, 50, "full", seed=0)
    for z in (z0, z1):
        cat = z[:, lay.start:lay.start + lay.categories]
        cont = z[:, lay.start + lay.categories:lay.start + lay.categories + lay.continuous]
        if lay.categories:
            assert torch.equal(cat.sum(1), torch.ones(50)) and set(cat.unique().tolist()) <= {0.0, 1.0}
        assert (cont.abs() <= 1).all()
    r = ppl.perceptual_path_length(G, n=8, batch=4, bootstrap=10)
    assert np.isfinite(r.mean)


class StepG(PolyG):
    """An image that is a step function of w (rounded): most eps steps change nothing, a few jump."""

    def synthesis(self, ws, c=None, **kw):
        return torch.round(super().synthesis(ws, c, **kw))


def test_a_piecewise_constant_generator_is_flagged(capsys):
    G = StepG()
    _, feats = linear_features()
    r = ppl.perceptual_path_length(G, space="w", n=200, features=feats, bootstrap=0)
    assert r.zero_fraction > 0.9 and "piecewise constant" in ppl.piecewise_note(r)
    smooth = ppl.perceptual_path_length(PolyG(), space="w", n=200, features=feats, bootstrap=0)
    assert smooth.zero_fraction == 0 and ppl.piecewise_note(smooth) == ""
    assert r.to_dict()["zero_fraction"] == r.zero_fraction


@pytest.mark.parametrize("features", ["classifier", "probe"])
def test_cli_a_folder_or_missing_file_as_the_feature_network_is_named(tmp_path, capsys, features):
    from ganstudio.cli import main
    ck = _tiny_checkpoint(tmp_path, "dcgan", img_channels=3 if features == "probe" else 1)
    folder = tmp_path / "nets"
    folder.mkdir()
    assert main(["ppl", str(ck), "--n", "4", "--features", features, "--classifier", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "is a folder" in err and len(err.strip().splitlines()) == 1, err
    missing = tmp_path / "gone.safetensors"
    assert main(["ppl", str(ck), "--n", "4", "--features", features, "--classifier", str(missing)]) == 2
    err = capsys.readouterr().err
    assert "not found" in err and "{path}" not in err and f"--out {missing}" in err, err


def test_cli_measures_an_emoji_model_in_the_emoji_classifiers_colour_features(tmp_path, capsys):
    """As `ganstudio eval`: a checkpoint trained on emoji is measured with the emoji group classifier, in colour."""
    from ganstudio.checkpoints import save_checkpoint
    from ganstudio.cli import main
    from ganstudio.models import create_generator, get_spec
    from ganstudio.training.classifier import EMOJI_PATH
    if not EMOJI_PATH.is_file():
        pytest.skip("the emoji classifier is not shipped")
    torch.manual_seed(0)
    G = create_generator("stylegan2", **{**get_spec("stylegan2").tiny, "img_channels": 3})
    for data, expected in (("emoji", "emoji group classifier"), ("fashion-mnist", "Fashion-MNIST classifier")):
        path = tmp_path / f"{data}.safetensors"
        save_checkpoint(path, G, training={"data": data, "step": 1})
        assert main(["ppl", str(path), "--n", "4", "--batch", "2", "--space", "z", "--bootstrap", "0",
                     "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["features"].startswith(expected)
        # The emoji classifier reads 64 px RGB: nothing is converted to grey for it.
        assert ("grey" in report["feature_note"]) == (data != "emoji")
