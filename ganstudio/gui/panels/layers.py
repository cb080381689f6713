"""Layer viewer: the activations of any generator layer for the current image, as a channel grid and a channel summary.

The layers are the generator's named modules that produced a feature map during the render
(engine/layers.py); the panel asks the render for them (``capture=("layers", "layer:NAME")``) and
draws what comes back in the render result: it never takes the renderer's lock or reads the network.
Click a channel of the grid to see its map; the summary is the mean or max over all channels, as a
heat map over the image.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
from PySide6.QtWidgets import QComboBox, QGridLayout, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout

from ganstudio.engine import ModelInfo, RenderState
from ganstudio.engine import layers as L
from ganstudio.engine.attention import overlay
from ganstudio.gui.panels._base import Panel
from ganstudio.gui.panels.attention import ClickImage

GRID_CHANNELS = 64  # channels per page of the grid


def default_layer(shapes: dict) -> str:
    """A layer worth showing first: the middle one of those with spatial extent (else the first)."""
    spatial = [n for n, (c, h, w) in shapes.items() if h > 1 and c > 1]
    names = spatial or list(shapes)
    return names[len(names) // 2] if names else ""


class LayersPanel(Panel):
    title = "Layers"

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, parent)
        lay = QVBoxLayout(self)
        note = QLabel("What each layer of the generator computes for the current image. Click a channel "
                      "in the grid to see its map.")
        note.setWordWrap(True)
        lay.addWidget(note)
        row = QHBoxLayout()
        row.addWidget(QLabel("Layer"))
        self.layer = QComboBox()
        row.addWidget(self.layer, 1)
        lay.addLayout(row)
        row = QHBoxLayout()
        row.addWidget(QLabel("Summary"))
        self.how = QComboBox()
        self.how.addItem("mean over channels", "mean")
        self.how.addItem("max over channels", "max")
        row.addWidget(self.how)
        row.addWidget(QLabel("Channels from"))
        self.page = QSpinBox()
        self.page.setSingleStep(GRID_CHANNELS)
        row.addWidget(self.page)
        lay.addLayout(row)
        grid = QGridLayout()
        self.grid_view = ClickImage("channels")
        self.channel_view = ClickImage("channel")
        self.summary_view = ClickImage("mean")
        grid.addWidget(self.grid_view, 0, 0, 1, 2)
        grid.addWidget(self.channel_view, 1, 0)
        grid.addWidget(self.summary_view, 1, 1)
        lay.addLayout(grid)
        self.stats = QLabel()
        self.stats.setWordWrap(True)
        lay.addWidget(self.stats)
        lay.addStretch(1)

        self.shapes: dict[str, tuple] = {}  # the model's layers: name -> (C, H, W)
        self.act: Optional[np.ndarray] = None  # [C', H, W] of the shown layer (C' <= C when bounded)
        self.channels = 0  # C of the shown layer
        self.shown_layer = ""
        self.image: Optional[np.ndarray] = None
        self.channel = 0
        self._grid = (None, 1, 0)  # (grid array, cols, channels shown)
        self.layer.currentIndexChanged.connect(lambda _: self.schedule_refresh())
        self.how.currentIndexChanged.connect(lambda _: self._show())
        self.page.valueChanged.connect(lambda _: self._show())
        self.grid_view.clicked.connect(self._grid_clicked)

    def model_changed(self, info: ModelInfo) -> None:
        self.shapes, self.act, self.image, self.shown_layer, self.channel = {}, None, None, "", 0
        self.layer.clear()
        for view in (self.grid_view, self.channel_view, self.summary_view):
            view.set_image(None)
        self.stats.setText("rendering…")

    def refresh(self) -> None:
        render, state, wanted = self.ctx.render, self.state, self.layer.currentData() or ""

        def work():
            asked = ("layers",) + ((L.PREFIX + wanted,) if wanted else ())
            res = render.render(state, capture=asked)
            if res.image is None:
                raise ValueError(res.error)
            shapes, name = res.captures["layers"], wanted
            if name not in shapes:  # first render of this model: list the layers, then show one
                name = default_layer(shapes)
                if not name:
                    return res.image, shapes, "", None, 0
                res = render.render(state, capture=(L.PREFIX + name,))
                if res.image is None:
                    raise ValueError(res.error)
            return res.image, shapes, name, res.captures["layer"][name][0], res.captures["layer_channels"][name]

        self.run_job("capture", work, lambda r: self._captured(state, *r))

    def _captured(self, state: RenderState, image, shapes: dict, name: str, act, channels: int) -> None:
        if state.model != self.state.model:
            return
        self.image, self.act, self.channels = image, act, channels
        if list(shapes) != list(self.shapes):
            self.shapes = dict(shapes)
            with self.quiet():
                self.layer.clear()
                for n, (c, h, w) in shapes.items():
                    self.layer.addItem(f"{n}  ({c}×{h}×{w})", n)
        with self.quiet():
            self.layer.setCurrentIndex(max(0, self.layer.findData(name)))
        if name != self.shown_layer:
            self.channel = 0
            with self.quiet():
                self.page.setValue(0)
        self.shown_layer = name
        with self.quiet():
            self.page.setMaximum(max(0, (len(act) - 1) // GRID_CHANNELS * GRID_CHANNELS) if act is not None else 0)
        if not name:
            self.stats.setText("The generator produced no layer activations in this render.")
        self._show()

    def select_channel(self, channel: int) -> None:
        """Show channel ``channel`` of the current layer in the channel view."""
        if self.act is not None and 0 <= channel < len(self.act):
            self.channel = channel
            self._show()

    def _grid_clicked(self, fx: float, fy: float) -> None:
        grid, cols, shown = self._grid
        if grid is None or self.act is None:
            return
        i = L.grid_cell(fx, fy, grid.shape, self.act.shape[1:], cols, shown)
        if i is not None:
            self.select_channel(self.page.value() + i)

    def _show(self) -> None:
        if self.act is None:
            return
        act, start = self.act, min(self.page.value(), max(0, len(self.act) - 1))
        grid, cols, shown = L.channel_grid(act[start:start + GRID_CHANNELS], GRID_CHANNELS)
        self._grid = (grid, cols, shown)
        self.grid_view.caption = f"channels {start}–{start + shown - 1} of {self.channels}"
        self.grid_view.set_image(_big(L.grey_rgb(grid)))
        ch = min(self.channel, len(act) - 1)
        self._mark(ch - start, cols, shown, act.shape[1:], grid.shape)
        self.channel_view.caption = f"channel {ch}"
        self.channel_view.set_image(L.grey_rgb(L.normalized(act[ch])))
        how = self.how.currentData()
        summary = L.summary_map(act, how)
        self.summary_view.caption = f"{how} over {len(act)} channels, on the image"
        m = L.normalized(summary)
        self.summary_view.set_image(overlay(self.image, m) if self.image is not None else L.grey_rgb(m))
        c = act[ch].astype(np.float32)
        bounded = f" (the first {len(act)} kept)" if len(act) < self.channels else ""
        self.stats.setText(f"{self.shown_layer}: {self.channels} channels of {act.shape[1]}×{act.shape[2]}{bounded}.\n"
                           f"Channel {ch}: min {c.min():.3g}, max {c.max():.3g}, mean {c.mean():.3g}; "
                           f"{float((c > 0).mean()):.0%} positive.")

    def _mark(self, i: int, cols: int, shown: int, map_shape: tuple, grid_shape: tuple) -> None:
        """Outline cell ``i`` of the grid (the selected channel), or nothing when it is on another page."""
        view = self.grid_view
        if not 0 <= i < shown:
            view.marker = None
        else:
            (h, w), (gh, gw) = map_shape, grid_shape
            r, c = divmod(i, cols)
            view.marker = ((c * (w + 1) + w / 2) / gw, (r * (h + 1) + h / 2) / gh)
            view.marker_cell = w / gw
        view.update()


def _big(rgb: np.ndarray, at_least: int = 256) -> np.ndarray:
    """Nearest-upscale a small picture so that the grid's one-pixel gaps survive the view's scaling."""
    k = max(1, at_least // max(rgb.shape[:2]))
    return rgb.repeat(k, 0).repeat(k, 1) if k > 1 else rgb
