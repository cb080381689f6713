"""Blend pad: drag a point between four seeds; z is their bilinear blend (top-left, top-right, bottom-left,
bottom-right), rescaled to keep the seeds' norm (see latent.norm_blend)."""
from __future__ import annotations

from typing import Optional

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from ganstudio.engine import ModelInfo, RenderState
from ganstudio.engine.transforms import bilinear_weights, pad_z
from ganstudio.gui.images import to_qimage
from ganstudio.gui.panels._base import Panel
from ganstudio.gui.widgets import SeedBox


class Pad(QWidget):
    """A square pad with corner thumbnails; dragging emits ``moved(u, v)``."""

    moved = Signal(float, float)
    released = Signal()

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.u = self.v = 0.5
        self.corners: list = [None] * 4  # QImages of the four corner seeds
        self.setMinimumSize(220, 220)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)

    def heightForWidth(self, w: int) -> int:
        return w

    def hasHeightForWidth(self) -> bool:
        return True

    def area(self) -> QRectF:
        s = min(self.width(), self.height()) - 8
        return QRectF((self.width() - s) / 2, (self.height() - s) / 2, s, s)

    def set_point(self, u: float, v: float) -> None:
        self.u, self.v = u, v
        self.update()

    def paintEvent(self, _):
        p = QPainter(self)
        a = self.area()
        p.fillRect(a, QColor(45, 45, 50))
        t = a.width() * 0.28
        boxes = [QRectF(a.left(), a.top(), t, t), QRectF(a.right() - t, a.top(), t, t),
                 QRectF(a.left(), a.bottom() - t, t, t), QRectF(a.right() - t, a.bottom() - t, t, t)]
        p.setRenderHint(QPainter.SmoothPixmapTransform, False)
        for img, box in zip(self.corners, boxes):
            if img is not None:
                p.setOpacity(0.85)
                p.drawImage(box, img)
        p.setOpacity(1.0)
        p.setPen(QPen(QColor(90, 90, 100), 1, Qt.DashLine))
        for f in (0.25, 0.5, 0.75):
            p.drawLine(QPointF(a.left() + f * a.width(), a.top()), QPointF(a.left() + f * a.width(), a.bottom()))
            p.drawLine(QPointF(a.left(), a.top() + f * a.height()), QPointF(a.right(), a.top() + f * a.height()))
        p.setRenderHint(QPainter.Antialiasing)
        c = QPointF(a.left() + self.u * a.width(), a.top() + self.v * a.height())
        p.setPen(QPen(QColor(20, 20, 20), 2))
        p.setBrush(QColor(255, 190, 40))
        p.drawEllipse(c, 8, 8)
        p.end()

    def _emit_at(self, pos) -> None:
        a = self.area()
        u = min(max((pos.x() - a.left()) / a.width(), 0.0), 1.0)
        v = min(max((pos.y() - a.top()) / a.height(), 0.0), 1.0)
        self.set_point(u, v)
        self.moved.emit(u, v)

    def mousePressEvent(self, e):
        if e.button() == Qt.LeftButton:  # a right click (context menu habit) is not a blend
            self._emit_at(e.position())

    def mouseMoveEvent(self, e):
        if e.buttons() & Qt.LeftButton:
            self._emit_at(e.position())

    def mouseReleaseEvent(self, e):
        if e.button() == Qt.LeftButton:
            self.released.emit()


class BlendPadPanel(Panel):
    title = "Blend pad"
    sync_fields = frozenset()  # the pad keeps its handle; other edits do not move it

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, parent)
        lay = QVBoxLayout(self)
        grid = QGridLayout()
        self.corner_seeds: list[SeedBox] = []
        for i, (r, c, name) in enumerate([(0, 0, "↖"), (0, 1, "↗"),
                                          (1, 0, "↙"), (1, 1, "↘")]):
            sb = SeedBox()
            sb.setValue(i + 1)
            sb.setPrefix(f"{name} seed ")
            sb.setKeyboardTracking(False)
            sb.valueChanged.connect(lambda _: self._corners_changed())
            grid.addWidget(sb, r, c)
            self.corner_seeds.append(sb)
        lay.addLayout(grid)
        self.pad = Pad()
        lay.addWidget(self.pad, 1)
        self.weights_label = QLabel()
        lay.addWidget(self.weights_label)
        self.norm_note = QLabel("Inside the pad the blend keeps the seeds' norm (as the Interpolation panel's "
                                "slerp does): a plain weighted sum would shrink z towards 0 and wash the image out.")
        self.norm_note.setWordWrap(True)
        lay.addWidget(self.norm_note)
        self.apply_btn = QPushButton("Blend at the handle")
        lay.addWidget(self.apply_btn)
        self.pad.moved.connect(self.blend)
        self.pad.released.connect(self.app.end_gesture)
        self.apply_btn.clicked.connect(lambda: self.blend(self.pad.u, self.pad.v))
        self._show_weights()

    def seeds(self) -> list[int]:
        return [sb.value() for sb in self.corner_seeds]

    def blended_z(self, u: float, v: float) -> np.ndarray:
        return pad_z(self.state, self.info, self.seeds(), u, v)

    def blend(self, u: float, v: float) -> None:
        self.pad.set_point(u, v)
        self._show_weights()
        z = self.blended_z(u, v)
        self.edit("Blend pad", merge="pad", z=tuple(float(x) for x in z), ws=None)

    def _show_weights(self) -> None:
        w = bilinear_weights(self.pad.u, self.pad.v)
        self.weights_label.setText("weights  " + "  ".join(f"{s}: {x:.2f}" for s, x in zip(self.seeds(), w)))

    def _corners_changed(self) -> None:
        self._show_weights()
        self.schedule_refresh()

    def model_changed(self, info: ModelInfo) -> None:
        self.pad.corners = [None] * 4
        self.pad.update()

    def refresh(self) -> None:
        state, renderer, seeds = self.state, self.ctx.render, self.seeds()
        base = state.replace(z=None, ws=None)

        def done(res):
            if res.image is not None and res.state.model == self.state.model:
                self.pad.corners = [to_qimage(a) for a in res.image]
                self.pad.update()
        self.run_job("corners", lambda: renderer.render(base, seeds), done)

    def sync(self, state: RenderState) -> None:
        pass  # the pad keeps its handle; other edits do not move it
