"""Direction analysis: how much each direction changes each factor of the shapes data, as a heat map.

Rows are directions (PCA, SeFa, raw z or w dimensions, InfoGAN codes or a saved direction file),
columns the factors the factor probe reads; a cell's colour is its response relative to the
factor's strongest direction, its text the response itself (engine/analysis.py defines both, and
``ganstudio analyze`` writes the same numbers).  The scoring runs as a background job with a
progress bar and Cancel.  Click a cell: the strip below shows that direction swept around the
current image; click an image of the strip to make it the current image (one undoable edit).
"""
from __future__ import annotations

import threading
from typing import Optional

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QProgressBar, QPushButton,
                               QSpinBox, QTableWidget, QTableWidgetItem, QVBoxLayout)

from ganstudio.engine import ModelInfo, analysis as an
from ganstudio.engine.transforms import sweep_state
from ganstudio.gui.panels._base import Panel
from ganstudio.gui.widgets import ThumbGrid

FILE_ITEM = "file"  # the method combo's entry that asks for a direction file
# Column headers narrow enough for a dock (the full names are in each cell's tooltip).
SHORT = {"object_hue": "obj hue", "background_hue": "bg hue", "rotation": "rot."}
STRIP_STEPS = 7


class AnalysisPanel(Panel):
    title = "Direction analysis"
    preview_fields = frozenset()  # the heat map is computed on request, not on every edit

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, parent)
        lay = QVBoxLayout(self)
        intro = QLabel("What each direction changes, read by the factor probe on many seeds. Colour: response "
                       "relative to the factor's strongest direction; text: change per unit step (fraction of the "
                       "factor's range). Click a cell for that direction's sweep.")
        intro.setWordWrap(True)
        lay.addWidget(intro)
        self._build_controls(lay)
        self.table = QTableWidget()
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.setSelectionMode(QTableWidget.SingleSelection)
        self.table.setMinimumHeight(220)
        lay.addWidget(self.table, 1)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextSelectableByMouse)
        lay.addWidget(self.summary)
        self.strip = ThumbGrid(cols=STRIP_STEPS, cell=48)
        self.strip.placeholder = "click a cell"
        lay.addWidget(self.strip)
        self.status = QLabel()
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        self.report: Optional[dict] = None
        self.directions: list = []  # the scored Direction tuples, rows of the table
        self._method = ""  # the method the report was made with
        self._strip_states: list = []
        self._cancel = threading.Event()
        self._file: Optional[str] = None
        self.table.cellClicked.connect(self.show_sweep)
        self.strip.clicked.connect(self._pick)
        self.ctx.jobs.progress.connect(self._progress)

    def _build_controls(self, lay) -> None:
        form = QFormLayout()
        self.method = QComboBox()
        form.addRow("Directions", self.method)
        row = QHBoxLayout()
        self.seeds = QSpinBox()
        self.seeds.setRange(2, an.MAX_SEEDS)
        self.seeds.setValue(an.DEFAULT_SEEDS)
        self.first_seed = QSpinBox()
        self.first_seed.setRange(0, 2 ** 31 - 1 - an.MAX_SEEDS)
        for w in (self.seeds, QLabel("from seed"), self.first_seed):
            row.addWidget(w)
        form.addRow("Seeds", row)
        lay.addLayout(form)
        buttons = QHBoxLayout()
        self.run_btn, self.cancel_btn = QPushButton("Analyze"), QPushButton("Cancel")
        self.cancel_btn.setEnabled(False)
        self.bar = QProgressBar()
        self.bar.setRange(0, 100)
        for w in (self.run_btn, self.cancel_btn, self.bar):
            buttons.addWidget(w)
        lay.addLayout(buttons)
        self.run_btn.clicked.connect(self.start)
        self.cancel_btn.clicked.connect(self.cancel)

    # -- model ------------------------------------------------------------------------------------
    def unsupported(self, info: ModelInfo) -> str:
        if an.data_variant(info.meta) is None:
            return ("Direction analysis needs a model trained on shapes or shapes-upright "
                    "(the factor probe reads those).")
        if info.channels != 3 or info.c_dim:
            return "Direction analysis scores unconditional RGB shapes models."
        return ""

    def model_changed(self, info: ModelInfo) -> None:
        self.cancel()
        self.method.clear()
        for key in an.METHODS:
            if key == "w" and not info.capabilities.style_layers:
                continue
            if key == "info" and not info.capabilities.latent_codes:
                continue
            self.method.addItem(an.METHOD_LABELS[key], key)
        self.method.addItem("saved direction file…", FILE_ITEM)
        self.report, self.directions, self._strip_states = None, [], []
        self.table.clear()
        self.table.setRowCount(0)
        self.table.setColumnCount(0)
        self.strip.set_images(None)
        self.summary.setText("")
        self.status.setText(f"Trained on {an.data_variant(info.meta)}: choose directions and press Analyze.")

    # -- the analysis ------------------------------------------------------------------------------
    def start(self, path: Optional[str] = None) -> None:
        """Score the chosen direction set on a background job (a direction file: ``path`` or a dialog)."""
        if not self.supported:
            return
        method = self.method.currentData()
        if method == FILE_ITEM:
            path = path or QFileDialog.getOpenFileName(self, "Direction file", "", "Direction files (*.json)")[0]
            if not path:
                return
        self._cancel.set()
        cancel = self._cancel = threading.Event()
        service, info, key = self.ctx.render, self.info, self.state.model
        seeds, first = self.seeds.value(), self.first_seed.value()

        def work(report):
            from ganstudio.engine.jobs import current_job_superseded
            from ganstudio.training.factor_probe import load_probe
            source = an.RendererSource(service, key, info)
            dirs = (an.directions_from_file(path, source) if method == FILE_ITEM
                    else an.direction_set(source, method))
            label = f"file:{path}" if method == FILE_ITEM else method
            out = an.analyze(source, dirs, load_probe(), {"method": label}, seeds=seeds, seed=first, progress=report,
                             cancelled=lambda: cancel.is_set() or current_job_superseded())
            return out, dirs, method, key

        self.bar.setValue(0)
        self.run_btn.setEnabled(False)
        self.cancel_btn.setEnabled(True)
        self.status.setText("Scoring… (directions are rendered between main-image renders)")
        self.run_job("analyze", work, self._finished, with_progress=True, on_fail=self._failed)

    def cancel(self) -> None:
        self._cancel.set()
        self.cancel_btn.setEnabled(False)
        self.run_btn.setEnabled(self.supported)

    def _progress(self, channel: str, fraction: float) -> None:
        if channel == f"{type(self).__name__}:analyze":
            self.bar.setValue(int(round(100 * fraction)))

    def _failed(self, message: str) -> None:
        self.cancel()
        line = message.strip().splitlines()[-1] if message.strip() else "failed"
        self.status.setText("Cancelled." if "cancelled" in line.lower() else f"Analysis failed: {line}")

    def _finished(self, result) -> None:
        report, dirs, method, key = result
        self.cancel()
        if self.state.model != key:
            return  # scored for the previous model
        self.report, self.directions, self._method = report, dirs, method
        self.bar.setValue(100)
        self.show_report(report)
        self.status.setText(f"{len(dirs)} directions x {len(report['factors'])} factors on {report['seeds']} seeds "
                            "(same numbers as `ganstudio analyze`). Click a cell for its sweep.")

    def show_report(self, report: dict) -> None:
        """Fill the heat map and the summary from a report (engine/analysis.py's build_report)."""
        R, rel = np.asarray(report["response"]), an.relative_matrix(report)
        spread = np.asarray(report["spread"])
        factors, rows = report["factors"], report["per_direction"]
        self.table.clear()
        self.table.setRowCount(len(rows))
        self.table.setColumnCount(len(factors) + 2)
        self.table.setHorizontalHeaderLabels([SHORT.get(f, f) for f in factors] + ["share", "main"])
        self.table.setVerticalHeaderLabels([r["name"] for r in rows])
        for i, r in enumerate(rows):
            for j in range(len(factors)):
                item = QTableWidgetItem(f"{R[i, j]:.3f}")
                item.setBackground(QBrush(QColor(*an.ramp_color(rel[i, j]))))
                item.setForeground(QBrush(QColor("black" if rel[i, j] > 0.55 else "white")))
                item.setToolTip(f"{r['name']} -> {factors[j]}: {R[i, j]:.4f} ± {spread[i, j]:.4f} (sd over seeds)")
                self.table.setItem(i, j, item)
            self.table.setItem(i, len(factors), QTableWidgetItem(f"{r['share']:.2f}"))
            self.table.setItem(i, len(factors) + 1, QTableWidgetItem(r["main_factor"]))
        self.table.resizeColumnsToContents()
        best = ", ".join(f"{p['factor']}: {p['best_direction']} ({p['best_score']:.2f})" for p in report["per_factor"])
        o = report["overall"]
        self.summary.setText(f"Overall score {o['score']:.3f} (disentanglement {o['disentanglement']:.3f}, "
                             f"completeness {o['completeness']:.3f}). Best per factor: {best}.")

    # -- the sweep of a clicked cell -------------------------------------------------------------------
    def _edit_index(self, row: int) -> Optional[tuple[str, int]]:
        """(edit method, index) when the row is one of the renderer's own edits (pca, sefa, raw z, w)."""
        if self._method in ("pca", "sefa", "raw", "w"):  # the renderer has these as Edit methods
            return self._method, row
        return None

    def show_sweep(self, row: int, col: int = 0) -> None:
        """Render the row's direction swept around the current image into the strip."""
        if not self.supported or not 0 <= row < len(self.directions):
            return
        d, state, service, info = self.directions[row], self.state, self.ctx.render, self.info
        edit = self._edit_index(row)
        span = float(self.report.get("span", an.DEFAULT_SPAN)) if self.report else an.DEFAULT_SPAN

        def work():
            if edit is not None:
                states = [sweep_state(state, edit[0], edit[1], float(t)) for t in np.linspace(-span, span, STRIP_STEPS)]
            else:
                states = _latent_states(service, state, info, d, span)
            res = service.render_batch(states)
            if res.image is None:
                raise ValueError(res.error)
            return states, res.image

        def done(result) -> None:
            self._strip_states, images = result
            labels = [f"{d.name}" if k == 0 else "" for k in range(len(images))]
            self.strip.set_images(images, cols=len(images), labels=labels)
            self.status.setText(f"{d.name}: swept around the current image. Click an image to make it current.")
        self.strip.set_images(None)
        self.run_job("sweep", work, done, on_fail=lambda m: self.status.setText(f"Sweep failed: {m.splitlines()[-1]}"))

    def _pick(self, k: int) -> None:
        if 0 <= k < len(self._strip_states):
            new = self._strip_states[k]
            self.edit("Direction analysis: sweep", z=new.z, ws=new.ws, edits=new.edits,
                      truncation_psi=new.truncation_psi, mix_sources=new.mix_sources)


def _latent_states(service, state, info, d, span: float) -> list:
    """The states of a direction's sweep as explicit latents around ``state`` (file directions, InfoGAN codes)."""
    z, _, ws = service.latents(state)
    if z is None and d.space == "z":
        raise ValueError("the current image has an explicit w: a z direction cannot move it (go back to a seed)")
    z_np = None if z is None else z.double().cpu().numpy()
    path = an.direction_path(d, z_np, ws.double().cpu().numpy(), span, STRIP_STEPS)
    lat = path.latents[0]
    if path.space == "z":
        return [state.replace(z=tuple(map(float, row)), ws=None, edits=()) for row in lat]
    # ws come back truncated and mixed already: psi and mixing must not apply twice
    return [state.replace(ws=tuple(tuple(map(float, w)) for w in row), z=None, edits=(), truncation_psi=1.0,
                          mix_sources=None) for row in lat]
