"""Self-attention maps without Qt: one query's weights over the key grid, and their heat-map pictures.

SAGAN-style attention keeps, after a forward, a map [N, HW, HW/4] per attention layer: for each
query position of the HW feature map, softmax weights over the 2x2-max-pooled key positions.
The renderer returns them as ``RenderResult.captures["attention"]``.
"""
from __future__ import annotations

import numpy as np


def query_index(res: int, fx: float, fy: float) -> int:
    """Row of the attention matrix for a query at image fractions (fx, fy) on a res x res feature map."""
    col = min(res - 1, max(0, int(fx * res)))
    row = min(res - 1, max(0, int(fy * res)))
    return row * res + col


def attention_for_query(att: np.ndarray, fx: float, fy: float) -> np.ndarray:
    """att [HW, HW/4] of one image -> the query's weights over the key grid [h/2, w/2] (sums to 1)."""
    hw, keys = att.shape
    res = int(round(hw ** 0.5))
    side = int(round(keys ** 0.5))
    if res * res != hw or side * side != keys:
        raise ValueError(f"attention map of shape {list(att.shape)} is not [HW, HW/4] of a square feature map")
    return att[query_index(res, fx, fy)].reshape(side, side)


def heat_rgb(m: np.ndarray) -> np.ndarray:
    """A [h, w] map -> uint8 [h, w, 3] in a black-red-yellow-white ramp (scaled to its max)."""
    t = m / max(float(m.max()), 1e-12)
    rgb = np.stack([np.clip(3 * t, 0, 1), np.clip(3 * t - 1, 0, 1), np.clip(3 * t - 2, 0, 1)], -1)
    return (rgb * 255).round().astype(np.uint8)


def overlay(image: np.ndarray, m: np.ndarray) -> np.ndarray:
    """The heat map of ``m`` nearest-upsampled onto ``image`` [H, W, C] (in grey, so the colours read).

    Each pixel's opacity follows its weight, so keys with no attention leave the image visible.
    """
    h, w = image.shape[:2]
    rows, cols = (np.arange(h) * m.shape[0]) // h, (np.arange(w) * m.shape[1]) // w
    heat = heat_rgb(m)[rows][:, cols].astype(np.float32)
    t = (m / max(float(m.max()), 1e-12))[rows][:, cols][..., None]
    alpha = 0.15 + 0.8 * t
    grey = image.astype(np.float32).mean(-1, keepdims=True).repeat(3, -1) * 0.8
    return (grey * (1 - alpha) + heat * alpha).round().clip(0, 255).astype(np.uint8)
