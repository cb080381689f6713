"""The large image view: fit to the window, or a fixed zoom; pixel-exact nearest-neighbour at integer scales."""
from __future__ import annotations

import math
from typing import Optional

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget


class ImageView(QWidget):
    zoom_changed = Signal(str)  # "fit 3×", "zoom 2×" ... for the status bar
    image_clicked = Signal(float, float)  # a left click on the image, as fractions of its width and height

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.image: Optional[QImage] = None
        self.message = ""
        self.busy = ""  # "Rendering…" while a slow render is on its way (drawn over the last image)
        self.fit = True
        self.zoom = 1.0
        self.smooth = False  # bilinear at every scale (fit fills the view); else nearest at whole scales
        self._pan = QPointF(0, 0)
        self._drag_from: Optional[QPointF] = None
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setMinimumSize(200, 200)
        self.setFocusPolicy(Qt.ClickFocus)

    def set_image(self, image: Optional[QImage]) -> None:
        old = None if self.image is None else self.image.size()
        self.image = image
        self.update()
        if (None if image is None else image.size()) != old:  # the fit scale depends on the image size
            self.zoom_changed.emit(self.zoom_text())

    def set_message(self, text: str) -> None:
        """Text drawn over the image (render errors, 'loading…'); '' clears it."""
        self.message = text
        self.update()

    def set_busy(self, text: str) -> None:
        if text != self.busy:
            self.busy = text
            self.update()

    def set_fit(self) -> None:
        self.fit, self._pan = True, QPointF(0, 0)
        self.update()
        self.zoom_changed.emit(self.zoom_text())

    def set_smooth(self, on: bool) -> None:
        self.smooth = bool(on)
        self.update()
        self.zoom_changed.emit(self.zoom_text())

    def set_zoom(self, zoom: float) -> None:
        self.fit, self.zoom = False, float(min(max(zoom, 1 / 16), 64))
        self.update()
        self.zoom_changed.emit(self.zoom_text())

    def scale(self) -> float:
        """The display scale: in fit mode the largest integer scale that fits (smooth scaling below 1×)."""
        if self.image is None or self.image.isNull():
            return 1.0
        if not self.fit:
            return self.zoom
        s = min(self.width() / self.image.width(), self.height() / self.image.height())
        return float(math.floor(s)) if s >= 1 and not self.smooth else s

    def zoom_text(self) -> str:
        s = self.scale()
        txt = f"{s:g}×" if s == int(s) else f"{s:.2f}×"
        return ("fit " if self.fit else "zoom ") + txt

    def image_rect(self) -> QRectF:
        """Where the image is drawn; at whole scales on whole screen pixels, so that clicks map to
        the image pixel drawn under them."""
        s = self.scale()
        w, h = self.image.width() * s, self.image.height() * s
        x, y = (self.width() - w) / 2 + self._pan.x(), (self.height() - h) / 2 + self._pan.y()
        if s == int(s):
            x, y = round(x), round(y)
        return QRectF(x, y, w, h)

    def paintEvent(self, _):
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(24, 24, 24))
        if self.image is not None and not self.image.isNull():
            s = self.scale()
            # Nearest-neighbour whenever the scale is a whole number: every image pixel is an exact square.
            p.setRenderHint(QPainter.SmoothPixmapTransform, self.smooth or s != int(s))
            p.drawImage(self.image_rect(), self.image)
        if self.busy:
            box = p.fontMetrics().boundingRect(self.busy).adjusted(-8, -4, 8, 4)
            box.moveTopRight(self.rect().topRight() + QPoint(-10, 10))
            p.fillRect(box, QColor(0, 0, 0, 170))
            p.setPen(QColor(220, 220, 220))
            p.drawText(box, Qt.AlignCenter, self.busy)
        if self.message:
            p.setPen(QColor(255, 120, 100))
            p.drawText(self.rect().adjusted(12, 12, -12, -12), Qt.AlignBottom | Qt.AlignLeft | Qt.TextWordWrap,
                       self.message)
        p.end()  # explicitly: a painter still alive when the paint event ends warns and can stall

    def resizeEvent(self, e):
        super().resizeEvent(e)
        self.zoom_changed.emit(self.zoom_text())

    def wheelEvent(self, e):
        dy = e.angleDelta().y()
        if dy == 0:  # a sideways scroll (trackpad, tilt wheel) is not a zoom
            e.ignore()
            return
        self.set_zoom(self.scale() * (2.0 if dy > 0 else 0.5))

    def mousePressEvent(self, e):
        if e.button() == Qt.LeftButton:
            self._drag_from = e.position()
            r = self.image_rect() if self.image is not None else None
            if r is not None and r.contains(e.position()):
                self.image_clicked.emit((e.position().x() - r.left()) / r.width(),
                                        (e.position().y() - r.top()) / r.height())

    def mouseMoveEvent(self, e):
        if self._drag_from is not None and not self.fit:
            self._pan += e.position() - self._drag_from
            self._drag_from = e.position()
            self.update()

    def mouseReleaseEvent(self, e):
        self._drag_from = None

    def mouseDoubleClickEvent(self, e):
        self.set_fit()
