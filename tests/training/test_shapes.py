"""Procedural shapes: determinism, factors, labels, rendering."""
import hashlib

import numpy as np
import pytest

from ganstudio.training.data import DatasetError, describe_dataset, make_dataset
from ganstudio.training.shapes import (FACTOR_NAMES, FACTOR_RANGES, SHAPE_NAMES, render_shapes,
                                       sample_factors)


def test_same_seed_same_images_other_seed_differs():
    a = make_dataset("shapes:40:3", 16, 3)
    b = make_dataset("shapes:40:3", 16, 3)
    c = make_dataset("shapes:40:4", 16, 3)
    assert a.images.dtype == b.images.dtype and (a.images == b.images).all()
    assert not (a.images == c.images).all()
    assert np.array_equal(a.factors, b.factors) and not np.array_equal(a.factors, c.factors)
    test = make_dataset("shapes:40:3", 16, 3, split="test")
    assert not np.array_equal(a.factors, test.factors)


def test_pinned_bytes():
    # Same seed -> same bytes on any machine: pin a digest (it changes only if the renderer does).
    imgs = render_shapes(sample_factors(8, seed=0), 16)
    assert imgs.shape == (8, 3, 16, 16)
    assert hashlib.sha256(imgs.tobytes()).hexdigest()[:16] == PINNED


PINNED = "e59d545d3103dcac"


def test_factors_and_labels():
    ds = make_dataset("shapes:400", 8, 3)
    assert ds.factors.shape == (400, len(FACTOR_NAMES)) and ds.factor_names == FACTOR_NAMES
    for j, name in enumerate(FACTOR_NAMES):
        lo, hi = FACTOR_RANGES[name]
        assert ds.factors[:, j].min() >= lo and ds.factors[:, j].max() <= hi
    assert np.array_equal(ds.labels.numpy(), ds.factors[:, 0].astype(int))
    assert ds.class_names == SHAPE_NAMES and ds.num_classes == len(SHAPE_NAMES)
    assert set(np.unique(ds.factors[:, 0]).astype(int)) == set(range(len(SHAPE_NAMES)))
    x, y = ds[0]
    assert x.shape == (3, 8, 8) and -1 <= float(x.min()) and float(x.max()) <= 1


def test_render_follows_factors():
    base = np.array([[0, 0.0, 0.5, 0.25, 0.0, 0.5, 0.5]])
    sq, circ = render_shapes(base, 64)[0], render_shapes(np.array([[1, *base[0, 1:]]]), 64)[0]
    # Object bright red (hue 0: R = 0.95), background dark cyan (hue 0.5: R = 0.40 * 0.45):
    # the red channel is linear in coverage, so its sum measures the area in pixels.
    bg_r, fg_r = 0.40 * 0.45 * 255, 0.95 * 255
    area = lambda img: float(((img[0].astype(float) - bg_r) / (fg_r - bg_r)).sum())
    r = 0.25 * 64
    assert area(circ) == pytest.approx(np.pi * r * r, rel=0.03)
    assert area(sq) == pytest.approx((2 * 0.85 * r) ** 2, rel=0.03)
    # antialiased edges: values between background and object exist
    assert len(np.unique(circ[0])) > 5
    # moving x moves the mass to the right
    right = render_shapes(np.array([[1, 0.0, 0.5, 0.15, 0.0, 0.65, 0.5]]), 64)[0]
    cols = right[0].astype(float).sum(0)
    assert np.argmax(cols) > 36
    # rotation changes a square but not a circle
    rot = base.copy()
    rot[0, 4] = 30.0
    assert not np.array_equal(render_shapes(rot, 32), render_shapes(base, 32))
    rot[0, 0] = base[0, 0] = 1
    assert np.abs(render_shapes(rot, 32).astype(int) - render_shapes(base, 32)).max() <= 1


def test_any_resolution_and_grey():
    ds = make_dataset("shapes:5", 24, 1)
    assert ds.images.shape == (5, 1, 24, 24)
    assert make_dataset("shapes:3", 128, 3).images.shape == (3, 3, 128, 128)


@pytest.mark.parametrize("spec", ["shapes:abc", "shapes:0", "shapes:5:-1", "shapes:1:2:3"])
def test_bad_specs(spec):
    with pytest.raises(DatasetError):
        make_dataset(spec, 16, 3)


def test_upright_variant_shares_the_stream_and_keeps_its_ranges():
    from ganstudio.training.shapes import VARIANT_RANGES, sample_factors
    base = sample_factors(500, 3, "train")
    up = sample_factors(500, 3, "train", "shapes-upright")
    # Same draws: shape and hues identical; scale and position mapped into the narrower ranges.
    assert np.array_equal(base[:, :3], up[:, :3])
    assert (up[:, 4] == 0).all()  # no rotation
    for j, name in enumerate(FACTOR_NAMES[1:], start=1):
        lo, hi = VARIANT_RANGES["shapes-upright"][name]
        assert (up[:, j] >= lo).all() and (up[:, j] <= hi).all(), name
    ds = make_dataset("shapes-upright:64:3", 32, 3)
    assert len(ds) == 64 and ds.factors[:, 4].max() == 0 and ds.class_names == SHAPE_NAMES
    assert np.array_equal(ds.factors, sample_factors(64, 3, "train", "shapes-upright"))
    assert "upright" in describe_dataset("shapes-upright:64")
    with pytest.raises(DatasetError):
        make_dataset("shapes-sideways:10", 32, 3)
