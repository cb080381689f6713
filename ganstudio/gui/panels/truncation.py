"""Truncation: psi with a cutoff layer (w truncation) or a z threshold, and a row of samples rendered as one batch."""
from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QLineEdit, QSpinBox, QVBoxLayout

from ganstudio import latent
from ganstudio.engine import ModelInfo, RenderState
from ganstudio.engine.transforms import samples_base
from ganstudio.engine.app_core import StateChange
from ganstudio.gui.panels._base import Panel
from ganstudio.gui.widgets import CarryEditsChoice, FloatSlider, ThumbGrid

DEFAULT_SEEDS = "0-7"
THRESHOLD_RANGE = (0.05, 2.0)  # BigGAN's resampling threshold
SCALED_MIN = 0.02  # BigGAN-deep's truncation scale, up to 1


class TruncationPanel(Panel):
    title = "Truncation"
    sync_fields = frozenset({"truncation_psi", "truncation_cutoff", "z_threshold", "edits"})

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, parent)
        lay = QVBoxLayout(self)
        self.kind_label = QLabel()
        self.kind_label.setWordWrap(True)
        lay.addWidget(self.kind_label)
        self.psi = FloatSlider("ψ (psi)", -1.0, 2.0, 1.0, steps=300)
        lay.addWidget(self.psi)
        crow = QHBoxLayout()
        self.cutoff = QSpinBox()
        self.cutoff.setSpecialValueText("all layers")
        self.cutoff_label = QLabel("Cutoff: psi applies to layers below")
        crow.addWidget(self.cutoff_label)
        crow.addWidget(self.cutoff)
        lay.addLayout(crow)
        trow = QHBoxLayout()
        self.threshold_on = QCheckBox("Truncate z")
        self.threshold = FloatSlider("threshold", *THRESHOLD_RANGE, 0.5, steps=195)
        trow.addWidget(self.threshold_on)
        trow.addWidget(self.threshold, 1)
        lay.addLayout(trow)
        srow = QHBoxLayout()
        srow.addWidget(QLabel("Samples: seeds"))
        self.seeds_edit = QLineEdit(DEFAULT_SEEDS)
        srow.addWidget(self.seeds_edit, 1)
        lay.addLayout(srow)
        self.samples = ThumbGrid(cols=4, cell=72)
        lay.addWidget(self.samples)
        self.carry_edits = CarryEditsChoice()
        lay.addWidget(self.carry_edits)
        self.samples_label = QLabel()
        self.samples_label.setWordWrap(True)  # status and error texts: long ones must not widen the dock
        lay.addWidget(self.samples_label)
        lay.addStretch(1)

        self.psi.valueChanged.connect(lambda v: self.edit(f"ψ {v:.2f}", merge="psi", truncation_psi=v))
        self.psi.released.connect(self.app.end_gesture)
        self.cutoff.valueChanged.connect(
            lambda v: self.edit("Truncation cutoff", truncation_cutoff=None if v == 0 else int(v)))
        self.threshold.valueChanged.connect(self._on_threshold)
        self.threshold.released.connect(self.app.end_gesture)
        self.threshold_on.toggled.connect(lambda _: self._on_threshold(self.threshold.value()))
        self.seeds_edit.editingFinished.connect(self.schedule_refresh)
        self.samples.clicked.connect(self._pick_sample)
        self.carry_edits.toggled.connect(lambda _: (self.carry_edits.show_for(self.state), self.schedule_refresh()))

    def unsupported(self, info: ModelInfo) -> str:
        if info.capabilities.truncation not in ("w", "z"):
            return "the model declares no truncation trick (capabilities().truncation is None)."
        return ""

    def _on_threshold(self, v: float) -> None:
        value = float(v) if self.threshold_on.isChecked() else None
        self.edit("z threshold", merge="threshold", z_threshold=value)

    def sample_seeds(self) -> list[int]:
        try:
            seeds = latent.parse_seeds(self.seeds_edit.text())[:16]
        except ValueError as e:
            self.samples_label.setText(str(e))
            return []
        return seeds

    def _pick_sample(self, i: int) -> None:
        # The seed drawn in that cell, not a re-read of the text box (it may have changed since).
        shown = self.samples.labels
        if 0 <= i < len(shown) and shown[i].isdigit():
            seed = int(shown[i])
            base = samples_base(self.state, self.carry_edits.carry())  # open what the cell shows
            self.edit(f"Seed {seed}", seed=seed, z=None, ws=None, edits=base.edits)

    def model_changed(self, info: ModelInfo) -> None:
        w = info.capabilities.truncation == "w"
        for widget in (self.psi, self.cutoff, self.cutoff_label):
            widget.setVisible(w)
        for widget in (self.threshold, self.threshold_on):
            widget.setVisible(not w)
        self.cutoff.setRange(0, info.num_ws)
        scaled = info.capabilities.z_truncation == "scaled"
        # The release's truncation is a scale in (0, 1] (its BatchNorm statistics exist for no other).
        self.threshold.set_range(*((SCALED_MIN, 1.0) if scaled else THRESHOLD_RANGE))
        self.threshold.label.setText("truncation" if scaled else "threshold")
        self.kind_label.setText(
            "Truncation trick in w (StyleGAN): w = w_avg + ψ (w − w_avg). ψ = 0 gives the average image, "
            "ψ = 1 the untruncated sample." if w else
            "Truncated z (BigGAN-deep release): z is a normal truncated to [−2, 2] times the truncation, which "
            "also picks the BatchNorm statistics; smaller values trade diversity for fidelity." if scaled else
            "Truncated z (BigGAN): components of z beyond ± threshold are resampled; smaller thresholds trade "
            "diversity for fidelity.")
        self.samples.set_images(None)

    def sync(self, state: RenderState) -> None:
        self.carry_edits.show_for(state)
        self.psi.set_value(state.truncation_psi, quiet=True)
        self.cutoff.setValue(state.truncation_cutoff or 0)
        self.threshold_on.setChecked(state.z_threshold is not None)
        if state.z_threshold is not None:
            self.threshold.set_value(state.z_threshold, quiet=True)

    def refresh(self) -> None:
        seeds, renderer = self.sample_seeds(), self.ctx.render
        if not seeds:
            return
        state = samples_base(self.state, self.carry_edits.carry())

        def done(res):
            if res.image is None:
                self.samples_label.setText(res.error)
                return
            self.samples.set_images(res.image, cols=min(len(seeds), 8 if len(seeds) > 8 else 4),
                                    labels=[str(s) for s in seeds])
            what = (f"ψ = {state.truncation_psi:.2f}" if self.info.capabilities.truncation == "w" else
                    f"{self.threshold.label.text()} = {state.z_threshold:.2f}" if state.z_threshold is not None
                    else "no truncation")
            self.samples_label.setText(f"{len(seeds)} samples at {what}, one batch, {res.render_ms:.0f} ms "
                                       "(click one to open it)")
        self.samples_label.setText(f"Rendering {len(seeds)} samples…")  # seconds on a big model
        self.run_job("samples", lambda: renderer.render(state, seeds), done, busy=f"Rendering {len(seeds)} samples")

    def edited(self, change: StateChange) -> None:
        self.carry_edits.show_for(change.new)  # a sample picked may have dropped the edits
