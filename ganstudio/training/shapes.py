"""Procedural shapes: a data set whose generative factors are known, for disentanglement studies.

Each image shows one shape (square, circle, triangle or heart) on a plain background.  Seven
factors are drawn independently and uniformly from a seeded PCG64 stream:

  shape           0..3, the label (index into ``SHAPE_NAMES``)
  object_hue      [0, 1)   the shape's hue (bright: saturation 0.85, value 0.95)
  background_hue  [0, 1)   the background's hue (dark: saturation 0.55, value 0.40), so the
                           shape stays visible even when both hues agree
  scale           [0.15, 0.28]  half the shape's size, as a fraction of the image side
  rotation        [-45, 45) degrees, counter-clockwise; a range in which no shape but the
                  circle looks the same at two angles
  x, y            [0.35, 0.65]  the centre, as a fraction of the image (y grows downwards)

Rendering is analytic: a signed distance per pixel centre, turned into coverage with a
one-pixel ramp (antialiasing without supersampling), so any resolution works.  Only IEEE
arithmetic (plus one sin/cos per image) is involved, so a seed gives the same bytes on any
machine.  Spec strings: ``shapes`` (10,000 images), ``shapes:N`` or ``shapes:N:SEED``.

``shapes-upright`` (same spec forms) is the variant the shipped shapes models learn: no rotation,
larger shapes (scale [0.22, 0.36]) nearer the centre (x, y in [0.4, 0.6]).  At 32 px and the
compute of a CPU, GANs drew the rotated, smaller shapes as blobs; these they learn.  The random
stream is the same, so image i of both variants shares its shape, hues and relative position.
"""
from __future__ import annotations

import colorsys
import math
from typing import Optional

import numpy as np
import torch

SHAPE_NAMES = ["square", "circle", "triangle", "heart"]
FACTOR_NAMES = ["shape", "object_hue", "background_hue", "scale", "rotation", "x", "y"]
FACTOR_RANGES = {"shape": (0, len(SHAPE_NAMES) - 1), "object_hue": (0.0, 1.0), "background_hue": (0.0, 1.0),
                 "scale": (0.15, 0.28), "rotation": (-45.0, 45.0), "x": (0.35, 0.65), "y": (0.35, 0.65)}
# Per-variant ranges; factors keep their columns (an unvaried factor is a constant column).
VARIANT_RANGES = {
    "shapes": FACTOR_RANGES,
    "shapes-upright": dict(FACTOR_RANGES, scale=(0.22, 0.36), rotation=(0.0, 0.0), x=(0.4, 0.6), y=(0.4, 0.6)),
}
DEFAULT_COUNT = 10_000
OBJECT_SV = (0.85, 0.95)
BACKGROUND_SV = (0.55, 0.40)
_SPLIT_STREAM = {"train": 0, "test": 1}
_SQRT_HALF = math.sqrt(0.5)


def is_shapes_spec(spec) -> bool:
    return str(spec).strip().lower().split(":")[0] in VARIANT_RANGES


def parse_shapes_spec(spec: str) -> int:
    """``shapes`` / ``shapes:N`` / ``shapes:N:SEED`` (or ``shapes-upright...``) -> N."""
    return _parse(spec)[0]


def shapes_variant(spec: str) -> str:
    """The variant a spec names: ``shapes`` or ``shapes-upright``."""
    return _parse(spec)[2]


def _parse(spec: str) -> tuple[int, int, str]:
    from ganstudio.training.data import DatasetError
    parts = str(spec).strip().lower().split(":")
    if parts[0] not in VARIANT_RANGES or len(parts) > 3:
        raise DatasetError(f"{spec}: expected shapes, shapes:N or shapes:N:SEED "
                           f"(or the same with {', '.join(v for v in VARIANT_RANGES if v != 'shapes')})")
    try:
        n = int(parts[1]) if len(parts) > 1 and parts[1] else DEFAULT_COUNT
        seed = int(parts[2]) if len(parts) > 2 else 0
    except ValueError:
        raise DatasetError(f"{spec}: N and SEED must be integers (shapes:N:SEED)") from None
    if n < 1 or n > 10_000_000:
        raise DatasetError(f"{spec}: N must be in [1, 10000000], got {n}")
    if seed < 0:
        raise DatasetError(f"{spec}: SEED must be >= 0, got {seed}")
    return n, seed, parts[0]


def sample_factors(n: int, seed: int = 0, split: str = "train", variant: str = "shapes") -> np.ndarray:
    """Factors [n, 7] (float64, columns ``FACTOR_NAMES``) from (seed, split)."""
    ranges = VARIANT_RANGES[variant]
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, _SPLIT_STREAM[split]])))
    out = np.empty((n, len(FACTOR_NAMES)), dtype=np.float64)
    out[:, 0] = rng.integers(0, len(SHAPE_NAMES), n)
    for j, name in enumerate(FACTOR_NAMES[1:], start=1):
        lo, hi = ranges[name]
        out[:, j] = lo + (hi - lo) * rng.random(n)
    return out


def _box(qx, qy, b):
    dx, dy = np.abs(qx) - b, np.abs(qy) - b
    outside = np.sqrt(np.maximum(dx, 0) ** 2 + np.maximum(dy, 0) ** 2)
    return outside + np.minimum(np.maximum(dx, dy), 0)


def _sdf_unit(shape: int, qx: np.ndarray, qy: np.ndarray) -> np.ndarray:
    """Signed distance to a unit-sized shape (negative inside); y points down."""
    if shape == 0:  # square; half-side 0.85 so its area is close to the circle's
        return _box(qx, qy, 0.85)
    if shape == 1:
        return np.sqrt(qx * qx + qy * qy) - 1.0
    if shape == 2:  # equilateral triangle, apex up, circumradius 1.1: three half-planes
        r_in = 0.55
        h = 0.5 * math.sqrt(3.0)
        return np.maximum(np.maximum(qy, -h * qx - 0.5 * qy), h * qx - 0.5 * qy) - r_in
    # heart: a diamond (square of side 1.2 turned 45 degrees) and two discs on its upper edges
    side, c = 1.2, 0.088
    hd = side * _SQRT_HALF
    dy = qy - c
    diamond = _box((qx + dy) * _SQRT_HALF, (dy - qx) * _SQRT_HALF, side / 2)
    lobe_l = np.sqrt((qx + hd / 2) ** 2 + (dy + hd / 2) ** 2) - side / 2
    lobe_r = np.sqrt((qx - hd / 2) ** 2 + (dy + hd / 2) ** 2) - side / 2
    return np.minimum(diamond, np.minimum(lobe_l, lobe_r))


def _rgb(hue: float, sv: tuple[float, float]) -> np.ndarray:
    return np.array(colorsys.hsv_to_rgb(hue, *sv), dtype=np.float64)


def render_shapes(factors: np.ndarray, resolution: int) -> np.ndarray:
    """Factors [n, 7] -> uint8 RGB images [n, 3, resolution, resolution]."""
    factors = np.asarray(factors, dtype=np.float64)
    if factors.ndim != 2 or factors.shape[1] != len(FACTOR_NAMES):
        raise ValueError(f"factors must be [n, {len(FACTOR_NAMES)}], got {list(factors.shape)}")
    if resolution < 4:
        raise ValueError(f"resolution must be >= 4, got {resolution}")
    r = int(resolution)
    centres = (np.arange(r, dtype=np.float64) + 0.5) / r
    u, v = centres[None, :], centres[:, None]
    out = np.empty((len(factors), 3, r, r), dtype=np.uint8)
    for i, (shape, hue_o, hue_b, scale, rot, x, y) in enumerate(factors):
        a = math.radians(rot)
        ca, sa = math.cos(a), math.sin(a)
        px, py = u - x, v - y
        # Undo the rotation (counter-clockwise on screen, where y points down).
        qx = (ca * px - sa * py) / scale
        qy = (sa * px + ca * py) / scale
        d = _sdf_unit(int(shape), qx, qy) * (scale * r)  # in pixels
        cov = np.clip(0.5 - d, 0.0, 1.0)
        bg, fg = _rgb(hue_b, BACKGROUND_SV), _rgb(hue_o, OBJECT_SV)
        img = bg[:, None, None] + (fg - bg)[:, None, None] * cov[None]
        out[i] = np.floor(img * 255.0 + 0.5).astype(np.uint8)
    return out


def make_shapes_dataset(spec: str, resolution: int, channels: int, *, split: str = "train", flip: bool = False,
                        limit: Optional[int] = None):
    """The ``shapes`` data set at the model's geometry; labels are the shape index."""
    from ganstudio.training.data import ShapesDataset
    n, seed, variant = _parse(spec)
    if limit is not None:
        n = min(n, limit)
    factors = sample_factors(n, seed, split, variant)
    images = torch.from_numpy(render_shapes(factors, resolution))
    labels = torch.from_numpy(factors[:, 0].astype(np.int64))
    return ShapesDataset(images, labels, factors, FACTOR_NAMES, resolution=resolution, channels=channels,
                         class_names=SHAPE_NAMES, flip=flip, name=f"{variant}:{n}:{seed}", source="procedural")
