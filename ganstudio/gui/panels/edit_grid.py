"""Edit grid: the current edit applied to N other seeds at once, following the sliders.

Each cell is the current state at another seed (its edits, library directions, InfoGAN codes,
class, truncation, mixing and noise; an explicit latent gives way to the seed), so a researcher
sees whether an edit does the same thing everywhere.  With "before / after" the plain seeds
render above.  The grid is a low-priority preview: it renders through the render service after
the main image, in pieces, and a newer request (a slider moved on) drops the one in flight.
"""
from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout

from ganstudio.engine import ModelInfo, RenderState
from ganstudio.engine.transforms import describe_edits
from ganstudio.engine.user_directions import plain_seed
from ganstudio.gui.panels._base import Panel
from ganstudio.gui.widgets import SEED_MAX, SeedBox, ThumbGrid

MIN_SEEDS, MAX_SEEDS = 4, 16


def grid_states(state: RenderState, first_seed: int, n: int, before: bool) -> list[RenderState]:
    """The states the grid shows: ``n`` seeds from ``first_seed`` with the current edit (the plain seeds
    first when ``before``)."""
    seeds = [min(first_seed + k, SEED_MAX) for k in range(n)]
    edited = [state.replace(seed=s, z=None, ws=None) for s in seeds]
    return ([plain_seed(e) for e in edited] if before else []) + edited


class EditGridPanel(Panel):
    title = "Edit grid"
    preview_fields = None  # any change of the state may change the edit the grid shows

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, parent)
        lay = QVBoxLayout(self)
        intro = QLabel("The current edit on other seeds: does it do the same thing everywhere?")
        intro.setWordWrap(True)
        lay.addWidget(intro)
        row = QHBoxLayout()
        self.count = QSpinBox()
        self.count.setRange(MIN_SEEDS, MAX_SEEDS)
        self.count.setValue(8)
        self.first = SeedBox()
        self.follow = QCheckBox("after the current seed")
        self.follow.setChecked(True)
        self.follow.setToolTip("The seeds after the current one; off: the seeds from the number on the left")
        self.before = QCheckBox("before / after")
        self.before.setToolTip("The plain seeds in the row above their edited images")
        for w in (QLabel("Seeds"), self.count, QLabel("from"), self.first, self.follow, self.before):
            row.addWidget(w)
        row.addStretch(1)
        lay.addLayout(row)
        self.grid = ThumbGrid(cols=4, cell=72)
        lay.addWidget(self.grid)
        self.status = QLabel()
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        lay.addStretch(1)
        self.shown_states: list[RenderState] = []  # what the grid shows now (tests read it)
        self.count.valueChanged.connect(lambda _: self.schedule_refresh())
        self.first.valueChanged.connect(lambda _: self.schedule_refresh())
        self.before.toggled.connect(lambda _: self.schedule_refresh())
        self.follow.toggled.connect(self._on_follow)
        self._on_follow(True)

    def _on_follow(self, on: bool) -> None:
        self.first.setEnabled(not on)
        self.schedule_refresh()

    def model_changed(self, info: ModelInfo) -> None:
        self.grid.set_images(None)
        self.shown_states = []

    def first_seed(self) -> int:
        return min(self.state.seed + 1, SEED_MAX) if self.follow.isChecked() else self.first.value()

    def refresh(self) -> None:
        n, before = self.count.value(), self.before.isChecked()
        states = grid_states(self.state, self.first_seed(), n, before)
        render, model = self.ctx.render, self.state.model
        cols = min(n, 4 if n <= 8 else 8)  # 8 seeds in rows of 4: cells large enough to read an edit

        def done(res) -> None:
            if self.state.model != model:
                return  # rendered for the previous model
            if res.image is None:
                self.status.setText(f"Edit grid: {res.error.splitlines()[0] if res.error else 'failed'}")
                return
            labels = [(f"seed {s.seed}" if not before else f"{'plain' if k < n else 'edit'} {s.seed}")
                      for k, s in enumerate(states)]
            if before and n > cols:  # plain and edited rows of the same seeds stay aligned
                order = [k for r in range(0, n, cols) for k in list(range(r, min(r + cols, n)))
                         + list(range(n + r, n + min(r + cols, n)))]
                images, labels = res.image[order], [labels[k] for k in order]
                ordered = [states[k] for k in order]
            else:
                images, ordered = res.image, states
            self.grid.set_images(images, cols=cols, labels=labels)
            self.shown_states = ordered
            what = describe_edits(states[-1]) or "no edit (the plain seeds)"
            self.status.setText(f"{n} seeds from {states[-1 - (n - 1)].seed}: {what}")
        self.run_job("grid", lambda: render.render_batch(states), done,
                     on_fail=lambda m: self.status.setText(f"Edit grid: {m.splitlines()[0]}"))
