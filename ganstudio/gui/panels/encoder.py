"""Encode a real image: the model's encoder maps it to the mean of q(z | image), which becomes the latent.

The image is converted to the model's channels and resized to its resolution, scaled to
[-1, 1], and encoded; ``z = mu`` is one undoable edit, so every other panel then explores
around the real image.  Load with the button or drop a file on the panel.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from ganstudio.engine import ModelInfo, RenderState
from ganstudio.engine.encoding import load_image
from ganstudio.gui.panels._base import Panel
from ganstudio.gui.settings import settings, text as settings_text
from ganstudio.gui.widgets import ThumbGrid

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.webp);;All files (*)"


def ask_image_path(parent, title: str) -> str:
    """An image file chosen by the user ('' when cancelled), starting where the last one was."""
    path, _ = QFileDialog.getOpenFileName(parent, title, settings_text("last_image_dir", ""), IMAGE_FILTER)
    if path:
        settings().setValue("last_image_dir", str(Path(path).parent))
    return path


def conversion_note(info: ModelInfo) -> str:
    """What happens to an image brought to this model."""
    return (f"Images are converted to {info.channels} channel{'s' if info.channels > 1 else ''} "
            f"and resized to {info.resolution}×{info.resolution} px.")


class EncoderPanel(Panel):
    title = "Encoder"

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, parent)
        self.setAcceptDrops(True)
        lay = QVBoxLayout(self)
        note = QLabel("Encode a real image into the latent space (z = the encoder's mean), then explore "
                      "around it with the other panels. Drop an image here or:")
        note.setWordWrap(True)
        lay.addWidget(note)
        row = QHBoxLayout()
        self.open_btn = QPushButton("Encode image…")
        row.addWidget(self.open_btn)
        row.addStretch(1)
        lay.addLayout(row)
        self.thumbs = ThumbGrid(cols=2, cell=110)
        self.thumbs.placeholder = "drop an image here"
        lay.addWidget(self.thumbs)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextSelectableByMouse)
        lay.addWidget(self.status)
        lay.addStretch(1)
        self.pixels: Optional[np.ndarray] = None  # the loaded image at the model's size
        self.mu: Optional[torch.Tensor] = None
        self.encoded: Optional[RenderState] = None  # the state the encoding made: its image is the reconstruction
        self.open_btn.clicked.connect(self.open_dialog)

    def unsupported(self, info: ModelInfo) -> str:
        return "" if info.capabilities.encoder else \
            "the model has no encoder (capabilities().encoder is False); only VAE-style models can encode images."

    def model_changed(self, info: ModelInfo) -> None:
        self.pixels, self.mu, self.encoded = None, None, None
        self.thumbs.set_images(None)
        self.status.setText(conversion_note(info))

    def open_dialog(self) -> None:
        path = ask_image_path(self, "Encode image")
        if path:
            self.encode_file(path)

    def encode_file(self, path: str) -> None:
        """Read, convert and encode an image off the GUI thread; then z = mu as one undoable edit."""
        if not self.supported:
            return
        render, info, model = self.ctx.render, self.info, self.state.model

        def work():
            pixels = load_image(path, info.resolution, info.channels)
            mu, logvar = render.encode(model, pixels)
            return pixels, mu, logvar

        def done(result):
            pixels, mu, logvar = result
            if self.state.model != model:
                return  # the model changed while encoding
            self.pixels, self.mu = pixels, mu
            self.thumbs.set_images(pixels[None], cols=2, labels=["input"])
            sigma = torch.exp(0.5 * logvar)
            self.status.setText(f"Encoded {Path(path).name}: |μ| = {mu.norm():.2f}, mean σ = {sigma.mean():.3f} "
                                f"(z_dim {mu.numel()}). The view shows the reconstruction; undo returns.")
            # Explicit z; ws and direction edits would override or shift it, so they go.
            self.edit(f"Encode {Path(path).name}", z=tuple(float(v) for v in mu), ws=None, edits=())
            self.encoded = self.state

        def failed(message: str):
            self.status.setText(message)
            self.ctx.report_error(f"Encoder: {message}", dialog=True)
        self.ctx.jobs.submit("EncoderPanel:encode", work, done, failed, busy=f"Encoding {Path(path).name}")

    def refresh(self) -> None:
        # The input beside the current image (the reconstruction right after encoding).
        if self.pixels is None:
            return
        renderer, state, pixels = self.ctx.render, self.state, self.pixels

        def done(res):
            if res.image is not None and res.image.shape == pixels.shape and pixels is self.pixels:
                # Any other edit (truncation, noise, a direction...) leaves z = mu but not the reconstruction.
                label = "reconstruction" if state == self.encoded else "current image"
                self.thumbs.set_images(np.stack([pixels, res.image]), cols=2, labels=["input", label])
        self.run_job("view", lambda: renderer.render(state), done)

    # -- drag and drop --------------------------------------------------------------------------
    def dragEnterEvent(self, e):
        if self.supported and e.mimeData().hasUrls() and any(u.isLocalFile() for u in e.mimeData().urls()):
            e.acceptProposedAction()

    def dropEvent(self, e):
        files = [u.toLocalFile() for u in e.mimeData().urls() if u.isLocalFile()]
        if files:
            e.acceptProposedAction()
            self.encode_file(files[0])
