"""Layer activations captured during a render, and the pictures the layer viewer draws from them (Qt-free).

The render request names what to capture (``Renderer.render(..., capture=...)``):

- ``"layers"``: the generator's feature-map layers, i.e. the named modules whose output during this
  render's synthesis was an [N, C, H, W] tensor, in the order they ran -> ``captures["layers"] =
  {name: (C, H, W)}``; a fully connected layer's [N, D] counts as D channels of 1x1 (so MLP
  generators have layers to show too);
- ``"layer:NAME"``: that layer's output -> ``captures["layer"][NAME]``, a CPU array [N, C, H, W]
  (float32, float16 when large), at most MAX_CAPTURE_VALUES values per layer and MAX_TOTAL_VALUES per
  render: beyond that only the first channels are kept (one at least) and
  ``captures["layer_channels"][NAME]`` says how many the layer has.

Forward hooks are installed by the renderer on its render thread, under its lock, for the synthesis
only, and removed when it ends (also when it fails), so no other forward sees them; the image is
unchanged because the hooks only read.  Outputs are copied inside the hook: a later in-place
activation (ReLU(inplace=True)) would otherwise change what was captured.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch

LIST = "layers"
PREFIX = "layer:"
MAX_CAPTURE_VALUES = 1 << 22  # per layer and render: 16 MB as float32
MAX_TOTAL_VALUES = 1 << 24  # all layers of one render together
HALF_ABOVE = 1 << 20  # values per layer above which the copy is kept as float16


def layer_names_asked(capture: Sequence[str]) -> list[str]:
    """The layer names a capture request asks for (``"layer:NAME"`` entries), in order, without repeats."""
    out: list[str] = []
    for c in capture:
        if isinstance(c, str) and c.startswith(PREFIX) and c[len(PREFIX):] not in out:
            out.append(c[len(PREFIX):])
    return out


def is_layer_capture(name: str) -> bool:
    return name == LIST or name.startswith(PREFIX)


def _candidate(name: str) -> bool:
    # weight parametrizations (spectral norm) are modules too, but they return weights, not activations
    return bool(name) and "parametrizations" not in name.split(".")


def _copy(t: torch.Tensor, budget: int) -> tuple[np.ndarray, int]:
    """A CPU copy of a feature map [N, C, H, W] within MAX_CAPTURE_VALUES and ``budget`` values (one channel
    at least) -> (array, channels the layer has)."""
    n, ch, h, w = t.shape
    keep = max(1, min(ch, min(MAX_CAPTURE_VALUES, budget) // max(1, n * h * w)))
    part = t[:, :keep].detach()
    dtype = torch.float16 if part.numel() > HALF_ABOVE else torch.float32
    return part.to("cpu", dtype, copy=True).contiguous().numpy(), ch


class LayerCapture:
    """``with LayerCapture(G, capture) as cap: <forward>``; then ``cap.captures()``.  Hooks are gone after the block."""

    def __init__(self, G: torch.nn.Module, capture: Sequence[str]):
        self.G = G
        self.listing = LIST in capture
        self.asked = layer_names_asked(capture)
        self.shapes: dict[str, tuple] = {}
        self.maps: dict[str, tuple[np.ndarray, int]] = {}
        self.batches: dict[str, int] = {}  # the first dimension of each layer's output
        self._handles: list = []

    @property
    def active(self) -> bool:
        return self.listing or bool(self.asked)

    def __enter__(self) -> "LayerCapture":
        if not self.active:
            return self
        modules = dict(self.G.named_modules())
        unknown = [n for n in self.asked if n not in modules or not _candidate(n)]
        if unknown:
            raise ValueError(f"the generator has no layer named {unknown[0]!r}")
        names = [n for n in modules if _candidate(n)] if self.listing else self.asked
        try:
            for name in names:
                self._handles.append(modules[name].register_forward_hook(self._hook(name, name in self.asked)))
        except BaseException:
            self._remove()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self._remove()

    def _remove(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles.clear()

    def _hook(self, name: str, keep: bool):
        def hook(_module, _inputs, output):
            if isinstance(output, torch.Tensor) and output.ndim in (2, 4) and output.is_floating_point():
                if output.ndim == 2:  # a fully connected layer: its units as 1x1 channels
                    output = output[:, :, None, None]
                self.shapes.pop(name, None)  # a module run twice: its last output, in the order of that run
                self.shapes[name] = tuple(int(s) for s in output.shape[1:])
                self.batches[name] = int(output.shape[0])
                if keep:
                    used = sum(a.size for a, _ in self.maps.values() if a is not None) - (
                        self.maps[name][0].size if name in self.maps else 0)  # a module run twice: its last output
                    self.maps[name] = _copy(output, MAX_TOTAL_VALUES - used)
        return hook

    def captures(self, batch: int) -> dict:
        """What goes into RenderResult.captures; a layer asked for that made no feature map is an error."""
        out: dict = {}
        if self.listing:
            # Only outputs with the render's batch size are activations (a module may return a parameter-sized map).
            out[LIST] = {n: s for n, s in self.shapes.items() if self.batches[n] == batch}
        if self.asked:
            missing = [n for n in self.asked if n not in self.maps or self.batches[n] != batch]
            if missing:
                raise ValueError(f"layer {missing[0]!r} produced no activations [N, C, H, W] or [N, D] "
                                 "during synthesis in this render")
            out["layer"] = {n: self.maps[n][0] for n in self.asked}
            out["layer_channels"] = {n: self.maps[n][1] for n in self.asked}
        return out


def channel_grid(act: np.ndarray, max_channels: int = 64, pad: int = 1) -> tuple[np.ndarray, int, int]:
    """One image's activations [C, H, W] -> (a grid [rows*(H+pad)-pad, cols*(W+pad)-pad] in [0, 1] with
    NaN in the gaps, cols, channels shown).  Each channel is scaled to its own min..max."""
    if act.ndim != 3:
        raise ValueError(f"expected activations [C, H, W], got shape {list(act.shape)}")
    ch, h, w = act.shape
    k = min(ch, max_channels)
    cols = int(np.ceil(np.sqrt(k)))
    rows = int(np.ceil(k / cols))
    grid = np.full((rows * (h + pad) - pad, cols * (w + pad) - pad), np.nan, dtype=np.float32)
    for i in range(k):
        r, c = divmod(i, cols)
        grid[r * (h + pad):r * (h + pad) + h, c * (w + pad):c * (w + pad) + w] = normalized(act[i])
    return grid, cols, k


def normalized(m: np.ndarray) -> np.ndarray:
    """A map scaled to [0, 1] by its own min and max (a constant map -> 0.5)."""
    m = np.asarray(m, dtype=np.float32)
    lo, hi = float(np.nanmin(m)), float(np.nanmax(m))
    if not np.isfinite(lo) or not np.isfinite(hi):
        m = np.nan_to_num(m, nan=0.0, posinf=0.0, neginf=0.0)
        lo, hi = float(m.min()), float(m.max())
    if hi - lo < 1e-12:
        return np.full(m.shape, 0.5, dtype=np.float32)
    return (m - lo) / (hi - lo)


def summary_map(act: np.ndarray, how: str = "mean") -> np.ndarray:
    """[C, H, W] -> [H, W]: the mean or the max over channels."""
    if how == "mean":
        return act.astype(np.float32).mean(0)
    if how == "max":
        return act.astype(np.float32).max(0)
    raise ValueError(f"unknown summary {how!r} (mean, max)")


def grid_cell(fx: float, fy: float, grid_shape: tuple, map_shape: tuple, cols: int, shown: int,
              pad: int = 1) -> Optional[int]:
    """The channel under (fx, fy), fractions of a channel grid's width and height; None in a gap or past the end."""
    gh, gw = grid_shape
    h, w = map_shape
    x, y = int(fx * gw), int(fy * gh)
    c, r = divmod(x, w + pad)[0], divmod(y, h + pad)[0]
    if x % (w + pad) >= w or y % (h + pad) >= h or c >= cols:
        return None
    i = r * cols + c
    return i if 0 <= i < shown else None


def grey_rgb(m01: np.ndarray) -> np.ndarray:
    """A map in [0, 1] (NaN: gap) -> uint8 [H, W, 3] through a dark-blue-to-yellow ramp; gaps dark grey."""
    t = np.clip(np.nan_to_num(m01, nan=0.0), 0, 1)
    stops = np.array([[13, 8, 135], [126, 3, 168], [204, 71, 120], [248, 149, 64], [240, 249, 33]], np.float32)
    pos = t * (len(stops) - 1)
    i = np.clip(pos.astype(int), 0, len(stops) - 2)
    f = (pos - i)[..., None]
    rgb = stops[i] * (1 - f) + stops[i + 1] * f
    rgb[np.isnan(m01)] = 40
    return rgb.round().astype(np.uint8)
