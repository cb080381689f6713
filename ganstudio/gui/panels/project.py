"""Project a real image: optimise a latent (z, w or w+) until the model draws the image (engine/projection.py).

Open or drop an image (any size or mode: centre-cropped and resized as the encoder does), choose
the space and the steps, and watch the reconstruction improve beside the target; Cancel stops at
the next step.  The result becomes a bookmark and the current image (one undoable edit), so the
other panels then style-mix it, edit it along directions or interpolate between real images.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Optional

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QHBoxLayout, QLabel, QProgressBar,
                               QPushButton, QSpinBox, QVBoxLayout)

from ganstudio.engine import ModelInfo
from ganstudio.engine.app_core import Bookmark
from ganstudio.engine.projection import GREY_FEATURES
from ganstudio.gui.panels._base import Panel
from ganstudio.gui.panels.encoder import ask_image_path, conversion_note
from ganstudio.gui.widgets import ThumbGrid

_LIVE_FRAMES = 100  # reconstructions shown per run at most (every k-th step)


class ProjectPanel(Panel):
    title = "Project"
    # (run id, step, loss, uint8 image [H, W, C]) from the job's thread, delivered on the GUI thread
    _live = Signal(int, int, float, object)

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, parent)
        self.setAcceptDrops(True)
        lay = QVBoxLayout(self)
        note = QLabel("Find the latent that makes the model draw your image, then explore it with the other "
                      "panels. Open or drop an image:")
        note.setWordWrap(True)
        lay.addWidget(note)
        self._build_form(lay)
        self.thumbs = ThumbGrid(cols=2, cell=110)
        self.thumbs.placeholder = "drop an image here"
        lay.addWidget(self.thumbs)
        self.bar = QProgressBar()
        self.bar.setRange(0, 100)
        lay.addWidget(self.bar)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextSelectableByMouse)
        lay.addWidget(self.status)
        lay.addStretch(1)
        self.path: Optional[str] = None
        self.pixels: Optional[np.ndarray] = None  # the target at the model's size
        self.result = None  # the last ProjectionResult
        self._run = 0  # id of the current run: live frames of an older one are ignored
        self._cancel = threading.Event()
        self._live.connect(self._show_live)

    def _build_form(self, lay) -> None:
        form = QFormLayout()
        self.space = QComboBox()
        form.addRow("Space", self.space)
        self.steps = QSpinBox()
        self.steps.setRange(1, 10000)
        self.steps.setValue(300)
        form.addRow("Steps", self.steps)
        self.klass = QComboBox()
        form.addRow("Class", self.klass)
        self.features = QCheckBox("Classifier features in the loss (grey models)")
        form.addRow(self.features)
        self.use_encoder = QCheckBox("Start from the model's encoder (else the mean latent)")
        self.use_encoder.setToolTip("w and w+: the optimisation starts from the guess of an encoder trained for this "
                                    "model (`ganstudio train-encoder`), or from the mean latent when unchecked")
        form.addRow(self.use_encoder)
        lay.addLayout(form)
        row = QHBoxLayout()
        self.open_btn = QPushButton("Open image…")
        self.run_btn = QPushButton("Project")
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.setEnabled(False)
        for b in (self.open_btn, self.run_btn, self.cancel_btn):
            row.addWidget(b)
        lay.addLayout(row)
        self.open_btn.clicked.connect(self.open_dialog)
        self.run_btn.clicked.connect(self.start)
        self.cancel_btn.clicked.connect(self.cancel)

    # -- model ----------------------------------------------------------------------------------
    def unsupported(self, info: ModelInfo) -> str:
        if getattr(info.capabilities, "code_grid", ()):
            return "this model's latents are discrete codes (a code grid): projection does not apply"
        return super().unsupported(info)

    def model_changed(self, info: ModelInfo) -> None:
        self.cancel()
        self.pixels, self.path, self.result = None, None, None
        self.thumbs.set_images(None)
        self.bar.setValue(0)
        style = info.capabilities.style_layers and info.num_ws > 1
        self.space.clear()
        self.space.addItems(["w+", "w", "z"] if style else ["z"])
        self.klass.clear()
        self.klass.setEnabled(bool(info.c_dim))
        if info.c_dim:
            names = info.class_names or [f"class {i}" for i in range(info.c_dim)]
            self.klass.addItem("estimate", None)
            for i, n in enumerate(names[:info.c_dim]):
                self.klass.addItem(f"{i}: {n}", i)
        self.features.setEnabled(info.channels == 1)
        self.features.setChecked(info.channels == 1)  # see engine/projection.py GREY_FEATURES
        from ganstudio.engine.inversion_encoder import shipped_encoder_path
        has_encoder = style and shipped_encoder_path(info.key) is not None
        self.use_encoder.setEnabled(has_encoder)
        self.use_encoder.setChecked(has_encoder)
        self.run_btn.setEnabled(False)
        self.status.setText(conversion_note(info))

    # -- the image --------------------------------------------------------------------------------
    def open_dialog(self) -> None:
        path = ask_image_path(self, "Project image")
        if path:
            self.open_image(path)

    def open_image(self, path: str) -> None:
        """Read the image (converted, cropped, resized) and show it; errors are one line in the status."""
        from ganstudio.engine.encoding import load_image
        if not self.supported:
            return
        try:
            self.pixels = load_image(path, self.info.resolution, self.info.channels)
        except ValueError as e:
            self.status.setText(str(e))
            self.ctx.report_error(f"{self.title}: {e}")
            return
        self.path, self.result = path, None
        self.thumbs.set_images(self.pixels[None], cols=2, labels=["target"])
        self.run_btn.setEnabled(True)
        self.status.setText(f"{Path(path).name}: press Project.")

    # -- the run -----------------------------------------------------------------------------------
    def start(self) -> None:
        """Project the image on a background job; live reconstructions come back through ``_live``."""
        from ganstudio.engine.jobs import current_job_superseded
        from ganstudio.engine.projection import ProjectionSettings
        if not self.supported or self.pixels is None:
            return
        self._run += 1
        run, pixels, cancel = self._run, self.pixels, threading.Event()
        self._cancel = cancel
        service, model, space, steps = self.ctx.render, self.state.model, self.space.currentText(), self.steps.value()
        kw = dict(space=space, steps=steps, class_idx=self.klass.currentData() if self.klass.count() else None,
                  use_encoder=self.use_encoder.isEnabled() and self.use_encoder.isChecked(),
                  settings=ProjectionSettings(feature_weight=GREY_FEATURES if self.features.isChecked() else 0.0))
        every = max(1, steps // _LIVE_FRAMES)

        def work(report):
            from ganstudio.imaging import to_uint8

            def progress(step, loss, image):
                report(step / steps)  # raises JobCancelled once the window closes
                if step % every == 0 or step == steps:
                    self._live.emit(run, step, loss, to_uint8(image[None])[0])
            return service.project(model, pixels, progress=progress,
                                   should_stop=lambda: cancel.is_set() or current_job_superseded(), **kw)

        self.bar.setValue(0)
        self.run_btn.setEnabled(False)
        self.cancel_btn.setEnabled(True)
        self.status.setText(f"Projecting into {space}…")
        self.run_job("project", work, lambda res: self._finished(run, model, res), with_progress=True,
                     on_fail=lambda msg: self._failed(run, msg), busy="Projecting an image")

    def cancel(self) -> None:
        """Stop the running projection at its next step (nothing is bookmarked)."""
        self._cancel.set()

    def _show_live(self, run: int, step: int, loss: float, image) -> None:
        if run != self._run or self.pixels is None:
            return
        self.bar.setValue(int(100 * step / max(1, self.steps.value())))
        self.thumbs.set_images(np.stack([self.pixels, image]), cols=2, labels=["target", f"step {step}"])
        self.status.setText(f"Step {step}: loss {loss:.4f}")

    def _idle(self) -> None:
        self.run_btn.setEnabled(self.pixels is not None)
        self.cancel_btn.setEnabled(False)

    def _failed(self, run: int, message: str) -> None:
        if run == self._run:
            self._idle()
            self.status.setText(message)
            self.job_failed(message)

    def _finished(self, run: int, model: str, res) -> None:
        if run != self._run or self.state.model != model:
            return  # superseded, or the model changed meanwhile
        self._idle()
        if res.cancelled:
            self.status.setText(f"Cancelled at step {res.steps_done}: nothing was bookmarked.")
            return
        from ganstudio.engine.projection import result_state
        from ganstudio.imaging import to_uint8
        self.result = res
        self.bar.setValue(100)
        state = result_state(res, self.state)
        image = to_uint8(res.image[None])[0]
        name = f"{Path(self.path).name} ({res.space})" if self.path else f"projection ({res.space})"
        self.app.core.add_bookmark(Bookmark(state, image, name, extra={"psnr": res.psnr}))
        self.app.edit(state, f"Project {name}", source=self)
        self.thumbs.set_images(np.stack([self.pixels, image]), cols=2, labels=["target", "projection"])
        cls = "" if res.class_idx is None else f", class {res.class_idx}"
        self.status.setText(f"{name}: PSNR {res.psnr:.2f} dB after {res.steps_done} steps{cls} (from the "
                            f"{res.start} start, {res.start_psnr:.2f} dB); bookmarked and shown (undo returns).")

    # -- drag and drop --------------------------------------------------------------------------
    def dragEnterEvent(self, e):
        if self.supported and e.mimeData().hasUrls() and any(u.isLocalFile() for u in e.mimeData().urls()):
            e.acceptProposedAction()

    def dropEvent(self, e):
        files = [u.toLocalFile() for u in e.mimeData().urls() if u.isLocalFile()]
        if files:
            e.acceptProposedAction()
            self.open_image(files[0])
