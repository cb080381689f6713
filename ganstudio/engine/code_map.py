"""The code grid of a VQ-VAE in a render state, and the prior's sampling on a private copy of the network (no Qt).

A VQ-VAE's ws [1, grid*grid] is its code grid (codebook indices in raster order): a state with an
explicit ws shows that grid, so setting a cell's code or resampling a region is a state edit like
any other (undoable, saved in sessions and bookmarks).  The PixelCNN prior is autoregressive in raster
order: a resampled cell is drawn given every cell before it (the rows above, the cells to its left),
never given the cells after it.  Sampling runs on a :class:`CodeSampler`, a copy of the network loaded
for it alone, so it never waits for or holds the renderer.
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Optional

import numpy as np
import torch

from ganstudio.engine.state import RenderState
from ganstudio.imaging import to_uint8

CONDITIONING_NOTE = ("The prior is autoregressive in raster order (left to right, top to bottom): a resampled cell "
                     "is drawn given every cell before it — the rows above and the cells to its left, kept or just "
                     "resampled — and never given the cells after it. Cells after the region are kept as they are, "
                     "but the prior does not see them, so the seams below and to the right may not match.")


class Region(NamedTuple):
    """A rectangle of cells: rows [row0, row1], columns [col0, col1], inclusive."""
    row0: int
    col0: int
    row1: int
    col1: int

    @classmethod
    def spanning(cls, a: tuple[int, int], b: tuple[int, int]) -> "Region":
        return cls(min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]), max(a[1], b[1]))

    def mask(self, grid: int) -> np.ndarray:
        """bool [grid, grid], set inside the region (clipped to the grid)."""
        m = np.zeros((grid, grid), dtype=bool)
        m[max(0, self.row0):self.row1 + 1, max(0, self.col0):self.col1 + 1] = True
        return m


def code_grid(info) -> int:
    """The side of a model's code grid; ValueError for a model without one."""
    grid = tuple(info.capabilities.code_grid)
    if len(grid) != 2 or grid[0] != grid[1] or grid[0] < 1:
        raise ValueError("the model has no code grid (capabilities().code_grid is empty): only VQ-VAEs have one")
    return grid[0]


def codes_from_ws(ws, grid: int, num_codes: int) -> np.ndarray:
    """ws [1, grid*grid] (a tensor or nested lists) -> int64 codes [grid, grid], rounded and clamped as the
    model's synthesis does."""
    a = np.nan_to_num(np.asarray(ws if not torch.is_tensor(ws) else ws.detach().cpu().numpy(), dtype=np.float64))
    a = a.reshape(-1)
    if a.size != grid * grid:
        raise ValueError(f"ws has {a.size} values, the code grid {grid}x{grid} needs {grid * grid}")
    return np.clip(np.rint(a), 0, num_codes - 1).astype(np.int64).reshape(grid, grid)


def with_codes(state: RenderState, codes: np.ndarray) -> RenderState:
    """``state`` showing the code grid ``codes``: an explicit ws; edits (which would shift the indices) go."""
    row = tuple(float(v) for v in np.asarray(codes).reshape(-1))
    return state.replace(ws=(row,), z=None, edits=(), mix_sources=None, mix_seeds=())


def set_cells(state: RenderState, codes: np.ndarray, cells: np.ndarray, code: int, num_codes: int) -> RenderState:
    """``state`` with the cells set in ``cells`` (bool [grid, grid]) given ``code``."""
    if not 0 <= int(code) < num_codes:
        raise ValueError(f"code {code} out of range (the codebook has {num_codes} entries: 0-{num_codes - 1})")
    new = np.array(codes, dtype=np.int64, copy=True)
    new[np.asarray(cells, dtype=bool)] = int(code)
    return with_codes(state, new)


class CodeSampler:
    """A VQ-VAE's networks for the code-map panel: decode grids, draw codebook patches, sample the prior."""

    def __init__(self, G):
        if not getattr(G.capabilities(), "code_grid", ()):
            raise ValueError("the model has no code grid: only VQ-VAEs can be sampled code by code")
        self.G = G.eval()
        self.grid, self.num_codes = G.grid, G.num_codes
        self.device = next(G.parameters()).device

    @classmethod
    def load(cls, key: str, device="cpu") -> "CodeSampler":
        """A private copy of model ``key`` (a file read again, never the renderer's cached network)."""
        from ganstudio.engine.renderer import load_model
        G, _ = load_model(key, torch.device(device), prepare=False)
        return cls(G)

    @torch.no_grad()
    def decode(self, codes: np.ndarray) -> np.ndarray:
        """int codes [grid, grid] -> uint8 image [H, W, C]."""
        t = torch.as_tensor(np.asarray(codes, dtype=np.int64), device=self.device)[None]
        return to_uint8(self.G.decode_codes(t).float())[0]

    @torch.no_grad()
    def patches(self, cells: int = 2) -> np.ndarray:
        """Each codebook entry drawn as a decoded patch: a grid filled with the code, its central
        ``cells`` x ``cells`` cells cut out -> uint8 [K, h, w, C]."""
        g, K = self.grid, self.num_codes
        full = torch.arange(K, device=self.device).view(K, 1, 1).expand(K, g, g)
        imgs = to_uint8(torch.cat([self.G.decode_codes(full[i:i + 64]).float() for i in range(0, K, 64)]))
        cell = imgs.shape[1] // g
        lo = (g - min(cells, g)) // 2 * cell
        hi = lo + min(cells, g) * cell
        return np.ascontiguousarray(imgs[:, lo:hi, lo:hi])

    @torch.no_grad()
    def resample(self, codes: np.ndarray, cells: np.ndarray, *, seed: int, temperature: float = 1.0,
                 report: Optional[Callable[[int, int, np.ndarray], None]] = None) -> np.ndarray:
        """``codes`` with the cells set in ``cells`` redrawn from the prior in raster order, each given all
        cells before it; ``seed`` fixes the draw.  ``report(done, total, codes)`` after each cell (it may
        raise to cancel).  Returns int64 [grid, grid]."""
        from ganstudio.latent.sampling import seeded_z
        g = self.grid
        cells_t = torch.as_tensor(np.asarray(cells, dtype=bool))
        if tuple(cells_t.shape) != (g, g):
            raise ValueError(f"the region must be a {g}x{g} mask, got {list(cells_t.shape)}")
        total = int(cells_t.sum())
        z = seeded_z([int(seed)], g * g, device=self.device)
        start = torch.as_tensor(np.asarray(codes, dtype=np.int64), device=self.device).view(1, g, g)
        hook = None if report is None else (lambda done, c: report(done, total, c[0].cpu().numpy()))
        out = self.G.sample_codes(z, codes=start, cells=cells_t, temperature=float(temperature), report=hook)
        return out[0].cpu().numpy().astype(np.int64)
