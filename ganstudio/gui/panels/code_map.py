"""Code map: the VQ-VAE's grid of codebook indices for the current image, edited cell by cell or resampled.

Click a cell (or drag over a rectangle of cells) to select it, then click an entry of the codebook
(drawn as decoded patches) to give the selection that code.  "Resample region" redraws the selected
cells from the PixelCNN prior, keeping the others; "Sample image" redraws every cell.  The prior works
in raster order, so a resampled cell sees only the cells before it (the panel says so).  Sampling runs
as a background job on the panel's own copy of the network: the cells fill in as they are drawn, and
Cancel stops it.  Every change is one undoable edit of the state (its ws is the code grid).
"""
from __future__ import annotations

import colorsys
import threading
from typing import Optional

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import (QGridLayout, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget)

from ganstudio.engine import ModelInfo
from ganstudio.engine.code_map import (CONDITIONING_NOTE, CodeSampler, Region, code_grid, codes_from_ws, set_cells,
                                       with_codes)
from ganstudio.engine.jobs import JobCancelled
from ganstudio.gui.panels._base import Panel
from ganstudio.gui.widgets import FloatSlider, SeedBox, ThumbGrid


def code_color(code: int) -> QColor:
    """A distinct colour per code (golden-ratio hues), light enough for dark text."""
    r, g, b = colorsys.hsv_to_rgb((code * 0.618034) % 1.0, 0.45, 0.95)
    return QColor(int(r * 255), int(g * 255), int(b * 255))


class CodeGridView(QWidget):
    """Paints a code grid as coloured cells with their indices; press and drag selects a rectangle of cells.

    ``pending`` (bool [grid, grid]) marks cells a running sample has not drawn yet (shown dark)."""

    selection_changed = Signal(object)  # Region

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.codes: Optional[np.ndarray] = None
        self.pending: Optional[np.ndarray] = None
        self.region: Optional[Region] = None
        self._anchor: Optional[tuple[int, int]] = None
        self.setMinimumSize(160, 160)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Preferred)
        self.setCursor(Qt.PointingHandCursor)

    def sizeHint(self) -> QSize:
        return QSize(240, 240)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, w: int) -> int:
        return w

    def set_codes(self, codes: Optional[np.ndarray], pending: Optional[np.ndarray] = None) -> None:
        self.codes, self.pending = codes, pending
        self.update()

    def area(self) -> QRectF:
        s = min(self.width(), self.height())
        return QRectF((self.width() - s) / 2, (self.height() - s) / 2, s, s)

    def cell_at(self, pos: QPointF) -> Optional[tuple[int, int]]:
        if self.codes is None:
            return None
        a, g = self.area(), self.codes.shape[0]
        col, row = int((pos.x() - a.left()) / a.width() * g), int((pos.y() - a.top()) / a.height() * g)
        return (min(max(row, 0), g - 1), min(max(col, 0), g - 1))

    def select(self, region: Optional[Region]) -> None:
        self.region = region
        self.update()
        self.selection_changed.emit(region)

    def mousePressEvent(self, e):
        cell = self.cell_at(e.position())
        if cell is not None and e.button() == Qt.LeftButton:
            self._anchor = cell
            self.select(Region.spanning(cell, cell))

    def mouseMoveEvent(self, e):
        cell = self.cell_at(e.position())
        if self._anchor is not None and cell is not None:
            region = Region.spanning(self._anchor, cell)
            if region != self.region:
                self.select(region)

    def mouseReleaseEvent(self, e):
        self._anchor = None

    def paintEvent(self, _):
        p = QPainter(self)
        a = self.area()
        p.fillRect(a, QColor(30, 30, 30))
        if self.codes is not None:
            g = self.codes.shape[0]
            s = a.width() / g
            font = QFont(p.font())
            font.setPixelSize(max(7, int(s * 0.38)))
            p.setFont(font)
            for (row, col), code in np.ndenumerate(self.codes):
                r = QRectF(a.left() + col * s, a.top() + row * s, s, s).adjusted(0.5, 0.5, -0.5, -0.5)
                waiting = self.pending is not None and self.pending[row, col]
                p.fillRect(r, QColor(55, 55, 55) if waiting else code_color(int(code)))
                p.setPen(QColor(150, 150, 150) if waiting else QColor(20, 20, 20))
                p.drawText(r, Qt.AlignCenter, "·" if waiting else str(int(code)))
            if self.region is not None:
                r0, c0, r1, c1 = self.region
                p.setPen(QPen(QColor(255, 190, 40), 3))
                p.setBrush(Qt.NoBrush)
                p.drawRect(QRectF(a.left() + c0 * s, a.top() + r0 * s, (c1 - c0 + 1) * s, (r1 - r0 + 1) * s))
        p.end()


class CodeMapPanel(Panel):
    title = "Code map"
    partial = Signal(object)  # (codes, pending, image) of a running sample, emitted on the job's thread

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, parent)
        self.sampler: Optional[CodeSampler] = None
        self.codes: Optional[np.ndarray] = None  # the current state's code grid
        self._cancel = threading.Event()
        self.sampling = False
        self._build()
        self.partial.connect(self._show_partial)

    def _build(self) -> None:
        lay = QVBoxLayout(self)
        top = QHBoxLayout()
        self.grid_view = CodeGridView()
        top.addWidget(self.grid_view, 3)
        self.preview = ThumbGrid(cols=1, cell=96)
        self.preview.placeholder = "—"
        top.addWidget(self.preview, 2)
        lay.addLayout(top)
        self.selection_label = QLabel("Click a cell, or drag over cells, to select them.")
        self.selection_label.setWordWrap(True)
        lay.addWidget(self.selection_label)
        self.palette_label = QLabel("Codebook as decoded patches (codes 0, 1, 2, … row by row): click one to give "
                                    "the selected cells its code")
        self.palette_label.setWordWrap(True)
        lay.addWidget(self.palette_label)
        self.palette = ThumbGrid(cols=16, cell=24)
        self.palette.placeholder = "loading the codebook…"
        lay.addWidget(self.palette)
        form = QGridLayout()
        self.temperature = FloatSlider("temperature", 0.1, 2.0, 1.0)
        form.addWidget(self.temperature, 0, 0, 1, 2)
        form.addWidget(QLabel("seed"), 1, 0)
        self.seed = SeedBox()
        form.addWidget(self.seed, 1, 1)
        lay.addLayout(form)
        row = QHBoxLayout()
        self.resample_btn = QPushButton("Resample region")
        self.sample_btn = QPushButton("Sample image")
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.setEnabled(False)
        for b in (self.resample_btn, self.sample_btn, self.cancel_btn):
            row.addWidget(b)
        lay.addLayout(row)
        note = QLabel(CONDITIONING_NOTE)
        note.setWordWrap(True)
        note.setStyleSheet("color: #9a9a9a")
        lay.addWidget(note)
        self.status = QLabel()
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        lay.addStretch(1)
        self.grid_view.selection_changed.connect(self._selection_changed)
        self.palette.clicked.connect(self.set_code)
        self.resample_btn.clicked.connect(self.resample_region)
        self.sample_btn.clicked.connect(self.sample_image)
        self.cancel_btn.clicked.connect(self.cancel)

    # -- panel hooks --------------------------------------------------------------------------
    def unsupported(self, info: ModelInfo) -> str:
        return "" if info.capabilities.code_grid else \
            "the model has no code grid (capabilities().code_grid is empty); only VQ-VAEs have one."

    def model_changed(self, info: ModelInfo) -> None:
        self.cancel()
        self.sampler, self.codes = None, None
        self.grid_view.set_codes(None)
        self.grid_view.select(None)
        self.palette.set_images(None)
        self.preview.set_images(None)
        g = code_grid(info)
        self.status.setText(f"{g}×{g} code grid, {info.capabilities.codebook_size} codes.")
        key = info.key

        def done(sampler: CodeSampler, patches: np.ndarray):
            if self.info is not None and self.info.key == key:
                self.sampler = sampler
                self.palette.set_images(patches, cols=16)
                self.schedule_refresh()

        def work():
            sampler = CodeSampler.load(key, self.ctx.render.device)
            return sampler, sampler.patches()
        self.run_job("sampler", work, lambda result: done(*result))

    def refresh(self) -> None:
        if self.sampling:
            return  # the running sample owns the grid view until it ends
        render, state, info = self.ctx.render, self.state, self.info

        sampler = self.sampler

        def work():
            codes = codes_from_ws(render.latents(state)[2][0], code_grid(info), info.capabilities.codebook_size)
            return codes, (None if sampler is None else sampler.decode(codes))

        def done(result):
            codes, image = result
            if self.state == state and not self.sampling:
                self.codes = codes
                self.grid_view.set_codes(codes)
                if image is not None:
                    self.preview.set_images(image[None], cols=1, labels=["current"])
                self._selection_changed(self.grid_view.region)
        self.run_job("codes", work, done)

    # -- actions ------------------------------------------------------------------------------
    def _selection_changed(self, region: Optional[Region]) -> None:
        if region is None:
            self.selection_label.setText("Click a cell, or drag over cells, to select them.")
            return
        n = (region.row1 - region.row0 + 1) * (region.col1 - region.col0 + 1)
        where = (f"cell (row {region.row0}, column {region.col0})" if n == 1 else
                 f"{n} cells: rows {region.row0}–{region.row1}, columns {region.col0}–{region.col1}")
        code = "" if self.codes is None or n > 1 else f", code {int(self.codes[region.row0, region.col0])}"
        self.selection_label.setText(f"Selected {where}{code}.")

    def set_code(self, code: int) -> None:
        """Give the selected cells ``code``: one undoable edit."""
        region = self.grid_view.region
        if self.codes is None or region is None or self.sampling:
            self.status.setText("Select cells first (click or drag on the grid).")
            return
        K = self.info.capabilities.codebook_size
        new = set_cells(self.state, self.codes, region.mask(self.codes.shape[0]), code, K)
        self.codes = codes_from_ws(new.ws[0], self.codes.shape[0], K)
        self.grid_view.set_codes(self.codes)
        self.edit(f"Code {code} in {self._cells_text(region)}", **_code_fields(new))
        self.status.setText(f"Code {code} given to {self._cells_text(region)}. Undo returns.")
        self.schedule_refresh()

    @staticmethod
    def _cells_text(region: Region) -> str:
        n = (region.row1 - region.row0 + 1) * (region.col1 - region.col0 + 1)
        return f"cell ({region.row0}, {region.col0})" if n == 1 else f"{n} cells"

    def resample_region(self) -> None:
        region = self.grid_view.region
        if region is None:
            self.status.setText("Select the cells to resample first (click or drag on the grid).")
            return
        self._sample(region, "Resample region")

    def sample_image(self) -> None:
        if self.codes is not None:
            g = self.codes.shape[0]
            self._sample(Region(0, 0, g - 1, g - 1), "Sample image")

    def cancel(self) -> None:
        self._cancel.set()

    def _sample(self, region: Region, text: str) -> None:
        """Redraw ``region`` from the prior on a background job, showing the cells as they are drawn."""
        if self.sampler is None or self.codes is None or self.sampling:
            self.status.setText("The codebook is still loading." if self.sampler is None else self.status.text())
            return
        sampler, codes, state = self.sampler, self.codes.copy(), self.state
        mask = region.mask(codes.shape[0])
        seed, temperature = self.seed.value(), self.temperature.value()
        self._cancel = cancel = threading.Event()
        self._set_sampling(True)
        self.status.setText(f"{text}: drawing {int(mask.sum())} cells in raster order…")
        self.grid_view.set_codes(codes, mask)

        def report(done, total, partial):
            if cancel.is_set():
                raise JobCancelled("cancelled")
            pending = mask.copy()
            pending.flat[np.flatnonzero(mask.reshape(-1))[:done]] = False
            self.partial.emit((partial, pending, sampler.decode(partial), done, total))

        def work():
            return sampler.resample(codes, mask, seed=seed, temperature=temperature, report=report)

        def done(new):
            self._set_sampling(False)
            if self.state.model != state.model:
                return
            if _code_source(self.state) != _code_source(state):  # a seed, an undo... since the sample began
                self.status.setText(f"{text}: the image changed while sampling, so the sample was not applied "
                                    "(it was drawn from the codes shown before). Sample again to redraw this image.")
                return
            self.codes = new
            self.grid_view.set_codes(new)
            self.status.setText(f"{text} (seed {seed}, temperature {temperature:.2f}): "
                                f"{int(mask.sum())} cells drawn. Undo returns.")
            self.edit(f"{text} (seed {seed}, T {temperature:.2f})", **_code_fields(with_codes(self.state, new)))

        def failed(message: str):
            self._set_sampling(False)
            self.grid_view.set_codes(self.codes)
            self.status.setText("Sampling cancelled: nothing changed." if "cancelled" in message else message)
            if "cancelled" not in message:
                self.job_failed(message)
        self.run_job("sample", work, done, busy=f"{text}…", on_fail=failed)

    def _set_sampling(self, on: bool) -> None:
        self.sampling = on
        self.cancel_btn.setEnabled(on)
        for w in (self.resample_btn, self.sample_btn, self.palette):
            w.setEnabled(not on)
        if not on:
            self.schedule_refresh()

    def _show_partial(self, item) -> None:
        codes, pending, image, done, total = item
        if self.sampling:
            self.grid_view.set_codes(codes, pending)
            self.preview.set_images(image[None], cols=1, labels=[f"{done}/{total}"])


def _code_source(state) -> tuple:
    """What decides a state's code grid: a sample drawn from one grid applies only while it is still shown."""
    return state.model, state.seed, state.z, state.ws, state.edits, state.mix_seeds, state.mix_sources


def _code_fields(state) -> dict:
    return dict(ws=state.ws, z=None, edits=(), mix_sources=None, mix_seeds=())
