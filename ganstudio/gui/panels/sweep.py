"""Direction sweep: the current image moved along several directions at once, one row each.

The figure of the GANSpace and SeFa papers: rows are directions, columns are strengths from
-max to +max, all around the current state.  A researcher reads disentanglement off it (does a
row change one attribute only?); clicking a cell applies that edit as one undo step.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QComboBox, QGridLayout, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout

from ganstudio.engine import ModelInfo
from ganstudio.engine.state import Edit
from ganstudio.engine.transforms import sweep_alphas, sweep_state
from ganstudio.latent.library import MAX_DIRECTIONS
from ganstudio.gui.panels._base import Panel
from ganstudio.gui.panels.latent import METHODS
from ganstudio.gui.widgets import FloatSlider, ThumbGrid

SWEEP_METHODS = {**METHODS, "raw": "raw z dimensions"}
MAX_ROWS, MAX_STEPS = 10, 11
K_DIRECTIONS = MAX_DIRECTIONS  # as the Latent panel computes them, so both share the renderer's cached directions
# Pixels per batch: one batch of 77 StyleGAN 1024 px images would need gigabytes of activations.
MAX_BATCH_PIXELS = 2 ** 20


class SweepPanel(Panel):
    title = "Direction sweep"

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, parent)
        lay = QVBoxLayout(self)
        intro = QLabel("Rows: directions; columns: strengths around the current image (GANSpace / SeFa "
                       "figures). A row that changes one attribute only is a disentangled direction.")
        intro.setWordWrap(True)
        lay.addWidget(intro)
        form = QGridLayout()
        self.method = QComboBox()
        for key, label in SWEEP_METHODS.items():
            self.method.addItem(label, key)
        form.addWidget(QLabel("Directions"), 0, 0)
        form.addWidget(self.method, 0, 1, 1, 3)
        self.first, self.rows = QSpinBox(), QSpinBox()
        self.rows.setRange(1, MAX_ROWS)
        self.rows.setValue(5)
        form.addWidget(QLabel("from #"), 1, 0)
        form.addWidget(self.first, 1, 1)
        form.addWidget(QLabel("rows"), 1, 2)
        form.addWidget(self.rows, 1, 3)
        self.steps = QSpinBox()
        self.steps.setRange(2, MAX_STEPS)
        self.steps.setValue(7)
        form.addWidget(QLabel("columns"), 2, 0)
        form.addWidget(self.steps, 2, 1)
        lay.addLayout(form)
        self.strength = FloatSlider("strength ±", 0.5, 10.0, 3.0, steps=95, fmt="{:.1f}")
        lay.addWidget(self.strength)
        self.layer_row = QHBoxLayout()
        self.layer_start, self.layer_end = QSpinBox(), QSpinBox()
        self.layer_label = QLabel()
        for w in (QLabel("w layers"), self.layer_start, QLabel("to"), self.layer_end, self.layer_label):
            self.layer_row.addWidget(w)
        self.layer_row.addStretch(1)
        lay.addLayout(self.layer_row)
        self.grid = ThumbGrid(cols=7, cell=56)
        lay.addWidget(self.grid)
        self.status = QLabel()
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        lay.addStretch(1)
        self._cells: list[Edit] = []  # the edit of each cell drawn
        self._generation = 0  # bumped by each refresh: a running sweep that is no longer the newest stops

        for w in (self.first, self.rows, self.steps, self.layer_start, self.layer_end):
            w.valueChanged.connect(self._on_layout)
        self.method.currentIndexChanged.connect(self._on_layout)
        self.strength.valueChanged.connect(lambda _: self.schedule_refresh())
        self.grid.clicked.connect(self._pick)

    def unsupported(self, info: ModelInfo) -> str:
        return ""  # every model has a z (or w) to move in

    def model_changed(self, info: ModelInfo) -> None:
        style = info.capabilities.style_layers and info.num_ws > 1
        for i in range(self.layer_row.count()):
            w = self.layer_row.itemAt(i).widget()
            if w is not None:
                w.setVisible(bool(style))
        self.layer_start.setRange(0, max(0, info.num_ws - 1))
        self.layer_end.setRange(1, max(1, info.num_ws))
        self.layer_start.setValue(0)
        self.layer_end.setValue(info.num_ws)
        self._on_layout()
        self.grid.set_images(None)
        self._cells = []

    def method_key(self) -> str:
        return self.method.currentData()

    def layers(self):
        """[start, end) of the w layers the sweep moves; None for all (and for models without style layers)."""
        if self.info is None or not (self.info.capabilities.style_layers and self.info.num_ws > 1):
            return None
        start, end = self.layer_start.value(), max(self.layer_end.value(), self.layer_start.value() + 1)
        return None if (start, end) == (0, self.info.num_ws) else (start, end)

    def _on_layout(self, *_) -> None:
        if self.info is None:
            return
        dims = self.info.z_dim if self.method_key() == "raw" else min(K_DIRECTIONS, self.info.w_dim)
        self.first.setRange(0, max(0, dims - 1))
        res = self.info.capabilities.layer_resolutions
        layers = self.layers() or (0, self.info.num_ws)
        if res and self.info.num_ws > 1:
            self.layer_label.setText(f"{res[layers[0]]}–{res[layers[1] - 1]} px")
        self.schedule_refresh()

    def refresh(self) -> None:
        # Everything the job needs is read here: widgets belong to the GUI thread.
        state, render, method, info = self.state, self.ctx.render, self.method_key(), self.info
        alphas = sweep_alphas(self.strength.value(), self.steps.value())
        layers = None if method == "raw" else self.layers()
        first, count = self.first.value(), self.rows.value()
        self._generation += 1
        generation = self._generation

        def job(report):
            if method == "raw" and state.ws is not None and info.capabilities.style_layers:
                raise ValueError("raw z dimensions do not apply to an explicit w (from interpolation, arithmetic "
                                 "or a latent file): sweep PCA or SeFa directions, or go back to the seed")
            n = info.z_dim if method == "raw" else len(render.directions(state.model, method, K_DIRECTIONS))
            rows = list(range(first, min(first + count, n)))
            if not rows:
                raise ValueError(f"no direction #{first}: the model has {n}")
            cells = [Edit(method, i, a, layers) for i in rows for a in alphas]
            states = [sweep_state(state, *cell) for cell in cells]
            chunk = max(1, min(32, MAX_BATCH_PIXELS // max(1, info.resolution) ** 2))
            parts = []
            for k in range(0, len(states), chunk):
                if self._generation != generation:  # minutes of 1024 px renders nobody will see
                    raise RuntimeError("superseded by a newer sweep")
                res = render.render_batch(states[k:k + chunk])
                if res.image is None:
                    raise ValueError(res.error)
                parts.append(res.image)
                report(min(1.0, (k + chunk) / len(states)))
            return cells, np.concatenate(parts)

        def done(result) -> None:
            cells, images = result
            if self.state.model != state.model:
                return  # rendered for the previous model
            self._cells = cells
            labels = [(f"#{i} " if j == 0 else "") + f"{a:+.1f}" for i, j, a in
                      ((c.index, k % len(alphas), c.alpha) for k, c in enumerate(cells))]
            self.grid.set_images(images, cols=len(alphas), labels=labels)
            name = SWEEP_METHODS[method]
            self.status.setText(f"{name} #{cells[0].index}–#{cells[-1].index}, strength ±{self.strength.value():.1f} "
                                "around the current image. Click a cell to apply that edit.")

        def failed(message: str) -> None:
            self.status.setText(f"Sweep failed: {message.splitlines()[0]}")
        self.status.setText("Rendering…" if method == "raw" else "Computing directions (once per model) and rendering…")
        self.run_job("sweep", job, done, with_progress=True, on_fail=failed)

    def _pick(self, k: int) -> None:
        if not 0 <= k < len(self._cells):
            return
        cell = self._cells[k]
        self.edit(f"Sweep {SWEEP_METHODS[cell.method]} #{cell.index} {cell.alpha:+.1f}",
                  edits=sweep_state(self.state, *cell).edits)
