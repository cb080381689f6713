"""Interpolation between two bookmarks (lerp or slerp) with a t slider and play."""
from __future__ import annotations

from collections import OrderedDict
from typing import Optional

import torch
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QComboBox, QFormLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from ganstudio import latent
from ganstudio.engine import ModelInfo, RenderState
from ganstudio.engine.interpolation import endpoint_state
from ganstudio.engine.transforms import interpolation_changes
from ganstudio.engine.app_core import StateChange
from ganstudio.gui.panels._base import Panel
from ganstudio.gui.widgets import FloatSlider


T_MEMORY = 1024  # interpolated states whose t the slider can return to on undo (a drag makes ~100)


class InterpolationPanel(Panel):
    title = "Interpolation"
    preview_fields = frozenset()

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, parent)
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.combo_a, self.combo_b = QComboBox(), QComboBox()
        self.mode = QComboBox()
        self.mode.addItem("slerp (spherical)", "slerp")
        self.mode.addItem("lerp (linear)", "lerp")
        form.addRow("From (A)", self.combo_a)
        form.addRow("To (B)", self.combo_b)
        form.addRow("Path", self.mode)
        lay.addLayout(form)
        row = QHBoxLayout()
        self.set_a, self.set_b = QPushButton("Bookmark current as A"), QPushButton("… as B")
        row.addWidget(self.set_a)
        row.addWidget(self.set_b)
        lay.addLayout(row)
        self.t = FloatSlider("t", 0, 1, 0.0, steps=100, fmt="{:.2f}")
        lay.addWidget(self.t)
        prow = QHBoxLayout()
        self.play_btn = QPushButton("▶ Play")
        self.play_btn.setCheckable(True)
        self.status = QLabel("Bookmark two states (Gallery or the buttons above).")
        self.status.setWordWrap(True)
        prow.addWidget(self.play_btn)
        prow.addWidget(self.status, 1)
        lay.addLayout(prow)
        lay.addStretch(1)
        self.timer = QTimer(self)
        self.timer.setInterval(40)
        self.timer.timeout.connect(self._tick)
        self._played = None  # the state the last frame of Play asked for
        self._t_of: OrderedDict[RenderState, float] = OrderedDict()  # interpolated state -> its t
        # Any other change while playing (Undo, a seed, another panel) stops Play: the next frame
        # would otherwise push a new step over it, wiping the undo and its redo.
        self.app.state_changed.connect(self._stop_if_changed_elsewhere)
        self._direction = 1.0
        self._endpoints: Optional[tuple] = None  # (key, latent A, latent B, space)
        self.t.valueChanged.connect(self.set_t)
        self.t.released.connect(self.app.end_gesture)
        self.play_btn.toggled.connect(self.play)
        self.combo_a.currentIndexChanged.connect(lambda _: self._prepare())
        self.combo_b.currentIndexChanged.connect(lambda _: self._prepare())
        self.mode.currentIndexChanged.connect(lambda _: self.set_t(self.t.value()))
        self.set_a.clicked.connect(lambda: self._bookmark_as(self.combo_a))
        self.set_b.clicked.connect(lambda: self._bookmark_as(self.combo_b))
        self.app.bookmarks_changed.connect(self._fill)

    def _fill(self) -> None:
        before = getattr(self, "_listed", [])
        for combo in (self.combo_a, self.combo_b):
            keep = combo.currentIndex()
            chosen = before[keep] if 0 <= keep < len(before) else None
            # The same bookmark stays chosen when others are added or deleted (not the same row number).
            at = next((i for i, b in enumerate(self.app.bookmarks) if chosen is not None and b.uid == chosen.uid),
                      None)
            was = combo.blockSignals(True)
            combo.clear()
            for i, b in enumerate(self.app.bookmarks):
                combo.addItem(b.name or f"#{i + 1}  seed {b.state.seed}", i)
            combo.setCurrentIndex(at if at is not None else min(max(keep, 0), combo.count() - 1))
            combo.blockSignals(was)
        self._listed = list(self.app.bookmarks)
        if self.combo_b.count() > 1 and self.combo_b.currentIndex() == self.combo_a.currentIndex():
            self.combo_b.setCurrentIndex(self.combo_b.count() - 1)
        self._prepare()

    def _bookmark_as(self, combo) -> None:
        self.app.core.bookmark_current(self.ctx.displayed_image(self.state))
        combo.setCurrentIndex(combo.count() - 1)

    def pair(self):
        a, b = self.combo_a.currentData(), self.combo_b.currentData()
        if a is None or b is None or a == b or max(a, b) >= len(self.app.bookmarks):
            return None
        return self.app.bookmarks[a].state, self.app.bookmarks[b].state

    def _prepare(self) -> None:
        """Compute both endpoint latents once, off the GUI thread; each t is then a cheap blend."""
        self._endpoints = None
        pair = self.pair()
        if pair is None or not self.supported:
            self.status.setText("Choose two different bookmarks.")
            return
        a, b = pair
        if a.model != self.state.model or b.model != self.state.model:
            self.status.setText("Both bookmarks must belong to the current model.")
            return
        renderer, key = self.ctx.render, self.state.model
        # Interpolate z unless a bookmark only has an explicit ws (arithmetic in w): then interpolate ws.
        space = "ws" if (a.ws is not None or b.ws is not None) else "z"

        def compute():
            la, lb = renderer.latents(endpoint_state(a)), renderer.latents(endpoint_state(b))
            pick = 2 if space == "ws" else 0
            return key, la[pick][0].cpu(), lb[pick][0].cpu(), space

        def done(result):
            self._endpoints = result
            self.status.setText(f"Interpolating {space} between seeds {a.seed} and {b.seed}.")
        self.status.setText("Preparing…")
        self.run_job("endpoints", compute, done)

    def latent_at(self, t: float) -> Optional[torch.Tensor]:
        if self._endpoints is None or self._endpoints[0] != self.state.model:
            return None
        _, za, zb, _ = self._endpoints
        return latent.slerp(za, zb, t) if self.mode.currentData() == "slerp" else latent.lerp(za, zb, t)

    def set_t(self, t: float) -> None:
        x = self.latent_at(t)
        pair = self.pair()
        if x is None or pair is None:
            return
        changes = interpolation_changes(x, self._endpoints[3], pair, t, bool(self.info.c_dim))
        self._played = self.state.replace(**changes)
        self._t_of[self._played] = t
        while len(self._t_of) > T_MEMORY:
            self._t_of.popitem(last=False)
        self.edit("Interpolate", merge="interp", **changes)

    def sync(self, state: RenderState) -> None:
        # Undo / redo back to an interpolated image puts the slider back at its t.
        t = self._t_of.get(state)
        if t is not None:
            self.t.set_value(t, quiet=True)

    def _stop_if_changed_elsewhere(self, change: StateChange) -> None:
        if self.timer.isActive() and change.source is not self:
            self.play_btn.setChecked(False)

    def play(self, on: bool) -> None:
        self.play_btn.setText("■ Stop" if on else "▶ Play")
        if on:
            self.timer.start()
        else:
            self.timer.stop()
            self.app.end_gesture()

    def _tick(self) -> None:
        t = self.t.value() + 0.02 * self._direction
        if t >= 1 or t <= 0:
            self._direction = -self._direction
            t = min(max(t, 0.0), 1.0)
        self.t.set_value(t)

    def model_changed(self, info: ModelInfo) -> None:
        self.play_btn.setChecked(False)
        self.play(False)
        self._fill()
