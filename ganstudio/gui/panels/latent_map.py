"""Latent map: a data set encoded by the model's encoder, drawn as a scatter coloured by class.

Click or drag anywhere on the map to decode that point: z is set through the core as one undoable
edit per gesture, and the main image follows while dragging.  A 2-D code is its own map; longer
codes are shown by PCA (``engine.latent_map``), labelled as such.  Encoding runs as a background job.
Right-drag or the wheel zooms; "Fit" shows every point again.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox, QVBoxLayout

from ganstudio.engine import ModelInfo, RenderState
from ganstudio.engine.latent_map import (DEFAULT_POINTS, MAX_POINTS, LatentMap, build_map, encode_images,
                                         load_images)
from ganstudio.gui.panels._base import Panel

# Ten distinguishable class colours (Fashion-MNIST has ten classes); unlabelled points are grey.
CLASS_COLOURS = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
                 "#9c755f", "#bab0ac"]
UNLABELLED = "#9a9a9a"
CODE_RANGE = 3.0  # the view of a 2-D code before anything is encoded: +-3 standard deviations of the prior


class MapViewBox(pg.ViewBox):
    """A view box where a left click or left drag picks a point (right-drag and the wheel still zoom)."""

    picked = Signal(float, float, bool)  # x, y in map coordinates; True when the gesture ends

    def mouseClickEvent(self, ev):
        if ev.button() != Qt.LeftButton:
            return super().mouseClickEvent(ev)
        ev.accept()
        p = self.mapSceneToView(ev.scenePos())
        self.picked.emit(p.x(), p.y(), True)

    def mouseDragEvent(self, ev, axis=None):
        if ev.button() != Qt.LeftButton:
            return super().mouseDragEvent(ev, axis)
        ev.accept()
        p = self.mapSceneToView(ev.scenePos())
        self.picked.emit(p.x(), p.y(), bool(ev.isFinish()))


def class_colour(label: int) -> str:
    return UNLABELLED if label < 0 else CLASS_COLOURS[label % len(CLASS_COLOURS)]


class LatentMapPanel(Panel):
    title = "Latent map"
    sync_fields = frozenset({"z", "seed", "ws"})
    preview_fields = frozenset()

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, parent)
        lay = QVBoxLayout(self)
        note = QLabel("The data encoded by the model's encoder, coloured by class. Click or drag on the map to "
                      "decode that point.")
        note.setWordWrap(True)
        lay.addWidget(note)
        row = QHBoxLayout()
        self.data_edit = QLineEdit()
        self.data_edit.setPlaceholderText("fashion-mnist, mnist, or an image folder")
        self.data_edit.setToolTip("The images to encode: a built-in data set (its test split) or a folder "
                                  "(class subfolders give the colours).")
        self.count = QSpinBox()
        self.count.setRange(10, MAX_POINTS)
        self.count.setValue(DEFAULT_POINTS)
        self.count.setSuffix(" images")
        self.encode_btn = QPushButton("Encode")
        self.fit_btn = QPushButton("Fit")
        lay.addWidget(self.data_edit)  # a row of its own: the dock is narrow and folder paths are long
        row.addWidget(self.count, 1)
        row.addWidget(self.encode_btn)
        row.addWidget(self.fit_btn)
        lay.addLayout(row)
        self.view = MapViewBox()
        self.view.setMouseEnabled(True, True)
        self.plot = pg.PlotWidget(viewBox=self.view)
        self.plot.setMinimumHeight(220)
        self.scatter = pg.ScatterPlotItem(size=4, pen=None)
        # The decoded point: the Blend pad's handle colours, visible on the dark plot and on the points.
        self.marker = pg.ScatterPlotItem(size=14, symbol="o", pen=pg.mkPen("#ffffff", width=2),
                                         brush=pg.mkBrush("#ffbe28"))
        self.plot.addItem(self.scatter)
        self.plot.addItem(self.marker)
        lay.addWidget(self.plot, 1)
        self.legend = QLabel()
        self.legend.setWordWrap(True)
        self.legend.setTextFormat(Qt.RichText)
        lay.addWidget(self.legend)
        self.status = QLabel()
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        self.map: Optional[LatentMap] = None
        self.view.picked.connect(self.pick)
        self.encode_btn.clicked.connect(self.encode_data)
        self.fit_btn.clicked.connect(self.fit)

    # -- hooks -------------------------------------------------------------------------------
    def unsupported(self, info: ModelInfo) -> str:
        return "" if info.capabilities.encoder else \
            "the model has no encoder (capabilities().encoder is False): only models with one (VAE, AAE) have a map."

    def model_changed(self, info: ModelInfo) -> None:
        self.map = None
        self.scatter.setData([], [])
        self.legend.setText("")
        training = (info.meta or {}).get("training") or {}
        self.data_edit.setText(str(training.get("data") or "fashion-mnist"))
        if info.z_dim == 2:
            self.map = _code_plane(2)
            self.status.setText("The 2-D code is its own map: click anywhere to decode that point, or encode "
                                "data to see where it lies.")
        else:
            self.status.setText(f"Encode data to draw the map of the {info.z_dim}-D codes (PCA).")
        self._label_axes()
        self.fit()
        self.sync(self.state)

    def sync(self, state: RenderState) -> None:
        if self.map is None or state.z is None or state.ws is not None or len(state.z) != len(self.map.mean):
            self.marker.setData([], [])  # a seed's z is drawn by the renderer; the map shows explicit ones
            return
        x, y = self.map.to_map(state.z)
        self.marker.setData([x], [y])

    # -- encoding ----------------------------------------------------------------------------
    def encode_data(self) -> None:
        """Load and encode the data off the GUI thread, then draw the map."""
        if not self.supported:
            return
        data = self.data_edit.text().strip()
        if not data:
            self.status.setText("Name the data to encode (fashion-mnist, mnist or an image folder).")
            return
        render, info, model, n = self.ctx.render, self.info, self.state.model, self.count.value()

        def work(report):
            images, labels, names = load_images(data, info.resolution, info.channels, n)
            codes = encode_images(lambda px: render.encode(model, px)[0], images, report)
            return build_map(codes, labels, names)  # here, so that non-finite codes are reported like any failure

        def done(result: LatentMap):
            if self.state.model != model:
                return  # the model changed while encoding
            self.show_map(result)

        def failed(message: str):
            self.status.setText(f"Could not encode {data}: {message}")
            self.ctx.report_error(f"Latent map: {message}")
        self.status.setText(f"Encoding {n} images of {data}…")
        self.run_job("encode", work, done, busy=f"Encoding {data}", with_progress=True, on_fail=failed)

    def show_map(self, latent_map: LatentMap) -> None:
        """Draw a map of encoded data (``engine.latent_map.build_map``)."""
        self.map = latent_map
        brushes = [pg.mkBrush(class_colour(int(k))) for k in self.map.labels]
        self.scatter.setData(self.map.points[:, 0], self.map.points[:, 1], brush=brushes)
        present = sorted({int(k) for k in self.map.labels if k >= 0})
        names = self.map.class_names
        self.legend.setText("&nbsp;&nbsp; ".join(
            f"<span style='color:{class_colour(k)}; font-weight:bold'>&#9679;</span>&nbsp;"
            f"{names[k] if k < len(names) else k}" for k in present))
        self.status.setText(self.map.describe())
        self._label_axes()
        self.fit()
        self.sync(self.state)

    # -- picking -----------------------------------------------------------------------------
    def pick(self, x: float, y: float, finished: bool = True) -> None:
        """Decode map point (x, y): z through the core; one undo step per click or drag."""
        if not self.supported or self.map is None:
            if self.supported:
                self.status.setText("Encode data first: the map's axes come from the codes.")
            return
        z = self.map.to_latent(x, y)
        self.marker.setData([x], [y])
        self.edit("Latent map", merge="latent_map", z=tuple(float(v) for v in z), ws=None, edits=())
        if finished:
            self.app.end_gesture()

    def fit(self) -> None:
        if self.map is not None and len(self.map.points):
            # Python floats: float32 bounds overflow in pyqtgraph's comparisons with its float64 limits.
            lo, hi = self.map.points.min(0).astype(float), self.map.points.max(0).astype(float)
            pad = 0.05 * np.maximum(hi - lo, 1e-3)
            self.view.setRange(xRange=(float(lo[0] - pad[0]), float(hi[0] + pad[0])),
                               yRange=(float(lo[1] - pad[1]), float(hi[1] + pad[1])), padding=0)
        else:
            self.view.setRange(xRange=(-CODE_RANGE, CODE_RANGE), yRange=(-CODE_RANGE, CODE_RANGE), padding=0)

    def _label_axes(self) -> None:
        bottom, left = self.map.axis_labels() if self.map is not None else ("", "")
        self.plot.setLabel("bottom", bottom)
        self.plot.setLabel("left", left)


def _code_plane(dim: int) -> LatentMap:
    """The map of a 2-D code with no data yet: the code's own axes."""
    empty = build_map(np.zeros((1, dim)), np.full(1, -1))
    return empty._replace(points=np.zeros((0, 2), np.float32), labels=np.zeros(0, np.int64))
