"""SSIM (engine/image_quality.py, Wang et al. 2004) on cases whose value is known by hand, and the other scores."""
import math

import pytest
import torch

from ganstudio.engine.image_quality import K1, feature_distance, gaussian_window, psnr_batch, ssim


def _noise(shape, seed=0):
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_identical_images_score_one():
    x = _noise((2, 3, 32, 32))
    assert torch.allclose(ssim(x, x), torch.ones(2), atol=1e-6)


def test_two_flat_images_match_the_closed_form():
    # Flat images: every local variance and covariance is 0, so the structure term is C2 / C2 = 1 and the
    # SSIM is the luminance term (2 a b + C1) / (a^2 + b^2 + C1) with a, b on the [0, 1] scale.
    a, b = 0.2, 0.7
    x = torch.full((1, 1, 16, 16), 2 * a - 1)
    y = torch.full((1, 1, 16, 16), 2 * b - 1)
    c1 = K1 ** 2
    expected = (2 * a * b + c1) / (a * a + b * b + c1)
    assert float(ssim(x, y)[0]) == pytest.approx(expected, rel=1e-6)
    assert expected == pytest.approx(0.5284, abs=1e-4)  # (0.28 + 1e-4) / (0.53 + 1e-4), worked by hand


def test_flat_colour_images_average_the_channels():
    # Three equal flat channels: each channel's SSIM is the flat closed form, and so is their mean.
    x = torch.full((1, 3, 20, 20), -0.5)
    y = x + 0.4
    a, b = 0.25, 0.45
    c1 = K1 ** 2
    assert float(ssim(x, y)[0]) == pytest.approx((2 * a * b + c1) / (a * a + b * b + c1), rel=1e-6)


def test_negated_structure_scores_below_zero():
    # y = -x: every window's covariance is minus its variance, so the structure term (C2 - 2 var) /
    # (2 var + C2) is negative wherever the window holds contrast, and the luminance term is positive.
    x = _noise((1, 1, 24, 24), seed=2) * 0.8
    assert float(ssim(x, -x)[0]) < 0


def test_more_noise_scores_lower_and_the_score_is_symmetric():
    x = _noise((1, 1, 32, 32), seed=1) * 0.5
    scores = [float(ssim(x, (x + s * _noise(x.shape, seed=9)).clamp(-1, 1))[0]) for s in (0.05, 0.2, 0.6)]
    assert scores[0] > scores[1] > scores[2]
    y = _noise(x.shape, seed=3)
    assert float(ssim(x, y)[0]) == pytest.approx(float(ssim(y, x)[0]), abs=1e-9)


def test_window_is_a_normalised_gaussian():
    w = gaussian_window()
    assert w.shape == (11, 11) and float(w.sum()) == pytest.approx(1.0)
    assert float(w[5, 5]) == pytest.approx(1 / (2 * math.pi * 1.5 ** 2), rel=0.01)  # peak of the 2-D density
    assert torch.allclose(w, w.T)


def test_images_smaller_than_the_window_and_one_channel_three_dims():
    x = _noise((1, 6, 6))
    assert float(ssim(x, x)[0]) == pytest.approx(1.0)


def test_shape_mismatch_is_one_clear_error():
    with pytest.raises(ValueError, match="one shape"):
        ssim(torch.zeros(1, 1, 8, 8), torch.zeros(1, 3, 8, 8))


def test_psnr_batch():
    x = torch.zeros(2, 1, 4, 4)
    y = x.clone()
    y[1] += 0.2  # mse 0.04 -> 10 log10(4 / 0.04) = 20 dB
    out = psnr_batch(x, y)
    assert math.isinf(float(out[0])) and float(out[1]) == pytest.approx(20.0)


def test_feature_distance_zero_for_the_same_image_and_grey_only():
    from ganstudio.training.classifier import ClassifierConfig, FMNISTClassifier
    torch.manual_seed(0)
    net = FMNISTClassifier(ClassifierConfig()).eval()
    x = _noise((2, 1, 32, 32))
    d = feature_distance(x, x, net)
    assert torch.allclose(d, torch.zeros(2))
    assert float(feature_distance(x[:1], -x[:1], net)[0]) > 0
    with pytest.raises(ValueError, match="grey"):
        feature_distance(torch.zeros(1, 3, 32, 32), torch.zeros(1, 3, 32, 32), net)


def test_probe_distance_zero_for_the_same_image_and_rgb_only():
    from ganstudio.engine.image_quality import probe_distance
    from ganstudio.training.factor_probe import FactorProbe, ProbeConfig
    torch.manual_seed(0)
    net = FactorProbe(ProbeConfig()).eval()
    x = _noise((2, 3, 32, 32))
    dist, same = probe_distance(x, x, net)
    assert torch.allclose(dist, torch.zeros(2)) and bool(same.all())
    dist, _ = probe_distance(x, -x, net)
    assert bool((dist > 0).all())
    with pytest.raises(ValueError, match="RGB"):
        probe_distance(torch.zeros(1, 1, 32, 32), torch.zeros(1, 1, 32, 32), net)
