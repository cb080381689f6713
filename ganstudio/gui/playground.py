"""The 2-D playground tab of the Train window: an MLP GAN learning a distribution of points, drawn live.

The networks are tiny (a few thousand weights), so training runs on the GUI thread in timer slices of
at most ``SLICE_S`` seconds: each tick makes some updates, then draws one frame (real points, generated
points, D's output as a heat map behind them, G's push on each generated point as a line segment, the
loss curves, these at most every ``CURVE_EVERY_S`` while playing).  A tick stops training before a step
would overrun the slice (not after it); the event loop gets control between ticks, so the
controls stay live while it plays.
Everything it trains and draws comes from :mod:`ganstudio.training.playground`.
"""
from __future__ import annotations

import time
from typing import Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer, Signal
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QPushButton, QSpinBox,
                               QVBoxLayout, QWidget)

from ganstudio.training.playground import (BOUNDS, DISTRIBUTION_NAMES, DISTRIBUTIONS, LOSS_NAMES, LOSSES, MAX_DRAWN,
                                           Playground,
                                           PlaygroundConfig)

SLICE_S = 0.03  # training time per tick before a frame is drawn: the event loop waits at most this long
HEAT_RES = 64  # D's output is evaluated on HEAT_RES x HEAT_RES points of the plane per frame
CURVE_EVERY_S = 0.15  # while playing, the loss curves (whose axes rescale: ~8 ms) are redrawn at most this often
ARROW_LEN = 0.35  # the longest gradient segment, in plot units (the others scale with it)
REAL_COLOR, FAKE_COLOR = (0, 110, 40), (90, 10, 130)


class DrawBox(pg.ViewBox):
    """A fixed view of the plane where a left click or drag adds points (the view neither pans nor zooms)."""

    point_drawn = Signal(float, float)

    def __init__(self):
        super().__init__(enableMenu=False)
        self.setMouseEnabled(False, False)
        self.setRange(xRange=BOUNDS, yRange=BOUNDS, padding=0)
        self.setAspectLocked(True)

    def mouseClickEvent(self, ev):
        if ev.button() == Qt.LeftButton:
            ev.accept()
            p = self.mapSceneToView(ev.scenePos())
            self.point_drawn.emit(p.x(), p.y())

    def mouseDragEvent(self, ev, axis=None):
        if ev.button() != Qt.LeftButton:
            ev.ignore()
            return
        ev.accept()
        p = self.mapSceneToView(ev.scenePos())
        self.point_drawn.emit(p.x(), p.y())

    def wheelEvent(self, ev, axis=None):
        ev.ignore()


def _heat_lut() -> np.ndarray:
    # D's low scores (it calls them fake) purple, high (real) green, undecided white: GAN Lab's colours.
    cmap = pg.ColorMap([0.0, 0.5, 1.0], [(165, 100, 205), (250, 250, 250), (95, 190, 120)])
    return cmap.getLookupTable(nPts=256)


class PlaygroundWidget(QWidget):
    """Controls on the left; the plane and the loss curves on the right."""

    frame_drawn = Signal(int)  # the number of updates made so far, after each frame drawn

    def __init__(self, parent: Optional[QWidget] = None, config: Optional[PlaygroundConfig] = None):
        super().__init__(parent)
        self.playground = Playground(config or PlaygroundConfig())
        self.frames_drawn = 0
        self._real_drawn = self._drawn_drawn = None  # the tensors last handed to the static scatters
        self._curve_hist, self._curve_n = None, 0  # the history list, and how many of its entries are in _curve
        self._curve = np.empty((0, 3))  # rows (update, D loss, G loss), appended to, never rebuilt per frame
        self._curve_t = 0.0  # perf_counter of the curves' last redraw
        self.timer = QTimer(self)
        self.timer.setInterval(0)
        self.timer.timeout.connect(self._tick)
        self._rate_start = (time.perf_counter(), 0)
        lay = QHBoxLayout(self)
        lay.addLayout(self._build_controls())
        lay.addLayout(self._build_plots(), 1)
        self._sync_controls()
        self.draw()

    # -- layout --------------------------------------------------------------------------------------
    def _build_controls(self) -> QVBoxLayout:
        cfg = self.playground.config
        self.distribution = QComboBox()
        for key in DISTRIBUTIONS:
            self.distribution.addItem(DISTRIBUTION_NAMES[key], key)
        self.loss = QComboBox()
        for key in LOSSES:
            self.loss.addItem(LOSS_NAMES[key], key)
        self.lr_g, self.lr_d = self._lr_box(cfg.lr_g), self._lr_box(cfg.lr_d)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2 ** 31 - 1)
        self.seed.setToolTip("Changing the seed starts over with new networks")
        self.steps_per_frame = QSpinBox()
        self.steps_per_frame.setRange(1, 100)
        self.steps_per_frame.setValue(5)
        self.steps_per_frame.setToolTip(f"Updates between two frames (fewer when they take over {SLICE_S * 1000:.0f} ms)")
        form = QFormLayout()
        for label, w in (("Distribution", self.distribution), ("Loss", self.loss), ("G learning rate", self.lr_g),
                         ("D learning rate", self.lr_d), ("Seed", self.seed), ("Updates per frame", self.steps_per_frame)):
            form.addRow(label, w)
        self.play_btn = QPushButton("Play")
        self.play_btn.setCheckable(True)
        self.step_btn, self.reset_btn = QPushButton("Step"), QPushButton("Reset")
        self.clear_btn = QPushButton("Clear drawn points")
        self.step_btn.setToolTip("One update of D and one of G")
        self.status = QLabel()
        self.status.setWordWrap(True)
        help_text = QLabel("Click or drag on the plot to draw points (the 'drawn by hand' distribution). "
                           "Background: D's output (green = real, purple = fake); lines: where G's loss pushes "
                           "each generated point.")
        help_text.setWordWrap(True)
        col = QVBoxLayout()
        col.addLayout(form)
        row = QHBoxLayout()
        for b in (self.play_btn, self.step_btn, self.reset_btn):
            row.addWidget(b)
        col.addLayout(row)
        col.addWidget(self.clear_btn)
        col.addWidget(self.status)
        col.addWidget(help_text)
        col.addStretch(1)
        self._connect()
        return col

    @staticmethod
    def _lr_box(value: float) -> QDoubleSpinBox:
        box = QDoubleSpinBox()
        box.setDecimals(5)
        box.setRange(0.00001, 0.1)
        box.setSingleStep(0.0001)
        box.setValue(value)
        return box

    def _build_plots(self) -> QVBoxLayout:
        self.box = DrawBox()
        self.plane = pg.PlotWidget(viewBox=self.box, background="w")
        self.plane.setMinimumSize(360, 360)
        self.heat = pg.ImageItem()
        self.heat.setLookupTable(_heat_lut())
        self.arrows = pg.PlotDataItem(connect="pairs", pen=pg.mkPen((40, 40, 40), width=1))
        self.real_points = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush(*REAL_COLOR, 170))
        self.fake_points = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush(*FAKE_COLOR, 200))
        self.drawn_points = pg.ScatterPlotItem(size=7, pen=pg.mkPen((0, 0, 0)), brush=pg.mkBrush(*REAL_COLOR, 255))
        for item in (self.heat, self.arrows, self.real_points, self.fake_points, self.drawn_points):
            self.box.addItem(item)
        self.losses = pg.PlotWidget(background="w")
        self.losses.setMaximumHeight(220)
        self.losses.addLegend(offset=(-10, 10))
        self.losses.setLabel("bottom", "update")
        self.losses.setClipToView(True)
        self.losses.setDownsampling(auto=True, mode="peak")
        self.d_curve = self.losses.plot(name="D loss", pen=pg.mkPen((40, 90, 200), width=1.5))
        self.g_curve = self.losses.plot(name="G loss", pen=pg.mkPen((200, 90, 40), width=1.5))
        self.box.point_drawn.connect(self.add_point)
        col = QVBoxLayout()
        col.addWidget(self.plane, 1)
        col.addWidget(self.losses)
        return col

    def _connect(self) -> None:
        self.play_btn.toggled.connect(self.set_playing)
        self.step_btn.clicked.connect(lambda _=False: self.step_once())
        self.reset_btn.clicked.connect(lambda _=False: self.reset())
        self.clear_btn.clicked.connect(lambda _=False: self.clear_drawn())
        self.distribution.currentIndexChanged.connect(lambda _: self._set_distribution(self.distribution.currentData()))
        self.loss.currentIndexChanged.connect(lambda _: self.set_loss(self.loss.currentData()))
        self.lr_g.valueChanged.connect(lambda v: self.playground.set_lr(lr_g=v))
        self.lr_d.valueChanged.connect(lambda v: self.playground.set_lr(lr_d=v))
        self.seed.valueChanged.connect(lambda v: self.reset(seed=v))

    def _sync_controls(self) -> None:
        cfg = self.playground.config
        for combo, key in ((self.distribution, cfg.distribution), (self.loss, cfg.loss)):
            combo.blockSignals(True)
            combo.setCurrentIndex(combo.findData(key))
            combo.blockSignals(False)
        self.seed.blockSignals(True)
        self.seed.setValue(min(cfg.seed, self.seed.maximum()))
        self.seed.blockSignals(False)

    # -- actions -------------------------------------------------------------------------------------
    def set_playing(self, on: bool) -> None:
        if self.play_btn.isChecked() != on:
            self.play_btn.setChecked(on)  # re-enters through toggled
            return
        self.play_btn.setText("Pause" if on else "Play")
        self._rate_start = (time.perf_counter(), self.frames_drawn)
        if on:
            self.timer.start()
        else:
            self.timer.stop()
            self.draw()

    def step_once(self) -> None:
        """One update (D, then G), then draw it."""
        if self._check_ready():
            self.playground.step()
        self.draw()

    def reset(self, seed: Optional[int] = None) -> None:
        self.playground.reset(seed)
        self._sync_controls()
        self.draw()

    def set_loss(self, key: str) -> None:
        self.playground.set_loss(key)
        self._sync_controls()
        self.draw()

    def _set_distribution(self, key: str) -> None:
        self.playground.set_distribution(key)
        self.draw()

    def add_point(self, x: float, y: float) -> None:
        """Add a point to the drawn set and train on that set from now on."""
        lo, hi = BOUNDS
        if not (lo <= x <= hi and lo <= y <= hi):
            return
        if len(self.playground.drawn) >= MAX_DRAWN:
            self.status.setText(f"At most {MAX_DRAWN} drawn points: clear them to draw more")
            return
        self.playground.add_drawn(x, y)
        if self.playground.config.distribution != "drawn":
            self.distribution.setCurrentIndex(self.distribution.findData("drawn"))  # -> _set_distribution
        else:
            self.draw()

    def clear_drawn(self) -> None:
        self.playground.set_drawn([])
        self.draw()

    def _check_ready(self) -> bool:
        if self.playground.ready:
            return True
        self.status.setText("No points drawn yet: click or drag on the plot to add some")
        return False

    def _tick(self) -> None:
        if self._check_ready():
            start = time.perf_counter()
            for i in range(self.steps_per_frame.value()):
                self.playground.step()
                spent = time.perf_counter() - start
                if spent * (i + 2) / (i + 1) > SLICE_S:  # one more step (at this slice's mean) would overrun
                    break
        self.draw()

    # -- drawing -------------------------------------------------------------------------------------
    def draw(self) -> None:
        f = self.playground.frame(HEAT_RES)
        self.heat.setImage(f.heat.T.numpy(), autoLevels=False, levels=f.heat_levels,
                           rect=QRectF(BOUNDS[0], BOUNDS[0], BOUNDS[1] - BOUNDS[0], BOUNDS[1] - BOUNDS[0]))
        if f.real is not self._real_drawn:  # the real set changes only with the distribution: skip a redraw
            self._real_drawn = f.real
            self.real_points.setData(pos=f.real.numpy())
        fake = f.fake.numpy()
        self.fake_points.setData(pos=fake)
        grad = f.grad.numpy()
        longest = float(np.sqrt((grad ** 2).sum(1)).max()) if len(grad) else 0.0
        tips = fake + grad * (ARROW_LEN / longest if longest > 0 else 0.0)
        seg = np.empty((2 * len(fake), 2), dtype=np.float32)
        seg[0::2], seg[1::2] = fake, tips
        self.arrows.setData(seg[:, 0], seg[:, 1])
        if self.playground.drawn is not self._drawn_drawn:
            self._drawn_drawn = self.playground.drawn
            self.drawn_points.setData(pos=self._drawn_drawn.numpy())
        hist = self.playground.history
        now = time.perf_counter()
        if not self.timer.isActive() or now - self._curve_t >= CURVE_EVERY_S:  # paused: always up to date
            self._curve_t = now
            curve = self._loss_rows(hist)
            self.d_curve.setData(curve[:, 0], curve[:, 1])
            self.g_curve.setData(curve[:, 0], curve[:, 2])
        self.frames_drawn += 1
        self._show_status()
        self.frame_drawn.emit(len(hist))

    def _loss_rows(self, hist) -> np.ndarray:
        """The history as rows (update, D loss, G loss): only the entries new since the last frame are converted."""
        if hist is not self._curve_hist or len(hist) < self._curve_n:  # reset, or a new history: start over
            self._curve_hist, self._curve_n = hist, 0
        n = len(hist)
        if n > len(self._curve):
            grown = np.empty((max(n, 2 * len(self._curve), 1024), 3))
            grown[:self._curve_n] = self._curve[:self._curve_n]
            self._curve = grown
        if n > self._curve_n:
            self._curve[self._curve_n:n] = np.array(hist[self._curve_n:n], dtype=float).reshape(-1, 3)
            self._curve_n = n
        return self._curve[:n]

    def frames_per_second(self) -> float:
        """Frames drawn per second since play was last pressed."""
        t0, n0 = self._rate_start
        dt = time.perf_counter() - t0
        return (self.frames_drawn - n0) / dt if dt > 0 else 0.0

    def _show_status(self) -> None:
        if not self.playground.ready:
            self.status.setText("No points drawn yet: click or drag on the plot to add some")
            return
        hist = self.playground.history
        text = f"update {len(hist)}"
        if hist:
            text += f"  D loss {hist[-1].d_loss:.3f}  G loss {hist[-1].g_loss:.3f}"
        if self.timer.isActive():
            text += f"  {self.frames_per_second():.0f} frames/s"
        self.status.setText(text)

    def hideEvent(self, e):
        self.set_playing(False)  # no training in a hidden tab or a closed window
        super().hideEvent(e)
