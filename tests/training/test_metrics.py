"""Metrics: Fréchet distance, IS analogue, precision/recall, the shipped classifier, `ganstudio eval`."""
import json
import math

import pytest
import torch

from ganstudio.training import metrics as M
from ganstudio.training.classifier import DEFAULT_PATH, ClassifierError, load_classifier


def _gauss(n, d, seed, shift=0.0, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=torch.float64) * scale + shift


def test_fcd_zero_on_identical_and_grows_with_shift():
    x = _gauss(2000, 16, 0)
    assert M.fcd_from_features(x, x) == pytest.approx(0.0, abs=1e-6)
    mu, sigma = M.feature_stats(x)
    last = 0.0
    for shift in (0.5, 1.0, 2.0):
        d = M.frechet_distance(mu, sigma, mu + shift, sigma)
        assert d == pytest.approx(16 * shift ** 2, rel=1e-6)  # a pure mean shift costs |delta mu|^2
        assert d > last
        last = d


def test_fcd_matches_closed_form_and_scipy():
    a, b = torch.rand(8, dtype=torch.float64) + 0.1, torch.rand(8, dtype=torch.float64) + 0.1
    z = torch.zeros(8, dtype=torch.float64)
    d = M.frechet_distance(z, torch.diag(a), z, torch.diag(b))
    assert d == pytest.approx(float(((a.sqrt() - b.sqrt()) ** 2).sum()), rel=1e-9)
    scipy_linalg = pytest.importorskip("scipy.linalg")
    x, y = _gauss(300, 10, 1), _gauss(300, 10, 2, shift=0.3, scale=1.5)
    (m1, s1), (m2, s2) = M.feature_stats(x), M.feature_stats(y)
    covmean = scipy_linalg.sqrtm((s1 @ s2).numpy()).real
    ref = float(((m1 - m2) ** 2).sum() + torch.trace(s1) + torch.trace(s2) - 2 * torch.tensor(covmean).trace())
    assert M.frechet_distance(m1, s1, m2, s2) == pytest.approx(ref, rel=1e-6)


def test_frechet_shape_mismatch():
    with pytest.raises(ValueError, match="mismatched"):
        M.frechet_distance(torch.zeros(3), torch.eye(3), torch.zeros(4), torch.eye(4))


def test_inception_score_bounds():
    k = 10
    assert M.inception_score(torch.full((100, k), 1 / k)) == pytest.approx(1.0)
    confident = torch.eye(k).repeat(10, 1)
    assert M.inception_score(confident) == pytest.approx(k, rel=1e-6)
    collapsed = torch.zeros(100, k)
    collapsed[:, 3] = 1
    assert M.inception_score(collapsed) == pytest.approx(1.0)


def test_precision_recall():
    x = _gauss(300, 8, 0).float()
    assert M.precision_recall(x, x) == (1.0, 1.0)
    far = x + 100
    assert M.precision_recall(x, far) == (0.0, 0.0)
    # fakes covering only half of the real set: high precision, recall about a half
    half = x[x[:, 0] > 0]
    p, r = M.precision_recall(x, half)
    assert p == 1.0 and 0.3 < r < 0.8
    with pytest.raises(ValueError):
        M.precision_recall(x[:3], x[:3])


def test_class_accuracy_and_input_conversion():
    probs = torch.eye(4)[[0, 1, 2, 2]]
    assert M.class_accuracy(probs, torch.tensor([0, 1, 2, 3])) == 0.75
    rgb = torch.rand(2, 3, 64, 48) * 2 - 1
    x = M.to_classifier_input(rgb)
    assert x.shape == (2, 1, 32, 32) and x.min() >= -1 and x.max() <= 1


def test_shipped_classifier_file():
    assert DEFAULT_PATH.is_file(), "pretrained/fmnist_classifier.safetensors is missing"
    assert DEFAULT_PATH.stat().st_size < 2 * 1024 * 1024
    clf = load_classifier()
    assert clf.class_names[0] == "T-shirt/top" and len(clf.class_names) == 10
    assert clf.test_accuracy >= 0.90
    assert clf.stats["mu"].shape == (128,) and clf.stats["sigma"].shape == (128, 128)
    assert clf.stats["pr_features"].shape[1] == 128 and len(clf.stats["pr_features"]) >= 1000
    out = clf.net(torch.zeros(2, 1, 32, 32))
    assert out.shape == (2, 10) and clf.net.features(torch.zeros(2, 1, 32, 32)).shape == (2, 128)


def test_classifier_bad_file(tmp_path):
    with pytest.raises(ClassifierError, match="not found"):
        load_classifier(tmp_path / "none.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"garbage")
    with pytest.raises(ClassifierError):
        load_classifier(bad)


def _fmnist_test():
    from ganstudio.training.data import DatasetError, make_dataset
    try:
        return make_dataset("fashion-mnist", 32, 1, split="test", limit=500)
    except DatasetError as e:
        pytest.skip(f"Fashion-MNIST is not installed: {e}")


def test_classifier_accuracy_and_stats_on_real_images():
    ds = _fmnist_test()
    clf = load_classifier()
    x, y = ds.batch(torch.arange(len(ds)))
    with torch.no_grad():
        f = clf.net.features(x)
        logits = clf.net.logits_from_features(f)
    assert float((logits.argmax(1) == y).float().mean()) >= 0.85
    # Real test images sit close to the shipped statistics; a mean shift moves them away.
    mu, sigma = M.feature_stats(f)
    near = M.frechet_distance(mu, sigma, clf.stats["mu"], clf.stats["sigma"])
    shifted = M.frechet_distance(mu + 1.0, sigma, clf.stats["mu"], clf.stats["sigma"])
    assert near < shifted
    p, r = M.precision_recall(clf.stats["pr_features"][:500], f)
    assert p > 0.6 and r > 0.6


@pytest.fixture
def tiny_dcgan(tmp_path):
    from ganstudio.checkpoints import save_checkpoint
    from ganstudio.models import create_generator
    torch.manual_seed(0)
    G = create_generator("dcgan", z_dim=8, img_resolution=32, img_channels=1, ngf=8, ndf=8)
    return save_checkpoint(tmp_path / "tiny.safetensors", G)


def test_eval_command_prints_numbers(tiny_dcgan, capsys):
    from ganstudio.cli import main
    assert main(["eval", str(tiny_dcgan), "--n", "60", "--batch", "30"]) == 0
    out = capsys.readouterr().out
    for key in ("FCD", "IS analogue", "precision", "recall", "FID/IS: needs torch-fidelity"):
        assert key in out
    assert main(["eval", str(tiny_dcgan), "--n", "60", "--batch", "25", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert math.isfinite(r["fcd"]) and r["fcd"] > 0 and 1.0 <= r["is"] <= 10.0
    assert 0 <= r["precision"] <= 1 and 0 <= r["recall"] <= 1 and r["n"] == 60
    assert "class_accuracy" not in r


def test_eval_conditional_and_non_fmnist(tmp_path, capsys):
    from ganstudio.checkpoints import save_checkpoint
    from ganstudio.cli import main
    from ganstudio.models import create_generator, get_spec
    spec = get_spec("cgan")
    G = create_generator("cgan", **{**spec.tiny, "c_dim": 10, "img_channels": 1})
    from ganstudio.training.data import FASHION_MNIST_CLASSES
    path = save_checkpoint(tmp_path / "c.safetensors", G, class_names=FASHION_MNIST_CLASSES)
    assert main(["eval", str(path), "--n", "40", "--batch", "20", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert 0.0 <= r["class_accuracy"] <= 1.0
    G3 = create_generator("dcgan", z_dim=8, img_resolution=16, img_channels=3, ngf=8, ndf=8)
    p3 = save_checkpoint(tmp_path / "rgb.safetensors", G3, training={"data": "shapes"})
    assert main(["eval", str(p3), "--n", "40"]) == 0
    out = capsys.readouterr().out
    assert "only defined for Fashion-MNIST-like data" in out and "FCD " not in out
    assert main(["eval", str(p3), "--n", "40", "--force"]) == 0
    assert "FCD" in capsys.readouterr().out
    assert main(["eval", str(p3), "--n", "3"]) == 2
    assert main(["eval", str(p3), "--n", "100000000"]) == 2  # refused at once, not hours of generating
    assert "between 10 and" in capsys.readouterr().err


@pytest.mark.parametrize("device", ["mps", "xpu", "meta"])
def test_eval_on_a_device_that_is_not_there_is_one_line(tiny_dcgan, capsys, device):
    import torch
    from ganstudio.cli import main
    if device == "mps" and getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        pytest.skip("this machine has MPS")
    assert main(["eval", str(tiny_dcgan), "--device", device]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1 and "--device" in err


@pytest.mark.parametrize("data, like", [("fashion-mnist", True), ("/data/fmnist/train", True),
                                        ("mnist", False), ("/data/mnist/train-images-idx3-ubyte", False),
                                        ("digits", False)])
def test_only_fashion_mnist_data_counts_as_fashion_mnist_like(data, like):
    from ganstudio.commands.eval import fmnist_like
    from ganstudio.training.data import MNIST_CLASSES
    assert fmnist_like({"training": {"data": data}, "class_names": MNIST_CLASSES}, 1)[0] is like


def test_reconstruction_error_known_answer():
    """An autoencoder off by 0.1 on every pixel: MSE 0.01, PSNR 10 log10(4 / 0.01) dB, over the first n images."""
    import math

    from ganstudio.training.data import ImageDataset

    class OffByATenth(torch.nn.Module):
        img_channels, img_resolution = 1, 4

        def reconstruct(self, img):
            return img + 0.1

    images = torch.randint(0, 256, (7, 1, 4, 4), dtype=torch.uint8)
    data = ImageDataset(images, None, resolution=4, channels=1)
    from ganstudio.training.metrics import reconstruction_error
    r = reconstruction_error(OffByATenth(), data, n=5, batch=2)
    assert r["recon_n"] == 5 and math.isclose(r["recon_mse"], 0.01, rel_tol=1e-5)
    assert math.isclose(r["recon_psnr"], 10 * math.log10(400), rel_tol=1e-5)
    assert reconstruction_error(OffByATenth(), data, n=100, batch=3)["recon_n"] == 7  # capped at the data set


def test_real_training_images_score_as_a_near_perfect_generator():
    from ganstudio.training.data import DatasetError
    try:
        ref = M.real_reference(600)
    except DatasetError as e:
        pytest.skip(f"Fashion-MNIST is not installed: {e}")
    assert ref["n"] == 600 and ref["pr_samples"] == 600
    # Real images against real statistics: far below any shipped model (the best scores ~41 at n 5000).
    assert ref["fcd"] < 10 and ref["precision"] > 0.7 and ref["recall"] > 0.7
    with pytest.raises(ValueError, match="at least 10"):
        M.real_reference(5)
