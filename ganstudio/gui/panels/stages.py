"""Progressive GAN stages: which resolution the generator runs at and how far the newest stage has faded in.

The generator always returns full-size images (a low stage is nearest-upsampled), so the view
shows the coarse image as big blocks.  A strip renders the current latent at every stage.
"""
from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSlider, QStyle, QVBoxLayout, QWidget

from ganstudio.engine import ModelInfo, RenderState
from ganstudio.engine.app_core import StateChange
from ganstudio.gui.panels._base import Panel
from ganstudio.gui.widgets import FloatSlider, ThumbGrid


def stage_resolutions(info: ModelInfo) -> list[int]:
    """Native resolution of each stage: the last one is the model's, each earlier one half of the next."""
    n = info.num_stages
    return [max(1, info.resolution >> (n - 1 - s)) for s in range(n)]


def own_stage(info: ModelInfo) -> tuple[int, float]:
    """The (stage, alpha) a checkpoint was saved at: what the engine renders when the state sets none."""
    own = getattr(info, "own_stage", None)
    if own is not None:
        return int(own[0]), float(own[1])
    training = (info.meta or {}).get("training")
    if isinstance(training, dict) and isinstance(training.get("stage"), int):
        return min(max(training["stage"], 0), info.num_stages - 1), float(training.get("alpha", 1.0))
    return info.num_stages - 1, 1.0


class StageTicks(QWidget):
    """Resolution labels ("4 px", "8 px" ...) centred under the ticks of the slider above."""

    def __init__(self, slider: QSlider, parent=None):
        super().__init__(parent)
        self.slider = slider
        self.labels: list[str] = []

    def set_labels(self, labels: list[str]) -> None:
        self.labels = list(labels)
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(100, self.fontMetrics().height() + 2)

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()

    def tick_x(self, i: int) -> float:
        # The handle's centre travels between half a handle length from either end.
        half = self.slider.style().pixelMetric(QStyle.PM_SliderLength, None, self.slider) / 2
        n = max(1, len(self.labels) - 1)
        return half + i / n * (self.width() - 2 * half)

    def paintEvent(self, _):
        p = QPainter(self)
        fm = self.fontMetrics()
        for i, text in enumerate(self.labels):
            w = fm.horizontalAdvance(text) + 2
            x = min(max(self.tick_x(i) - w / 2, 0), self.width() - w)
            p.drawText(QRectF(x, 0, w, self.height()), Qt.AlignCenter, text)


class StagePanel(Panel):
    title = "Stages"
    sync_fields = frozenset({"stage", "stage_alpha"})

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, parent)
        lay = QVBoxLayout(self)
        note = QLabel("Progressive GANs grow from 4 px by adding layers; each new stage fades in over the "
                      "previous one (α from 0 to 1). Pick the stage the generator runs at.")
        note.setWordWrap(True)
        lay.addWidget(note)
        self.heading = QLabel()
        self.heading.setWordWrap(True)  # status and error texts: long ones must not widen the dock
        self.heading.setStyleSheet("font-weight: bold")
        lay.addWidget(self.heading)
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setTickPosition(QSlider.TicksBelow)
        self.slider.setTickInterval(1)
        self.slider.setPageStep(1)
        lay.addWidget(self.slider)
        self.ticks = StageTicks(self.slider)
        lay.addWidget(self.ticks)
        self.alpha = FloatSlider("Fade-in α", 0.0, 1.0, 1.0, steps=100, fmt="{:.2f}")
        lay.addWidget(self.alpha)
        row = QHBoxLayout()
        self.own_btn = QPushButton("Model's own stage")
        self.own_btn.setToolTip("Render at the stage stored in the checkpoint (the full resolution once trained)")
        row.addWidget(self.own_btn)
        row.addStretch(1)
        lay.addLayout(row)
        lay.addWidget(QLabel("Every stage of this latent (α = 1; click one to view it):"))
        self.strip = ThumbGrid(cols=4, cell=72)
        lay.addWidget(self.strip)
        self.status = QLabel()
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        lay.addStretch(1)
        self.resolutions: list[int] = []

        self.slider.valueChanged.connect(self._on_stage)
        self.slider.sliderReleased.connect(self.app.end_gesture)
        self.alpha.valueChanged.connect(self._on_alpha)
        self.alpha.released.connect(self.app.end_gesture)
        self.own_btn.clicked.connect(lambda: self.edit("Model's own stage", stage=None, stage_alpha=1.0))
        self.strip.clicked.connect(lambda s: self.set_stage(s, 1.0))

    def unsupported(self, info: ModelInfo) -> str:
        if not info.capabilities.progressive:
            return "the model does not grow progressively (capabilities().progressive is False)."
        if info.num_stages < 1:
            return "the model reports no stages (num_stages is 0)."
        return ""

    def set_stage(self, stage: int, alpha: float = 1.0) -> None:
        """Run at ``stage`` (0 = the coarsest) with fade-in ``alpha``, as one undoable edit."""
        self.edit(f"Stage {stage} ({self.resolutions[stage]} px)", stage=int(stage), stage_alpha=float(alpha))

    def _on_stage(self, stage: int) -> None:
        self.alpha.setEnabled(stage > 0)
        self.edit(f"Stage {stage} ({self.resolutions[stage]} px)", merge="stage", stage=int(stage),
                  stage_alpha=self.alpha.value())

    def _on_alpha(self, alpha: float) -> None:
        self.edit(f"Fade-in α {alpha:.2f}", merge="stage_alpha", stage=int(self.slider.value()),
                  stage_alpha=float(alpha))

    def model_changed(self, info: ModelInfo) -> None:
        self.resolutions = stage_resolutions(info)
        self.slider.setRange(0, info.num_stages - 1)
        self.ticks.set_labels([f"{r} px" for r in self.resolutions])
        self.strip.cols = info.num_stages
        self.strip.set_images(None)

    def sync(self, state: RenderState) -> None:
        stage, alpha = (state.stage, state.stage_alpha) if state.stage is not None else own_stage(self.info)
        # A session may name a stage this model lacks: the render says so; the panel shows the nearest.
        stage = min(max(int(stage), 0), len(self.resolutions) - 1)
        was = self.slider.blockSignals(True)
        self.slider.setValue(stage)
        self.slider.blockSignals(was)
        self.alpha.set_value(alpha, quiet=True)
        self.alpha.setEnabled(stage > 0)
        r = self.resolutions[stage]
        fading = f", fading in from {self.resolutions[stage - 1]} px (α {alpha:.2f})" if stage and alpha < 1 else ""
        own = " — the model's own" if state.stage is None else ""
        self.heading.setText(f"Stage {stage} of {len(self.resolutions) - 1}: {r}×{r} px{fading}{own}")
        self.strip.selected = {stage}
        self.strip.update()

    def refresh(self) -> None:
        renderer, state, n = self.ctx.render, self.state, len(self.resolutions)

        def work():
            # The engine sets the stage on every render, so the strip leaves no trace on the shared net.
            return [renderer.render(state.replace(stage=s, stage_alpha=1.0)) for s in range(n)]

        def done(results):
            bad = next((r.error for r in results if r.image is None), "")
            if bad:
                self.status.setText(bad)
                return
            import numpy as np
            self.strip.set_images(np.stack([r.image for r in results]), cols=n,
                                  labels=[f"{r} px" for r in self.resolutions])
            self.status.setText("")
        self.run_job("strip", work, done)

    def edited(self, change: StateChange) -> None:
        self._sync_now()  # its buttons change what its other widgets show
