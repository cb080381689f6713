"""The Latent panel's InfoGAN code sliders: "category" with its values, "code 1", "code 2"...

They show the current image's codes (the seed's own until one is set) and set them as "code"
edits (engine.user_directions.code_edit), so they change the code dims of z only.
"""
from __future__ import annotations

from typing import Optional

from PySide6.QtWidgets import QComboBox, QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from ganstudio.engine import ModelInfo, RenderState
from ganstudio.engine.transforms import edit_alpha
from ganstudio.engine.user_directions import code_edit
from ganstudio.gui.widgets import FloatSlider
from ganstudio.latent import codes, seeded_z

CODE_RANGE = 2.0  # the continuous codes train in [-1, 1]; InfoGAN's figures sweep them to +-2


class CodeSliders(QGroupBox):
    """Built once with room for the codes of the model shown; hidden for models without codes."""

    def __init__(self, panel):
        super().__init__("InfoGAN codes")
        self.panel = panel
        self.layout_: Optional[codes.CodeLayout] = None
        lay = QVBoxLayout(self)
        row = QHBoxLayout()
        self.category = QComboBox()
        self.category_label = QLabel("category")
        self.reset_btn = QPushButton("Seed's codes")
        self.reset_btn.setToolTip("Back to the codes the seed draws (drops the code settings)")
        row.addWidget(self.category_label)
        row.addWidget(self.category, 1)
        row.addWidget(self.reset_btn)
        lay.addLayout(row)
        self.sliders: list[FloatSlider] = []
        self._slider_box = QVBoxLayout()
        lay.addLayout(self._slider_box)
        self.category.activated.connect(self._on_category)
        self.reset_btn.clicked.connect(self._reset)
        self.setVisible(False)

    def model_changed(self, info: ModelInfo) -> None:
        self.layout_ = codes.layout_of(info) if any(info.code_sizes) else None
        self.setVisible(self.layout_ is not None)
        if self.layout_ is None:
            return
        self.category.clear()
        self.category.addItem("seed's own", None)
        for k in range(self.layout_.categories):
            self.category.addItem(f"{k}", k)
        self.category.setVisible(bool(self.layout_.categories))
        self.category_label.setVisible(bool(self.layout_.categories))
        while len(self.sliders) < self.layout_.continuous:
            k = len(self.sliders) + 1
            s = FloatSlider(f"code {k}", -CODE_RANGE, CODE_RANGE, 0.0, steps=160)
            s.valueChanged.connect(lambda v, k=k: self._on_code(k, v))
            s.released.connect(self.panel.app.end_gesture)
            self._slider_box.addWidget(s)
            self.sliders.append(s)
        for k, s in enumerate(self.sliders, 1):
            s.setVisible(k <= self.layout_.continuous)

    def seed_codes(self, state: RenderState) -> tuple[Optional[int], list[float]]:
        """The codes of the state's latent before any code setting: the explicit z's, else the seed's."""
        lay = self.layout_
        if state.z is not None and len(state.z) == lay.z_dim:
            return codes.read_codes(state.z, lay)
        if state.ws is not None and len(state.ws[0]) == lay.z_dim:  # no mapping: w is z
            return codes.read_codes(state.ws[0], lay)
        return codes.read_codes(codes.codes_from_normal(seeded_z([state.seed], lay.z_dim), lay)[0], lay)

    def show_state(self, state: RenderState) -> None:
        if self.layout_ is None:
            return
        own_cat, own_vals = self.seed_codes(state)
        set_cat = next((e.alpha for e in state.edits if e.method == "code" and e.index == 0), None)
        if self.layout_.categories:
            self.category.setItemText(0, f"seed's own ({own_cat})")
            self.category.setCurrentIndex(0 if set_cat is None else int(set_cat) + 1)
        for k, s in enumerate(self.sliders[:self.layout_.continuous], 1):
            is_set = any(e.method == "code" and e.index == k for e in state.edits)
            s.set_value(edit_alpha(state.edits, "code", k) if is_set else own_vals[k - 1], quiet=True)
            s.label.setText(f"code {k}" + ("" if is_set else " (seed)"))

    def _on_category(self, _row: int) -> None:
        value = self.category.currentData()
        text = "seed's category" if value is None else f"category {value}"
        self.panel.edit(f"InfoGAN {text}", edits=code_edit(self.panel.state, 0, value))
        self.show_state(self.panel.state)

    def _on_code(self, k: int, value: float) -> None:
        self.panel.edit(f"InfoGAN code {k}", merge=f"code{k}", edits=code_edit(self.panel.state, k, value))
        self.sliders[k - 1].label.setText(f"code {k}")

    def _reset(self) -> None:
        edits = tuple(e for e in self.panel.state.edits if e.method != "code")
        self.panel.edit("InfoGAN seed's codes", edits=edits)
        self.show_state(self.panel.state)

    def set_category(self, value: Optional[int]) -> None:
        """As the user choosing ``value`` (None: the seed's own) in the category box."""
        self.category.setCurrentIndex(0 if value is None else value + 1)
        self._on_category(self.category.currentIndex())

