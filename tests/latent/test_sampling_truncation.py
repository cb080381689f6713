import pytest
import torch

from ganstudio.latent import parse_seeds, seeded_z, truncate_w, truncate_z, truncated_z


def test_same_seed_same_z_regardless_of_batch():
    a = seeded_z([3, 7, 11], 16)
    assert a.shape == (3, 16) and a.dtype == torch.float32
    assert torch.equal(a[1], seeded_z(7, 16)[0])
    assert torch.equal(seeded_z([3, 7, 11], 16), a)
    assert not torch.equal(a[0], a[1])
    assert torch.equal(a[0], torch.randn(16, generator=torch.Generator().manual_seed(3)))


@pytest.mark.parametrize("bad", [-1, 2**32, 1.5, "x"])
def test_seeded_z_rejects_bad_seeds(bad):
    with pytest.raises(ValueError):
        seeded_z([bad], 4)


@pytest.mark.parametrize("text, expected", [
    ("0-3", [0, 1, 2, 3]), ("5", [5]), ("0-2,7,10-11", [0, 1, 2, 7, 10, 11]), (" 4 - 5 , 1 ", [4, 5, 1]),
    ("3-3", [3]),
])
def test_parse_seeds(text, expected):
    assert parse_seeds(text) == expected


@pytest.mark.parametrize("text", ["", "  ", "a", "1-", "-3", "5-2", "1,,2", "1.5", "0-4294967296", "0-99999999"])
def test_parse_seeds_errors(text):
    with pytest.raises(ValueError):
        parse_seeds(text)


def test_truncate_z_bounds_and_determinism():
    z = torch.randn(64, 32, generator=torch.Generator().manual_seed(1)) * 3
    t = truncate_z(z, 0.5, seed_or_generator=5)
    assert t.shape == z.shape
    assert t.abs().max() <= 0.5
    inside = z.abs() <= 0.5
    assert torch.equal(t[inside], z[inside])  # values within the threshold are kept, not rescaled
    assert (t[~inside] != z[~inside].clamp(-0.5, 0.5)).any()  # resampled, not clamped
    assert torch.equal(truncate_z(z, 0.5, 5), t)
    assert not torch.equal(truncate_z(z, 0.5, 6), t)


def test_truncated_z_seeded_and_per_row():
    a = truncated_z([0, 1, 2], 64, 0.7)
    assert a.abs().max() <= 0.7
    assert torch.equal(a, truncated_z([0, 1, 2], 64, 0.7))
    assert torch.equal(a[2], truncated_z(2, 64, 0.7)[0])
    big = truncated_z([0], 64, 100.0)
    assert torch.equal(big, seeded_z(0, 64))  # a threshold nothing exceeds changes nothing


@pytest.mark.parametrize("threshold", [0, -1, float("nan"), float("inf")])
def test_truncate_z_rejects_bad_threshold(threshold):
    with pytest.raises(ValueError):
        truncate_z(torch.zeros(1, 4), threshold, 0)


def test_truncate_w_psi_and_cutoff():
    ws = torch.randn(2, 6, 8)
    w_avg = torch.randn(8)
    assert torch.equal(truncate_w(ws, w_avg, 1.0), ws)
    assert torch.equal(truncate_w(ws, w_avg, 0.0), w_avg.expand_as(ws))
    half = truncate_w(ws, w_avg, 0.5)
    assert torch.allclose(half, (ws + w_avg) / 2, atol=1e-6)
    cut = truncate_w(ws, w_avg, 0.0, cutoff=2)
    assert torch.equal(cut[:, :2], w_avg.expand(2, 2, 8))
    assert torch.equal(cut[:, 2:], ws[:, 2:])
    assert torch.equal(truncate_w(ws, w_avg, 0.0, cutoff=0), ws)


def test_truncate_w_errors():
    with pytest.raises(ValueError):
        truncate_w(torch.zeros(2, 8), torch.zeros(8), 0.5)
    with pytest.raises(ValueError):
        truncate_w(torch.zeros(2, 3, 8), torch.zeros(4), 0.5)
    with pytest.raises(ValueError):
        truncate_w(torch.zeros(2, 3, 8), torch.zeros(8), 0.5, cutoff=-1)


def test_scaled_truncated_z_is_the_biggan_deep_release_sampling():
    from ganstudio.latent import scaled_truncated_z, truncated_z
    z = scaled_truncated_z(range(200), 16, 0.4)
    assert z.abs().max() <= 0.8 and torch.equal(z, truncated_z(range(200), 16, 2.0) * 0.4)
    assert abs(z.std().item() - 0.88 * 0.4) < 0.02  # a normal truncated at 2 has std 0.88
    with pytest.raises(ValueError):
        scaled_truncated_z([0], 4, 0.0)
