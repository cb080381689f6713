"""Sample grids and the progressive-growing schedule: small pure functions of the loop."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ganstudio.training.errors import writing


def sample_grid(images: torch.Tensor, cols: int) -> np.ndarray:
    """[N, C, H, W] in [-1, 1] -> uint8 [rows*H, cols*W, 3] grid (grey repeated to RGB)."""
    x = ((images.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    n, c, h, w = x.shape
    rows = math.ceil(n / cols)
    grid = torch.zeros(rows * cols, c, h, w, dtype=torch.uint8)
    grid[:n] = x[:, :3]
    grid = grid.view(rows, cols, c, h, w).permute(0, 3, 1, 4, 2).reshape(rows * h, cols * w, c)
    return grid.numpy()


def save_png(path: Path, grid: np.ndarray) -> None:
    from PIL import Image

    from ganstudio._io import atomic_path
    with writing(path), atomic_path(path) as tmp:
        Image.fromarray(grid).save(tmp, format="PNG")


def progressive_schedule(images_seen: int, phase_kimg: float, num_stages: int) -> tuple[int, float]:
    """(stage, alpha) after ``images_seen`` images: stage 0 stable, then per stage a fade-in and a stable phase."""
    if phase_kimg <= 0:
        return num_stages - 1, 1.0
    phase_img = phase_kimg * 1000.0
    p = images_seen / phase_img
    if p < 1:
        return 0, 1.0
    stage = int((p - 1) // 2) + 1
    if stage >= num_stages:
        return num_stages - 1, 1.0
    frac = (p - 1) - 2 * (stage - 1)  # in [0, 2): fade-in, then stable
    return stage, min(1.0, frac)


def progressive_reals(real: torch.Tensor, stage: int, alpha: float) -> torch.Tensor:
    """Progressive growing: reals at the stage's size, faded in like G's output."""
    res = 4 * 2 ** stage
    if real.shape[-1] != res:
        real = F.adaptive_avg_pool2d(real, res)
    if stage > 0 and alpha < 1.0:
        low = F.interpolate(F.avg_pool2d(real, 2), scale_factor=2, mode="nearest")
        real = torch.lerp(low, real, alpha)
    return real
