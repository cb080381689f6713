"""Small reusable widgets: a labelled float slider and a clickable grid of thumbnails."""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import numpy as np
from PySide6.QtCore import QEvent, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QImage, QKeySequence, QPainter, QPen
from PySide6.QtWidgets import (QDoubleSpinBox, QFileDialog, QHBoxLayout, QLabel, QMenu, QMessageBox, QSizePolicy,
                               QSlider, QWidget)

from ganstudio.gui.images import to_qimage
from ganstudio.imaging import make_grid, save_png
from ganstudio.latent.sampling import MAX_SEED as SEED_MAX


class SeedBox(QDoubleSpinBox):
    """A spin box over every seed the engine takes, 0 to 2**32 - 1 (a QSpinBox stops at 2**31 - 1).

    A double holds such integers exactly; with no decimals it reads and types like an int box.
    """

    def __init__(self, maximum: int = SEED_MAX, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setDecimals(0)
        self.setRange(0, maximum)
        self.setSingleStep(1)

    def value(self) -> int:  # noqa: D102  (an int, as a QSpinBox gives)
        return int(round(super().value()))

    def event(self, e):
        # Ctrl+Z after typing a seed and Enter is the app's Undo: the spin box handed it to its line
        # edit's own text undo (focus stays in the box), and nothing happened.
        if e.type() == QEvent.ShortcutOverride and (e.matches(QKeySequence.Undo) or e.matches(QKeySequence.Redo)):
            e.ignore()
            return False
        return super().event(e)


class FloatSlider(QWidget):
    """A QSlider over [lo, hi] in `steps` steps with a name on the left and the value on the right.

    ``valueChanged(float)`` fires for user and programmatic changes alike; ``set_value(v, quiet=True)``
    moves the slider without emitting (used when a panel mirrors the state).  ``released`` ends a drag.
    """

    valueChanged = Signal(float)
    released = Signal()

    def __init__(self, name: str, lo: float, hi: float, value: float = 0.0, steps: int = 200,
                 fmt: str = "{:+.2f}", parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.lo, self.hi, self.steps, self.fmt = float(lo), float(hi), int(steps), fmt
        self.label = QLabel(name)
        self.label.setMinimumWidth(72)
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setRange(0, self.steps)
        self.slider.setMinimumWidth(90)
        self.value_label = QLabel()
        self.value_label.setMinimumWidth(44)
        self.value_label.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.label)
        lay.addWidget(self.slider, 1)
        lay.addWidget(self.value_label)
        self._value = float(value)
        self.set_value(value, quiet=True)
        self.slider.valueChanged.connect(self._on_slider)
        self.slider.sliderReleased.connect(self.released)

    def set_range(self, lo: float, hi: float) -> None:
        """Another [lo, hi] (a model with other limits); the value is kept, clamped into it, without emitting."""
        self.lo, self.hi = float(lo), float(hi)
        self.set_value(min(max(self._value, self.lo), self.hi), quiet=True)
        was = self.slider.blockSignals(True)
        self.slider.setValue(self._to_pos(self._value))
        self.slider.blockSignals(was)

    def _to_pos(self, v: float) -> int:
        return round((min(max(v, self.lo), self.hi) - self.lo) / (self.hi - self.lo) * self.steps)

    def _from_pos(self, pos: int) -> float:
        return self.lo + (self.hi - self.lo) * pos / self.steps

    def value(self) -> float:
        return self._value

    def set_value(self, v: float, quiet: bool = False) -> None:
        if quiet and float(v) == self._value and self.value_label.text():
            return  # mirroring an unchanged value: skip the widget updates
        self._value = float(v)
        self.value_label.setText(self.fmt.format(self._value))
        was = self.slider.blockSignals(True)
        self.slider.setValue(self._to_pos(self._value))
        self.slider.blockSignals(was)
        if not quiet:
            self.valueChanged.emit(self._value)

    def _on_slider(self, pos: int) -> None:
        # Exact grid values (0.0, 1.0 ...) rather than accumulated float error.
        self._value = round(self._from_pos(pos), 6)
        self.value_label.setText(self.fmt.format(self._value))
        self.valueChanged.emit(self._value)


class ThumbGrid(QWidget):
    """Paints images in a grid (nearest-neighbour, square cells); emits ``clicked(index)``.

    Cells listed in ``inactive`` (e.g. a blank header corner) are not clickable.  The right-click
    menu saves the grid (the rendered pixels, at 1x or an integer scale) as a PNG or copies it.
    """

    clicked = Signal(int)

    def __init__(self, cols: int = 4, cell: int = 64, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.cols, self.cell = cols, cell
        self._images: list[QImage] = []
        self._arrays: Optional[np.ndarray] = None  # the uint8 pixels behind _images, for export
        self.labels: list[str] = []
        self.inactive: set[int] = set()
        self.selected: set[int] = set()
        self.placeholder = "rendering…"
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Preferred)
        self.setMouseTracking(True)

    def set_images(self, images: Optional[np.ndarray], cols: Optional[int] = None,
                   labels: Sequence[str] = (), inactive: Sequence[int] = ()) -> None:
        self._images = [] if images is None else [to_qimage(a) for a in images]
        self._arrays = None if images is None or len(images) == 0 else np.asarray(images)
        if cols:
            self.cols = cols
        self.labels, self.inactive = list(labels), set(inactive)
        self.updateGeometry()
        self.update()

    def count(self) -> int:
        return len(self._images)

    # -- export -----------------------------------------------------------------------------------
    def grid_image(self, scale: int = 1) -> np.ndarray:
        """The cells as one uint8 image [H, W, C] (2 px gaps), each pixel a scale x scale block."""
        if self._arrays is None:
            raise ValueError("the grid is empty")
        grid = make_grid(self._arrays, cols=self.cols, pad=2, pad_value=40)
        return np.repeat(np.repeat(grid, scale, axis=0), scale, axis=1)

    def save_grid(self, path: str, scale: int = 1) -> None:
        save_png(path, self.grid_image(scale))

    def contextMenuEvent(self, e):
        if self._arrays is None:
            return
        menu = QMenu(self)
        for scale in (1, 4):
            menu.addAction(f"Save grid as PNG ({scale}×)…", lambda s=scale: self._save_dialog(s))
        menu.addAction("Copy grid", lambda: QGuiApplication.clipboard().setImage(to_qimage(self.grid_image(1))))
        menu.exec(e.globalPos())

    def _save_dialog(self, scale: int) -> None:
        from ganstudio.gui.settings import settings, text as settings_text
        path, _ = QFileDialog.getSaveFileName(self, "Save grid", settings_text("export_dir", ""), "PNG (*.png)")
        if not path:
            return
        path = path if path.lower().endswith(".png") else path + ".png"
        settings().setValue("export_dir", str(Path(path).parent))
        try:
            self.save_grid(path, scale)
        except (OSError, ValueError) as err:
            QMessageBox.warning(self, "Save grid", f"Could not save {path}:\n{err}")

    def _cell_size(self) -> int:
        return max(16, min(self.cell * 2, (self.width() - 2) // max(1, self.cols)))

    def _rows(self) -> int:
        return max(1, -(-len(self._images) // self.cols))

    def sizeHint(self) -> QSize:
        return QSize(self.cols * self.cell, self._rows() * self.cell)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, w: int) -> int:
        return self._rows() * max(16, min(self.cell * 2, (w - 2) // max(1, self.cols)))

    def minimumSizeHint(self) -> QSize:
        return QSize(self.cols * 16, self._rows() * 16)

    def cell_rect(self, i: int) -> QRect:
        s = self._cell_size()
        return QRect((i % self.cols) * s, (i // self.cols) * s, s, s)

    def index_at(self, pos) -> int:
        s = self._cell_size()
        col, row = pos.x() // s, pos.y() // s
        i = row * self.cols + col
        return i if 0 <= col < self.cols and 0 <= i < len(self._images) else -1

    def resizeEvent(self, e):
        super().resizeEvent(e)
        self.setMinimumHeight(self.heightForWidth(self.width()))

    def paintEvent(self, _):
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(30, 30, 30))
        if not self._images:
            p.setPen(QColor(150, 150, 150))
            p.drawText(self.rect(), Qt.AlignCenter, self.placeholder)
            p.end()
            return
        p.setRenderHint(QPainter.SmoothPixmapTransform, False)
        for i, img in enumerate(self._images):
            r = self.cell_rect(i).adjusted(1, 1, -1, -1)
            p.drawImage(r, img)
            if i in self.selected:
                p.setPen(QPen(QColor(255, 190, 40), 3))
                p.drawRect(r.adjusted(1, 1, -2, -2))
            if i < len(self.labels) and self.labels[i]:
                p.setPen(Qt.NoPen)
                p.setBrush(QColor(0, 0, 0, 150))
                tr = QRect(r.left(), r.bottom() - 14, r.width(), 15)
                p.drawRect(tr)
                p.setPen(QColor(235, 235, 235))
                p.drawText(tr, Qt.AlignCenter, self.labels[i])
        p.end()

    def mousePressEvent(self, e):
        i = self.index_at(e.position().toPoint())
        if i >= 0 and i not in self.inactive:
            self.clicked.emit(i)


class CarryEditsChoice(QWidget):
    """A sample grid's choice between plain samples and samples carrying the current edits, and a line
    saying which is shown (the grids used to carry the edits silently)."""

    toggled = Signal(bool)

    def __init__(self, parent: Optional[QWidget] = None):
        from PySide6.QtWidgets import QCheckBox, QVBoxLayout
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.box = QCheckBox("Apply the current edits to the samples")
        self.note = QLabel()
        self.note.setWordWrap(True)
        lay.addWidget(self.box)
        lay.addWidget(self.note)
        self.box.toggled.connect(self.toggled)

    def carry(self) -> bool:
        return self.box.isChecked()

    def show_for(self, state) -> None:
        """Say what the samples of ``state`` carry."""
        from ganstudio.engine.transforms import describe_edits
        edits = describe_edits(state)
        self.box.setEnabled(bool(edits))
        if not edits:
            self.note.setText("")
        elif self.carry():
            self.note.setText(f"The samples carry the current edits ({edits}).")
        else:
            self.note.setText(f"Plain samples: the current edits ({edits}) are not applied to them.")
