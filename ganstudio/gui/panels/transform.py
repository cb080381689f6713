"""Input transform: translate and rotate a StyleGAN3 image's content, as NVIDIA's visualizer offers.

StyleGAN3 draws its image from Fourier features of a continuous plane; moving or turning that plane
moves or turns the content without re-synthesising it from new latents.  The fields live in the render
state (``input_translate_x``, ``input_translate_y``, ``input_rotate``) and reach the generator per
render call, so they are undoable, kept in sessions and rendered the same by ``ganstudio sample``.
"""
from __future__ import annotations

from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout

from ganstudio.engine import ModelInfo, RenderState
from ganstudio.engine.state import INPUT_ROTATE_RANGE as ROTATE_RANGE, INPUT_TRANSFORM_FIELDS
from ganstudio.engine.state import INPUT_TRANSLATE_RANGE as TRANSLATE_RANGE
from ganstudio.gui.panels._base import Panel
from ganstudio.gui.widgets import FloatSlider



class TransformPanel(Panel):
    title = "Input transform"
    sync_fields = frozenset(INPUT_TRANSFORM_FIELDS)

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, parent)
        lay = QVBoxLayout(self)
        note = QLabel("Moves and turns the plane StyleGAN3 samples its Fourier-feature input from: the content "
                      "shifts or rotates and new content comes in at the edges. Translation in image widths "
                      "(+x right, +y down), rotation in degrees (counter-clockwise).")
        note.setWordWrap(True)
        lay.addWidget(note)
        self.tx = FloatSlider("translate x", *TRANSLATE_RANGE, 0.0, steps=400)
        self.ty = FloatSlider("translate y", *TRANSLATE_RANGE, 0.0, steps=400)
        self.rotate = FloatSlider("rotate °", *ROTATE_RANGE, 0.0, steps=360)
        for slider, field, label in ((self.tx, "input_translate_x", "Translate x"),
                                     (self.ty, "input_translate_y", "Translate y"),
                                     (self.rotate, "input_rotate", "Rotate")):
            lay.addWidget(slider)
            slider.valueChanged.connect(
                lambda v, field=field, label=label: self.edit(f"{label} {v:.3g}", merge=field, **{field: float(v)}))
            slider.released.connect(self.app.end_gesture)
        self.reset_btn = QPushButton("Reset transform")
        self.reset_btn.clicked.connect(lambda _=False: self.edit("Reset input transform",
                                                                 **{k: 0.0 for k in INPUT_TRANSFORM_FIELDS}))
        lay.addWidget(self.reset_btn)
        lay.addStretch(1)

    def unsupported(self, info: ModelInfo) -> str:
        if not info.capabilities.input_transform:
            return ("the model has no input transform (capabilities().input_transform is not set): only "
                    "StyleGAN3's Fourier-feature input can be translated and rotated.")
        return ""

    def sync(self, state: RenderState) -> None:
        self.tx.set_value(state.input_translate_x, quiet=True)
        self.ty.set_value(state.input_translate_y, quiet=True)
        self.rotate.set_value(state.input_rotate, quiet=True)
