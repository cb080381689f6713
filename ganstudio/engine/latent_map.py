"""The latent map: a data set encoded by a model's encoder, as 2-D points, and any point back as a latent.

A 2-D code is its own map.  A longer code is shown through PCA of the encoded points: the map is
the plane through their mean spanned by the first two principal axes, and a point (x, y) of it is
the latent mean + x * axis1 + y * axis2 (the other directions at the data's mean).
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Optional

import numpy as np
import torch

from ganstudio.imaging import to_uint8

DEFAULT_POINTS = 2000
MAX_POINTS = 10000


class LatentMap(NamedTuple):
    points: np.ndarray  # float32 [N, 2]: each image's place on the map
    labels: np.ndarray  # int64 [N]: class index, -1 where the data has no labels
    class_names: list  # names of the classes the labels index
    projection: str  # "code": the 2-D code itself; "pca": the first two principal axes of the codes
    mean: np.ndarray  # float64 [z_dim]: the origin of the map in latent space
    basis: np.ndarray  # float64 [2, z_dim]: the latent direction of each map axis (unit rows)
    explained: tuple  # fraction of the codes' variance along each axis (1, 1 for a 2-D code's own axes)

    def to_latent(self, x: float, y: float) -> np.ndarray:
        """The latent z [z_dim] at map point (x, y)."""
        return self.mean + float(x) * self.basis[0] + float(y) * self.basis[1]

    def to_map(self, z) -> tuple[float, float]:
        """Where latent z falls on the map (its projection onto the map's plane)."""
        d = np.asarray(z, dtype=np.float64) - self.mean
        return float(self.basis[0] @ d), float(self.basis[1] @ d)

    def axis_labels(self) -> tuple[str, str]:
        if self.projection == "code":
            return "z[0]", "z[1]"
        return tuple(f"PC{i + 1} ({100 * e:.0f} % of variance)" for i, e in enumerate(self.explained))

    def describe(self) -> str:
        n = len(self.points)
        if self.projection == "code":
            return f"{n} images at their 2-D codes."
        return (f"{n} images, their {len(self.mean)}-D codes shown by PCA: the plane of the first two principal "
                f"axes through the codes' mean ({100 * sum(self.explained):.0f} % of the variance); a point "
                "decodes to that plane, the other directions at the mean.")


def build_map(codes, labels, class_names=()) -> LatentMap:
    """A map of codes [N, z_dim] (z_dim >= 2 for PCA; 1-D codes get a flat second axis)."""
    c = np.asarray(codes, dtype=np.float64)
    if c.ndim != 2 or len(c) == 0 or c.shape[1] < 1:
        raise ValueError(f"codes must be [N, z_dim] with N >= 1, got {list(c.shape)}")
    if not np.isfinite(c).all():
        raise ValueError("the encoder returned non-finite codes")
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    if len(labels) != len(c):
        raise ValueError(f"{len(labels)} labels for {len(c)} codes")
    dim = c.shape[1]
    if dim <= 2:
        mean, basis = np.zeros(dim), np.eye(2, dim)
        return LatentMap((c @ basis.T).astype(np.float32), labels, list(class_names), "code", mean, basis, (1.0, 1.0))
    mean = c.mean(0)
    centred = c - mean
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    var = s ** 2
    total = float(var.sum()) or 1.0
    basis = vt[:2]
    explained = tuple(float(v / total) for v in var[:2])
    return LatentMap((centred @ basis.T).astype(np.float32), labels, list(class_names), "pca", mean, basis, explained)


def load_images(data: str, resolution: int, channels: int, n: int = DEFAULT_POINTS, seed: int = 0):
    """(uint8 images [N, H, W, C], labels [N], class names) of up to n images of ``data`` at the model's size:
    its test split where it has one, a seeded random subset when it holds more than n."""
    from ganstudio.training.data import DatasetError, make_dataset

    n = int(min(max(n, 1), MAX_POINTS))
    try:
        ds = make_dataset(data, resolution, channels, split="test", class_folders=True)
    except DatasetError:  # no test split, or a folder without class subfolders
        try:
            ds = make_dataset(data, resolution, channels, split="test")
        except DatasetError:
            ds = make_dataset(data, resolution, channels)
    total = len(ds)
    idx = torch.arange(total) if total <= n else torch.randperm(total, generator=torch.Generator().manual_seed(seed))[:n]
    idx = idx.sort().values
    images, labels = ds.batch(idx)
    return to_uint8(images), labels.numpy().astype(np.int64), list(getattr(ds, "class_names", []) or [])


def encode_images(encode: Callable[[np.ndarray], torch.Tensor], images: np.ndarray,
                  progress: Optional[Callable[[float], None]] = None) -> np.ndarray:
    """Codes [N, z_dim] of uint8 images [N, H, W, C]: ``encode(pixels [H, W, C]) -> mu [z_dim]`` per image."""
    codes = []
    for i, img in enumerate(images):
        codes.append(np.asarray(encode(img), dtype=np.float64).reshape(-1))
        if progress is not None and (i % 50 == 0 or i == len(images) - 1):
            progress((i + 1) / len(images))
    return np.stack(codes)
