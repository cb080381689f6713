"""Loss curves of a run: one pyqtgraph curve per logged term, created once and updated with setData."""
from __future__ import annotations

from typing import Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

_PALETTE = ["#4e9af1", "#f1a04e", "#5cc46b", "#e0525b", "#a77bdb", "#c9b458", "#4fc6c6", "#d97ac0", "#9a9a9a"]


class Series:
    """A growing (x, y) history in numpy buffers that double when full: O(1) appends, no copies to plot."""

    def __init__(self, capacity: int = 256):
        self.x = np.empty(capacity, dtype=np.float64)
        self.y = np.empty(capacity, dtype=np.float64)
        self.n = 0

    def append(self, x: float, y: float) -> None:
        if self.n == len(self.x):
            self.x = np.concatenate([self.x, np.empty_like(self.x)])
            self.y = np.concatenate([self.y, np.empty_like(self.y)])
        self.x[self.n], self.y[self.n] = x, y
        self.n += 1

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        return self.x[:self.n], self.y[:self.n]


class LossPlot(QWidget):
    """Every loss term of a run against the step; D outputs (D_real, D_fake) dashed.

    Curves come from a pool made with the widget: building a PlotDataItem (and a legend entry
    inside the scene) costs tens of milliseconds, too much for a poll while training.  The
    legend is a plain label above the plot for the same reason.
    """

    POOL = 10  # more terms than this get curves made on the fly

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.widget = pg.PlotWidget()
        item = self.widget.getPlotItem()
        # Peak downsampling keeps spikes visible; clip-to-view draws only the visible range,
        # so a history of hours costs what the screen shows.  No grid: under a software
        # renderer it doubles the cost of every redraw.
        item.setDownsampling(auto=True, mode="peak")
        item.setClipToView(True)
        item.setLabel("bottom", "step")
        item.setLabel("left", "loss")
        self.legend = QLabel()
        self.legend.setWordWrap(True)
        self.legend.setTextFormat(Qt.RichText)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.legend)
        lay.addWidget(self.widget, 1)
        self._build_p_plot(lay)
        self._pool = [self._make_curve() for _ in range(self.POOL)]
        self.series: dict[str, Series] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        self._dirty: set[str] = set()

    def _build_p_plot(self, lay: QVBoxLayout) -> None:
        """ADA's augmentation probability p against the step: shown once a run reports it."""
        self.p_widget = pg.PlotWidget()
        item = self.p_widget.getPlotItem()
        item.setLabel("left", "ADA p")
        item.setYRange(0, 1, padding=0.02)
        item.setXLink(self.widget.getPlotItem())
        self.p_widget.setMaximumHeight(110)
        self.p_widget.hide()
        self.p_series = Series()
        self.p_curve = self.p_widget.plot([], [], pen=pg.mkPen("#e0525b", width=1.5))
        lay.addWidget(self.p_widget)

    def _make_curve(self) -> pg.PlotDataItem:
        return self.widget.plot([], [])

    def clear_all(self) -> None:
        for curve in self.curves.values():
            curve.setData([], [])
        self._pool = list(self.curves.values()) + self._pool
        self.series.clear()
        self.curves.clear()
        self._dirty.clear()
        self.legend.setText("")
        self.p_series = Series()
        self.p_curve.setData([], [])
        self.p_widget.hide()

    def add_records(self, records: list[dict]) -> None:
        """Append the losses of new log records, then redraw each changed curve once."""
        added = False
        self._add_p(records)
        for rec in records:
            step = rec.get("step")
            losses = rec.get("losses")
            if not isinstance(losses, dict) or step is None:
                continue
            for name, value in losses.items():
                try:
                    v = float(value)
                except (TypeError, ValueError):
                    continue
                if name not in self.series:
                    self._add_curve(name)
                    added = True
                self.series[name].append(float(step), v)
                self._dirty.add(name)
        for name in self._dirty:
            self.curves[name].setData(*self.series[name].data())
        self._dirty.clear()
        if added:
            self._update_legend()

    def _add_p(self, records: list[dict]) -> None:
        n = self.p_series.n
        for rec in records:
            p, step = rec.get("augment_p"), rec.get("step")
            if isinstance(p, (int, float)) and not isinstance(p, bool) and isinstance(step, (int, float)):
                self.p_series.append(float(step), float(p))
        if self.p_series.n != n:
            self.p_curve.setData(*self.p_series.data())
            self.p_widget.show()

    def _add_curve(self, name: str) -> None:
        color = _PALETTE[len(self.curves) % len(_PALETTE)]
        style = Qt.DashLine if name.startswith("D_") else Qt.SolidLine
        curve = self._pool.pop(0) if self._pool else self._make_curve()
        curve.setPen(pg.mkPen(color, width=1.5, style=style))
        curve.opts["name"] = name
        self.series[name] = Series()
        self.curves[name] = curve

    def _update_legend(self) -> None:
        parts = []
        for name, curve in self.curves.items():
            color = curve.opts["pen"].color().name()
            mark = "&#9476;" if name.startswith("D_") else "&#9644;"  # dashed / solid
            parts.append(f"<span style='color:{color}; font-weight:bold'>{mark}</span>&nbsp;{name}")
        self.legend.setText("&nbsp;&nbsp; ".join(parts))

    def points(self, name: str) -> int:
        """How many points the curve ``name`` shows (0 when it has none)."""
        curve = self.curves.get(name)
        if curve is None:
            return 0
        x, _ = curve.getOriginalDataset()
        return 0 if x is None else len(x)
