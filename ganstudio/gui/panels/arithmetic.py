"""Vector arithmetic (Radford et al. 2016, Fig. 7): pick samples into bins A, B, C; show A − B + C and variations."""
from __future__ import annotations

import random

import torch
from PySide6.QtWidgets import (QButtonGroup, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton, QRadioButton,
                               QVBoxLayout)

from ganstudio.engine import ModelInfo, RenderState
from ganstudio.engine.transforms import arithmetic_latent, arithmetic_variations, as_tuple, samples_base
from ganstudio.gui.panels._base import Panel
from ganstudio.gui.widgets import SEED_MAX, CarryEditsChoice, SeedBox, ThumbGrid

BINS = ("A", "B", "C")
GRID = 12  # candidate samples
VARIATIONS = 6
VARIATION_SIGMA = 0.25  # noise added to the result for the variations row


class ArithmeticPanel(Panel):
    title = "Vector arithmetic"

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, parent)
        lay = QVBoxLayout(self)
        top = QHBoxLayout()
        self.base_seed = SeedBox(SEED_MAX - GRID)
        self.base_seed.setPrefix("samples from seed ")
        self.base_seed.setKeyboardTracking(False)
        self.shuffle_btn = QPushButton("New samples")
        top.addWidget(self.base_seed, 1)
        top.addWidget(self.shuffle_btn)
        lay.addLayout(top)
        brow = QHBoxLayout()
        brow.addWidget(QLabel("Click a sample to add it to"))
        self.bin_group = QButtonGroup(self)
        for i, name in enumerate(BINS):
            rb = QRadioButton(name)
            rb.setChecked(i == 0)
            self.bin_group.addButton(rb, i)
            brow.addWidget(rb)
        brow.addStretch(1)
        lay.addLayout(brow)
        self.samples = ThumbGrid(cols=6, cell=56)
        lay.addWidget(self.samples)
        self.carry_edits = CarryEditsChoice()
        lay.addWidget(self.carry_edits)
        bins_box = QGroupBox("Bins (each bin's latents are averaged)")
        bl = QGridLayout(bins_box)
        self.bin_views, self.bin_labels = [], []
        for i, name in enumerate(BINS):
            sign = "" if i == 0 else "−" if i == 1 else "+"
            bl.addWidget(QLabel(f"{sign} {name}"), i, 0)
            view = ThumbGrid(cols=4, cell=40)
            view.placeholder = "empty"
            view.clicked.connect(lambda j, i=i: self.remove_from_bin(i, j))
            bl.addWidget(view, i, 1)
            clear = QPushButton("Clear")
            clear.clicked.connect(lambda _=False, i=i: self.clear_bin(i))
            bl.addWidget(clear, i, 2)
            self.bin_views.append(view)
        bl.setColumnStretch(1, 1)
        lay.addWidget(bins_box)
        rrow = QHBoxLayout()
        self.compute_btn = QPushButton("Show A − B + C")
        self.space_label = QLabel()
        self.space_label.setWordWrap(True)  # status and error texts: long ones must not widen the dock
        rrow.addWidget(self.compute_btn)
        rrow.addWidget(self.space_label, 1)
        lay.addLayout(rrow)
        self.variations = ThumbGrid(cols=VARIATIONS, cell=56)
        self.variations.placeholder = "result variations appear here"
        lay.addWidget(self.variations)
        lay.addStretch(1)
        self.bins: list[list[int]] = [[], [], []]
        self.result = None  # the last A - B + C latent (torch, CPU)
        self._variation_latents: list = []

        self.base_seed.valueChanged.connect(lambda _: self.schedule_refresh())
        self.carry_edits.toggled.connect(self._carry_toggled)
        self.shuffle_btn.clicked.connect(lambda: self.base_seed.setValue(random.randrange(100000)))
        self.samples.clicked.connect(self.add_sample)
        self.compute_btn.clicked.connect(self.compute)
        self.variations.clicked.connect(self.use_variation)

    def space(self) -> str:
        return "ws" if self.info.capabilities.style_layers else "z"

    def sample_seeds(self) -> list[int]:
        return list(range(self.base_seed.value(), self.base_seed.value() + GRID))

    # -- bins ----------------------------------------------------------------------------------
    def add_sample(self, index: int) -> None:
        self.add_to_bin(self.bin_group.checkedId(), self.sample_seeds()[index])

    def add_to_bin(self, b: int, seed: int) -> None:
        self.bins[b].append(int(seed))
        self._show_bins()

    def remove_from_bin(self, b: int, j: int) -> None:
        if 0 <= j < len(self.bins[b]):  # a second click may land before the bin's view re-renders
            del self.bins[b][j]
            self._show_bins()

    def clear_bin(self, b: int) -> None:
        self.bins[b] = []
        self._show_bins()

    def _show_bins(self) -> None:
        renderer, state = self.ctx.render, samples_base(self.state, self.carry_edits.carry())
        for b, seeds in enumerate(self.bins):
            if not seeds:
                self.bin_views[b].set_images(None)
                continue

            def done(res, b=b, seeds=list(seeds)):
                if res.image is not None and self.bins[b] == seeds:
                    self.bin_views[b].set_images(res.image, labels=[str(s) for s in seeds])
            self.run_job(f"bin{b}", lambda s=list(seeds): renderer.render(state, s), done)
        self.compute_btn.setEnabled(all(self.bins))

    # -- result --------------------------------------------------------------------------------
    def compute(self) -> None:
        """A − B + C on z (or on ws for style models) -> the main state; then a row of variations."""
        if not all(self.bins):
            self.ctx.report_error("Vector arithmetic: put at least one sample in each of A, B and C")
            return
        render, state, space, bins = self.ctx.render, self.state, self.space(), [list(b) for b in self.bins]

        def compute():
            return arithmetic_latent(render, state, bins, space)

        self.space_label.setText("Computing…")
        self.run_job("result", compute, lambda result, model=state.model: self._show_result(result, model))

    def _show_result(self, result: torch.Tensor, model: str) -> None:
        if model != self.state.model:  # the model changed while computing: these latents are not its own
            return
        self.result = result
        space = self.space()
        self.edit("A − B + C", **{space: as_tuple(result), ("z" if space == "ws" else "ws"): None})
        self.space_label.setText(f"Result in {'w' if space == 'ws' else 'z'} space; "
                                 "below: result + small noise (click to open).")
        self._variation_latents = arithmetic_variations(result, VARIATIONS, VARIATION_SIGMA)
        states = [self.state.replace(**{space: as_tuple(x)}) for x in self._variation_latents]
        renderer = self.ctx.render

        def done(res):
            if res.image is not None:
                self.variations.set_images(res.image)
        self.run_job("variations", lambda: renderer.render_batch(states), done)

    def use_variation(self, i: int) -> None:
        if i < len(self._variation_latents):
            self.edit("Arithmetic variation", **{self.space(): as_tuple(self._variation_latents[i])})

    # -- hooks ---------------------------------------------------------------------------------
    def model_changed(self, info: ModelInfo) -> None:
        self.bins = [[], [], []]
        self.result, self._variation_latents = None, []
        self.samples.set_images(None)
        self.variations.set_images(None)
        self._show_bins()
        self.space_label.setText(f"arithmetic on {'w' if self.space() == 'ws' else 'z'}")

    def _carry_toggled(self) -> None:
        self.carry_edits.show_for(self.state)
        self._show_bins()
        self.schedule_refresh()

    def sync(self, state: RenderState) -> None:
        self.carry_edits.show_for(state)

    def refresh(self) -> None:
        renderer, seeds = self.ctx.render, self.sample_seeds()
        state = samples_base(self.state, self.carry_edits.carry())

        def done(res):
            if res.image is not None:
                self.samples.set_images(res.image, labels=[str(s) for s in seeds])
        self.run_job("samples", lambda: renderer.render(state, seeds), done)
