"""The 2-D playground tab of the Train window: an MLP GAN learning a distribution of points, drawn live.

Training runs on a worker thread (:class:`ganstudio.training.playground_worker.PlaygroundWorker`): the
controls hand it commands, applied between two updates, and it publishes snapshots (numpy arrays) at most
30 times a second while it keeps training.  This widget only draws the newest snapshot when one arrives:
the real points, the generated points, D's output as a heat map behind them, G's push on each generated
point as a line segment and the loss curves (these at most every ``CURVE_EVERY_S`` while playing).
No torch runs on the GUI thread.
"""
from __future__ import annotations

import time
from typing import Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QRectF, Qt, QTimer, Signal
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QPushButton, QSpinBox,
                               QVBoxLayout, QWidget)

from ganstudio.training.playground import (BOUNDS, DISTRIBUTION_NAMES, DISTRIBUTIONS, LOSS_NAMES, LOSSES, MAX_DRAWN,
                                           PlaygroundConfig)
from ganstudio.training.playground_worker import NOT_READY, PlaygroundWorker, Snapshot

HEAT_RES = 64  # D's output is evaluated on HEAT_RES x HEAT_RES points of the plane per frame
CURVE_EVERY_S = 0.15  # while playing, the loss curves (whose axes rescale: ~8 ms) are redrawn at most this often
ARROW_LEN = 0.35  # the longest gradient segment, in plot units (the others scale with it)
REAL_COLOR, FAKE_COLOR = (0, 110, 40), (90, 10, 130)
STOP_TIMEOUT_S = 5.0  # how long closing waits for the worker's update in flight


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


class _Doorbell(QObject):
    """Rung on the worker thread after each snapshot; the queued signal reaches the GUI thread."""
    rang = Signal()


class PlaygroundWidget(QWidget):
    """Controls on the left; the plane and the loss curves on the right."""

    frame_drawn = Signal(int)  # the number of updates made so far, after each frame drawn

    def __init__(self, parent: Optional[QWidget] = None, config: Optional[PlaygroundConfig] = None):
        super().__init__(parent)
        self.config = config or PlaygroundConfig()  # the start; the worker's copy changes with the controls
        self.snapshot: Optional[Snapshot] = None  # the one drawn last
        self.frames_drawn = 0
        self._epoch, self._drawn_count = -1, 0
        self._curve = np.empty((0, 3))  # rows (update, D loss, G loss), appended to, never rebuilt per frame
        self._curve_n, self._curve_t = 0, 0.0  # rows in use; perf_counter of the curves' last redraw
        self._rate_start = (time.perf_counter(), 0)
        self._bell = _Doorbell(self)
        self._bell.rang.connect(self._on_snapshot, Qt.QueuedConnection)
        self.worker = PlaygroundWorker(self.config, heat_res=HEAT_RES, notify=_ringer(self._bell))
        lay = QHBoxLayout(self)
        lay.addLayout(self._build_controls())
        lay.addLayout(self._build_plots(), 1)
        self._sync_controls(self.config)
        self.worker.refresh()  # the first picture is drawn when it arrives

    @property
    def updates(self) -> int:
        """Updates made so far, as of the last frame drawn."""
        return self.snapshot.steps if self.snapshot is not None else 0

    @property
    def playing(self) -> bool:
        return self.play_btn.isChecked()

    # -- layout --------------------------------------------------------------------------------------
    def _build_controls(self) -> QVBoxLayout:
        cfg = self.config
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
        self.speed = QSpinBox()
        self.speed.setRange(0, 10000)
        self.speed.setSingleStep(10)
        self.speed.setSpecialValueText("as fast as it can")
        self.speed.setSuffix(" /s")
        self.speed.setToolTip("Updates a second at most while playing (0: as many as the CPU allows)")
        form = QFormLayout()
        for label, w in (("Distribution", self.distribution), ("Loss", self.loss), ("G learning rate", self.lr_g),
                         ("D learning rate", self.lr_d), ("Seed", self.seed), ("Speed", self.speed)):
            form.addRow(label, w)
        self.play_btn = QPushButton("Play")
        self.play_btn.setCheckable(True)
        self.step_btn, self.reset_btn = QPushButton("Step"), QPushButton("Reset")
        self.clear_btn = QPushButton("Clear drawn points")
        self.step_btn.setToolTip("One update of D and one of G")
        self.status, self.message = QLabel(), QLabel()
        for label in (self.status, self.message):
            label.setWordWrap(True)
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
        for w in (self.clear_btn, self.status, self.message, help_text):
            col.addWidget(w)
        col.addStretch(1)
        self.message.hide()  # shown with a refusal's reason only
        self._connect()
        return col

    def _say(self, text: str) -> None:
        """Show why the last action was refused ("" clears it)."""
        self.message.setText(text)
        self.message.setVisible(bool(text))

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
        self.lr_g.valueChanged.connect(lambda v: self.worker.set_lr(lr_g=v))
        self.lr_d.valueChanged.connect(lambda v: self.worker.set_lr(lr_d=v))
        self.seed.valueChanged.connect(lambda v: self.reset(seed=v))
        self.speed.valueChanged.connect(lambda v: self.worker.set_rate(v))

    def _sync_controls(self, cfg: PlaygroundConfig) -> None:
        """Show ``cfg``'s choices without sending them back to the worker."""
        for combo, key in ((self.distribution, cfg.distribution), (self.loss, cfg.loss)):
            combo.blockSignals(True)
            combo.setCurrentIndex(combo.findData(key))
            combo.blockSignals(False)
        self.seed.blockSignals(True)
        self.seed.setValue(min(cfg.seed, self.seed.maximum()))
        self.seed.blockSignals(False)

    # -- actions (each a command to the worker; the picture follows when its snapshot arrives) --------
    def set_playing(self, on: bool) -> None:
        if self.play_btn.isChecked() != on:
            self.play_btn.setChecked(on)  # re-enters through toggled
            return
        self.play_btn.setText("Pause" if on else "Play")
        self._rate_start = (time.perf_counter(), self.frames_drawn)
        self._say("")
        self.worker.play(on)

    def step_once(self) -> None:
        """One update (D, then G); drawn when it is made."""
        self._say("")
        self.worker.step(1)

    def reset(self, seed: Optional[int] = None) -> None:
        """New networks (from ``seed``, default the current one); the loss curves start over."""
        if seed is not None:
            self._sync_controls(PlaygroundConfig(distribution=self.distribution.currentData(),
                                                 loss=self.loss.currentData(), seed=int(seed)))
        self._say("")
        self.worker.reset(seed)

    def set_loss(self, key: str) -> None:
        """Train with another loss from the next update on (the networks are kept)."""
        self.worker.set_loss(key)
        self.loss.blockSignals(True)
        self.loss.setCurrentIndex(self.loss.findData(key))
        self.loss.blockSignals(False)

    def _set_distribution(self, key: str) -> None:
        self.worker.set_distribution(key)

    def add_point(self, x: float, y: float) -> None:
        """Add a point to the drawn set and train on that set from now on."""
        lo, hi = BOUNDS
        if not (lo <= x <= hi and lo <= y <= hi):
            return
        if self._drawn_count >= MAX_DRAWN:
            self._say(f"At most {MAX_DRAWN} drawn points: clear them to draw more")
            return
        self._drawn_count += 1
        self.worker.add_drawn(x, y)  # switches the worker to the drawn set
        if self.distribution.currentData() != "drawn":
            self.distribution.blockSignals(True)
            self.distribution.setCurrentIndex(self.distribution.findData("drawn"))
            self.distribution.blockSignals(False)

    def clear_drawn(self) -> None:
        self._drawn_count = 0
        self._say("")
        self.worker.set_drawn([])

    # -- drawing -------------------------------------------------------------------------------------
    def _on_snapshot(self) -> None:
        snap = self.worker.take()
        if snap is not None:
            self.draw(snap)
            QTimer.singleShot(0, self.worker.drawn)  # after the repaint this draw posted

    def draw(self, snap: Snapshot) -> None:
        """Draw a snapshot: the plane, the loss curves (throttled while playing) and the status line."""
        previous, self.snapshot = self.snapshot, snap
        self.heat.setImage(snap.heat.T, autoLevels=False, levels=snap.heat_levels,
                           rect=QRectF(BOUNDS[0], BOUNDS[0], BOUNDS[1] - BOUNDS[0], BOUNDS[1] - BOUNDS[0]))
        if previous is None or snap.real is not previous.real:  # the real set changes only with the distribution
            self.real_points.setData(pos=snap.real)
        self.fake_points.setData(pos=snap.fake)
        self._draw_arrows(snap.fake, snap.grad)
        if previous is None or snap.drawn is not previous.drawn:
            self.drawn_points.setData(pos=snap.drawn)
            self._drawn_count = len(snap.drawn)
        self._append_rows(snap)
        now = time.perf_counter()
        if not snap.playing or now - self._curve_t >= CURVE_EVERY_S:  # paused: always up to date
            self._curve_t = now
            curve = self._curve[:self._curve_n]
            self.d_curve.setData(curve[:, 0], curve[:, 1])
            self.g_curve.setData(curve[:, 0], curve[:, 2])
        if snap.error:
            self._say(snap.error)
        self.frames_drawn += 1
        self._show_status(snap)
        self.frame_drawn.emit(snap.steps)

    def _draw_arrows(self, fake: np.ndarray, grad: np.ndarray) -> None:
        longest = float(np.sqrt((grad ** 2).sum(1)).max()) if len(grad) else 0.0
        tips = fake + grad * (ARROW_LEN / longest if longest > 0 else 0.0)
        seg = np.empty((2 * len(fake), 2), dtype=np.float32)
        seg[0::2], seg[1::2] = fake, tips
        self.arrows.setData(seg[:, 0], seg[:, 1])

    def _append_rows(self, snap: Snapshot) -> None:
        """Add the snapshot's new loss rows to the curve's array; a new epoch (a reset) starts it over."""
        if snap.epoch != self._epoch:
            self._epoch, self._curve_n = snap.epoch, 0
        n = self._curve_n + len(snap.rows)
        if n > len(self._curve):
            grown = np.empty((max(n, 2 * len(self._curve), 1024), 3))
            grown[:self._curve_n] = self._curve[:self._curve_n]
            self._curve = grown
        self._curve[self._curve_n:n] = snap.rows
        self._curve_n = n

    def frames_per_second(self) -> float:
        """Frames drawn per second since play was last pressed."""
        t0, n0 = self._rate_start
        dt = time.perf_counter() - t0
        return (self.frames_drawn - n0) / dt if dt > 0 else 0.0

    def _show_status(self, snap: Snapshot) -> None:
        if not snap.ready:
            self.status.setText(NOT_READY)
            return
        text = f"update {snap.steps}"
        if self._curve_n:
            d_loss, g_loss = self._curve[self._curve_n - 1, 1:]
            text += f"  D loss {d_loss:.3f}  G loss {g_loss:.3f}"
        if snap.playing:
            text += f"  {self.frames_per_second():.0f} frames/s"
        self.status.setText(text)

    # -- closing -------------------------------------------------------------------------------------
    def shutdown(self) -> bool:
        """Pause and end the worker thread (waits for the update in flight); True once it has ended."""
        if self.playing:
            self.set_playing(False)
        return self.worker.stop(STOP_TIMEOUT_S)

    def hideEvent(self, e):
        self.shutdown()  # no training in a hidden tab or a closed window; a command starts it again
        super().hideEvent(e)

    def closeEvent(self, e):
        self.shutdown()
        super().closeEvent(e)


def _ringer(bell: _Doorbell):
    """The worker's notify: rings ``bell`` unless the widget (and so the bell) is gone."""
    def ring() -> None:
        try:
            bell.rang.emit()
        except RuntimeError:  # the C++ object was deleted: nobody to draw
            pass
    return ring
