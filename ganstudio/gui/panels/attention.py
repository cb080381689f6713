"""Self-attention maps: where one query location of the image looks when the attention layer runs.

SAGAN-style attention keeps, after a forward, a map [N, HW, HW/4] per attention layer: for each
query position of the HW feature map, softmax weights over the 2x2-max-pooled key positions.
The panel renders the current state once (same renderer, cached generator, the state's exact
latents) and keeps the maps, so picking another query is instant.  Click the image here or in
the main view to move the query.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QComboBox, QGridLayout, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from ganstudio.engine import ModelInfo, RenderState
from ganstudio.engine.attention import attention_for_query, heat_rgb, overlay, query_index  # noqa: F401
from ganstudio.gui.images import to_qimage
from ganstudio.gui.panels._base import Panel


class ClickImage(QWidget):
    """A square, nearest-scaled image; a click emits ``clicked(fx, fy)`` (fractions of the image); draws the query."""

    clicked = Signal(float, float)

    def __init__(self, caption: str, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.caption = caption
        self.image: Optional[QImage] = None
        self.marker: Optional[tuple[float, float]] = None
        self.marker_cell = 0.0  # width of the query cell as a fraction of the image
        self.setMinimumSize(120, 120)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Preferred)
        self.setCursor(Qt.CrossCursor)

    def sizeHint(self) -> QSize:
        return QSize(180, 200)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, w: int) -> int:
        return w + 18

    def set_image(self, image: Optional[np.ndarray]) -> None:
        self.image = None if image is None else to_qimage(image)
        self.update()

    def area(self) -> QRectF:
        s = min(self.width(), self.height() - 18)
        return QRectF((self.width() - s) / 2, 0, s, s)

    def paintEvent(self, _):
        p = QPainter(self)
        a = self.area()
        p.fillRect(a, QColor(30, 30, 30))
        if self.image is not None:
            p.setRenderHint(QPainter.SmoothPixmapTransform, False)
            p.drawImage(a, self.image)
        if self.marker is not None:
            x, y = a.left() + self.marker[0] * a.width(), a.top() + self.marker[1] * a.height()
            cell = max(4.0, self.marker_cell * a.width())
            p.setPen(QPen(QColor(40, 220, 255), 2))
            p.drawRect(QRectF(x - cell / 2, y - cell / 2, cell, cell))
            p.drawLine(QPointF(x - cell, y), QPointF(x - cell / 2, y))
            p.drawLine(QPointF(x + cell / 2, y), QPointF(x + cell, y))
        p.setPen(QColor(200, 200, 200))
        p.drawText(QRectF(0, a.bottom() + 2, self.width(), 16), Qt.AlignCenter, self.caption)

    def mousePressEvent(self, e):
        a = self.area()
        pos = e.position()
        if e.button() == Qt.LeftButton and a.contains(pos):
            self.clicked.emit((pos.x() - a.left()) / a.width(), (pos.y() - a.top()) / a.height())


class AttentionPanel(Panel):
    title = "Attention"

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, parent)
        lay = QVBoxLayout(self)
        note = QLabel("Self-attention lets each location draw on distant ones. Click a point of the image "
                      "(here or in the main view) to see which locations it attends to.")
        note.setWordWrap(True)
        lay.addWidget(note)
        row = QHBoxLayout()
        row.addWidget(QLabel("Attention layer"))
        self.layer = QComboBox()
        row.addWidget(self.layer, 1)
        lay.addLayout(row)
        grid = QGridLayout()
        self.query_view = ClickImage("image · query")
        self.overlay_view = ClickImage("attention over image")
        self.map_view = ClickImage("attention weights")
        grid.addWidget(self.query_view, 0, 0)
        grid.addWidget(self.overlay_view, 0, 1)
        lay.addLayout(grid)
        mrow = QHBoxLayout()
        mrow.addWidget(self.map_view, 1)
        self.stats = QLabel()
        self.stats.setWordWrap(True)
        self.stats.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        mrow.addWidget(self.stats, 1)
        lay.addLayout(mrow)
        lay.addStretch(1)

        self.query = (0.5, 0.5)  # fractions of the image
        self.maps: dict[int, np.ndarray] = {}  # resolution -> [HW, HW/4] of the current state
        self.image: Optional[np.ndarray] = None
        self.maps_state: Optional[RenderState] = None
        self.current_map: Optional[np.ndarray] = None  # [h/2, w/2] for the query, sums to 1
        for view in (self.query_view, self.overlay_view, self.map_view):
            view.clicked.connect(self.set_query)
        self.layer.currentIndexChanged.connect(lambda _: self._show())
        ctx.view.image_clicked.connect(self._on_view_clicked)

    def unsupported(self, info: ModelInfo) -> str:
        return "" if info.capabilities.attention else \
            "the model has no self-attention layer (capabilities().attention is False)."

    def set_query(self, fx: float, fy: float) -> None:
        """Move the query to (fx, fy), fractions of the image width and height."""
        self.query = (min(max(fx, 0.0), 0.999999), min(max(fy, 0.0), 0.999999))
        self._show()

    def _on_view_clicked(self, fx: float, fy: float) -> None:
        # A click on the main image moves the query while this panel is on screen.
        if self.supported and self.is_shown():
            self.set_query(fx, fy)

    def model_changed(self, info: ModelInfo) -> None:
        self.maps, self.image, self.maps_state, self.current_map = {}, None, None, None
        self.layer.clear()
        for view in (self.query_view, self.overlay_view, self.map_view):
            view.set_image(None)
        self.stats.setText("rendering…")

    def refresh(self) -> None:
        render, state = self.ctx.render, self.state

        def work():
            # The maps come back with the render (captured under its lock: no other forward overwrites them).
            res = render.render(state, capture=("attention",))
            if res.image is None:
                raise ValueError(res.error)
            return res.image, {r: a[0] for r, a in res.captures["attention"].items()}

        def done(result):
            self.image, self.maps = result
            self.maps_state = state
            keep = self.layer.currentText()
            was = self.layer.blockSignals(True)
            self.layer.clear()
            for r in sorted(self.maps):
                self.layer.addItem(f"{r}×{r} feature map", r)
            i = self.layer.findText(keep)
            self.layer.setCurrentIndex(max(i, 0))
            self.layer.blockSignals(was)
            if not self.maps:
                self.stats.setText("The generator kept no attention maps for this render.")
            self._show()
        self.run_job("maps", work, done)

    def _show(self) -> None:
        if self.image is None or not self.maps or self.layer.currentData() is None:
            return
        res = int(self.layer.currentData())
        att = self.maps[res]
        fx, fy = self.query
        m = attention_for_query(att, fx, fy)
        self.current_map = m
        col, row = min(res - 1, int(fx * res)), min(res - 1, int(fy * res))
        self.query_view.set_image(self.image)
        self.overlay_view.set_image(overlay(self.image, m))
        self.map_view.set_image(heat_rgb(m))
        for view in (self.query_view, self.overlay_view, self.map_view):
            view.marker = (fx, fy)
            view.marker_cell = 1.0 / res
            view.update()
        peak = np.unravel_index(int(m.argmax()), m.shape)
        p = m.flatten()
        entropy = float(-(p * np.log(np.clip(p, 1e-12, None))).sum())
        self.stats.setText(f"Query cell ({col}, {row}) of the {res}×{res} map; keys on a {m.shape[1]}×{m.shape[0]} "
                           f"grid.\nPeak weight {m.max():.3f} at ({peak[1]}, {peak[0]}); "
                           f"sum {m.sum():.3f}.\nSpread: {np.exp(entropy):.1f} of {m.size} keys "
                           "(exp entropy).")
