"""Per-layer noise: the model's own (const) / fixed / random / off, a strength multiplier, re-roll; layers
labelled by resolution."""
from __future__ import annotations

import random

from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton,
                               QVBoxLayout)

from ganstudio.engine import ModelInfo, RenderState
from ganstudio.engine.state import LayerNoise
from ganstudio.engine.transforms import noise_layers, rerolled_noise
from ganstudio.engine.app_core import StateChange
from ganstudio.gui.panels._base import Panel
from ganstudio.gui.widgets import FloatSlider

MODES = ("const", "fixed", "random", "off")


class NoisePanel(Panel):
    title = "Noise"
    sync_fields = frozenset({"noise", "noise_strength", "noise_mode"})
    preview_fields = frozenset()

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, parent)
        lay = QVBoxLayout(self)
        note = QLabel("Per-pixel noise adds stochastic detail (hair, pores); 'const' is the model's own stored "
                      "noise, 'fixed' is seeded and stable, 'random' changes every frame, 'off' removes it.")
        note.setWordWrap(True)
        lay.addWidget(note)
        self.strength = FloatSlider("Strength", 0.0, 3.0, 1.0, steps=300, fmt="{:.2f}")
        lay.addWidget(self.strength)
        row = QHBoxLayout()
        self.all_mode = QComboBox()
        self.all_mode.addItems(["set all…", *MODES])
        self.reroll_btn = QPushButton("Re-roll")
        self.const_btn = QPushButton("Model's own noise")
        row.addWidget(self.all_mode)
        row.addWidget(self.reroll_btn)
        row.addWidget(self.const_btn)
        lay.addLayout(row)
        self.status = QLabel()
        self.status.setWordWrap(True)  # status and error texts: long ones must not widen the dock
        lay.addWidget(self.status)
        self.box = QGroupBox("Layers")
        self.grid = QGridLayout(self.box)
        lay.addWidget(self.box)
        lay.addStretch(1)
        self.mode_combos: list[QComboBox] = []
        self.strength_spins: list[QDoubleSpinBox] = []

        self.strength.valueChanged.connect(lambda v: self.edit("Noise strength", merge="noise_strength",
                                                               noise_strength=v))
        self.strength.released.connect(self.app.end_gesture)
        self.all_mode.activated.connect(self._on_all_mode)
        self.reroll_btn.clicked.connect(self.reroll)
        self.const_btn.clicked.connect(lambda: self.edit("Model's own noise", noise=None, noise_mode="const"))

    def unsupported(self, info: ModelInfo) -> str:
        return "" if info.capabilities.noise_layers else "the model has no per-layer noise inputs."

    def layers(self) -> list[LayerNoise]:
        """The state's per-layer settings; with none, every layer takes the model's own constant noise."""
        return noise_layers(self.state, len(self.info.capabilities.noise_layers))

    def set_layers(self, layers: list, text: str) -> None:
        self.edit(text, noise=tuple(layers))

    def set_mode(self, i: int, mode: str) -> None:
        layers = self.layers()
        layers[i] = layers[i]._replace(mode=mode)
        self.set_layers(layers, f"Noise layer {i}: {mode}")

    def set_all(self, mode: str) -> None:
        self.set_layers([n._replace(mode=mode) for n in self.layers()], f"All noise {mode}")

    def set_layer_strength(self, i: int, strength: float) -> None:
        layers = self.layers()
        layers[i] = layers[i]._replace(strength=float(strength))
        self.set_layers(layers, f"Noise layer {i} strength")

    def reroll(self) -> None:
        self.set_layers(rerolled_noise(self.layers(), random.Random()), "Re-roll noise")

    def _on_all_mode(self, index: int) -> None:
        if index > 0:
            self.set_all(MODES[index - 1])
        self.all_mode.setCurrentIndex(0)

    def model_changed(self, info: ModelInfo) -> None:
        while self.grid.count():
            self.grid.takeAt(0).widget().deleteLater()
        self.mode_combos, self.strength_spins = [], []
        for i, r in enumerate(info.capabilities.noise_layers):
            combo = QComboBox()
            combo.addItems(MODES)
            combo.currentIndexChanged.connect(lambda m, i=i: self.set_mode(i, MODES[m]))
            spin = QDoubleSpinBox()
            spin.setRange(0.0, 10.0)
            spin.setSingleStep(0.1)
            spin.setKeyboardTracking(False)
            spin.valueChanged.connect(lambda v, i=i: self.set_layer_strength(i, v))
            self.grid.addWidget(QLabel(f"{i}: {r}×{r}"), i, 0)
            self.grid.addWidget(combo, i, 1)
            self.grid.addWidget(spin, i, 2)
            self.mode_combos.append(combo)
            self.strength_spins.append(spin)

    def sync(self, state: RenderState) -> None:
        self.strength.set_value(state.noise_strength, quiet=True)
        for combo, spin, layer in zip(self.mode_combos, self.strength_spins, self.layers()):
            combo.setCurrentIndex(MODES.index(layer.mode) if layer.mode in MODES else 0)
            spin.setValue(layer.strength)
        self.status.setText("Using the model's own constant noise." if state.noise is None else
                            f"Explicit settings for {len(state.noise)} layers.")

    def edited(self, change: StateChange) -> None:
        self._sync_now()  # its buttons change what its other widgets show
