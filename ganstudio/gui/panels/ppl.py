"""Perceptual path length of the open model (engine/ppl.py) on a background job, with progress and cancel.

The measurement loads its own copy of the generator from the model's key, so it never waits for or
holds the renderer; results of the session's runs stay in the table (space, sampling, n, spread).
"""
from __future__ import annotations

import threading

from PySide6.QtWidgets import (QComboBox, QFormLayout, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSpinBox,
                               QTableWidget, QTableWidgetItem, QVBoxLayout)

from ganstudio.engine import ModelInfo
from ganstudio.gui.panels._base import Panel

COLUMNS = ("space", "sampling", "PPL", "std", "95% interval", "pairs kept", "s")


class PPLPanel(Panel):
    title = "Path length"
    preview_fields = frozenset()  # nothing in the state changes what it measures: it runs on demand

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, parent)
        lay = QVBoxLayout(self)
        note = QLabel("Perceptual path length (Karras et al. 2019): how much the image changes for a tiny step "
                      "along a latent interpolation, in the Fashion-MNIST classifier's features. Lower is "
                      "smoother. Full: anywhere on the path; end: at its end-points.")
        note.setWordWrap(True)
        lay.addWidget(note)
        form = QFormLayout()
        self.space = QComboBox()
        form.addRow("Space", self.space)
        self.sampling = QComboBox()
        self.sampling.addItems(["full", "end"])
        form.addRow("Sampling", self.sampling)
        self.n = QSpinBox()
        self.n.setRange(10, 200_000)
        self.n.setSingleStep(100)
        self.n.setValue(500)
        form.addRow("Pairs", self.n)
        self.features = QComboBox()
        self.features.addItem("Fashion-MNIST classifier", "classifier")
        self.features.addItem("shapes factor probe", "probe")
        form.addRow("Features", self.features)
        lay.addLayout(form)
        row = QHBoxLayout()
        self.run_btn = QPushButton("Measure")
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.setEnabled(False)
        row.addWidget(self.run_btn)
        row.addWidget(self.cancel_btn)
        lay.addLayout(row)
        self.bar = QProgressBar()
        self.bar.setRange(0, 100)
        lay.addWidget(self.bar)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        lay.addWidget(self.table, 1)
        self.status = QLabel()
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        self.results: list[dict] = []  # to_dict() of each finished run, newest last
        self._cancel = threading.Event()
        self._run = 0
        self.fraction = 0.0  # of the running measurement, as last reported
        self.run_btn.clicked.connect(self.start)
        self.cancel_btn.clicked.connect(self.cancel)
        ctx.jobs.progress.connect(self._progress)

    def model_changed(self, info: ModelInfo) -> None:
        self.cancel()
        self.space.clear()
        self.space.addItems(["z", "w"] if info.capabilities.style_layers else ["z"])
        # the probe reads RGB shapes images; grey models are measured in the classifier's features only
        self.features.model().item(1).setEnabled(info.channels == 3)
        self.features.setCurrentIndex(0)
        self.results = []
        self.table.setRowCount(0)
        self.bar.setValue(0)
        self.status.setText("")

    def start(self) -> None:
        """Measure with the chosen space, sampling and number of pairs on a background job."""
        from ganstudio.engine.jobs import current_job_superseded
        from ganstudio.engine.ppl import measure_model
        if not self.supported:
            return
        self._run += 1
        run, cancel = self._run, threading.Event()
        self._cancel = cancel
        key, device = self.state.model, str(self.ctx.render.device)
        space, sampling, n = self.space.currentText(), self.sampling.currentText(), self.n.value()
        features = self.features.currentData()

        def work(report):
            return measure_model(key, space=space, sampling=sampling, n=n, device=device, features=features,
                                 progress=lambda done, total: report(done / total),
                                 should_stop=lambda: cancel.is_set() or current_job_superseded())

        self.bar.setValue(0)
        self.fraction = 0.0
        self.run_btn.setEnabled(False)
        self.cancel_btn.setEnabled(True)
        self.status.setText(f"Measuring PPL in {space} ({sampling}, {n} pairs)…")
        self.run_job("ppl", work, lambda r: self._finished(run, key, r), with_progress=True,
                     on_fail=lambda msg: self._failed(run, msg), busy="Measuring path length")

    def cancel(self) -> None:
        """Stop the running measurement at its next batch."""
        self._cancel.set()

    def _progress(self, channel: str, fraction: float) -> None:
        if channel == f"{type(self).__name__}:ppl":
            self.fraction = fraction
            self.bar.setValue(int(round(100 * fraction)))

    def _idle(self) -> None:
        self.run_btn.setEnabled(True)
        self.cancel_btn.setEnabled(False)

    def _failed(self, run: int, message: str) -> None:
        if run != self._run:
            return
        self._idle()
        if message.startswith("cancelled"):
            self.status.setText(f"Cancelled ({message}).")
        else:
            self.status.setText(message)
            self.job_failed(message)

    def _finished(self, run: int, key: str, out) -> None:
        if run != self._run or key != self.state.model:
            return
        result, features = out
        self._idle()
        self.bar.setValue(100)
        r = result.to_dict()
        self.results.append(r)
        row = self.table.rowCount()
        self.table.insertRow(row)
        cells = (r["space"], r["sampling"], f"{r['mean']:.4g}", f"{r['std']:.4g}",
                 f"{r['ci_low']:.4g} – {r['ci_high']:.4g}", f"{r['n_kept']} of {r['n']}", f"{r['seconds']:.1f}")
        for col, text in enumerate(cells):
            self.table.setItem(row, col, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        from ganstudio.engine.ppl import piecewise_note
        warning = piecewise_note(result)
        self.status.setText(f"PPL {r['mean']:.4g} (eps {r['eps']:g}; 1st-99th percentile kept). "
                            f"Features: {features.name}" + (f"; {features.note}." if features.note else ".")
                            + (f"\nWarning: {warning}." if warning else ""))
