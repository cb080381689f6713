"""Style mixing: per-layer source selection with coarse / middle / fine presets, and the StyleGAN paper's grid."""
from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import (QComboBox, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QPushButton,
                               QVBoxLayout)

from ganstudio import latent
from ganstudio.engine import ModelInfo, RenderState
from ganstudio.engine.transforms import preset_sources, samples_base
from ganstudio.engine.app_core import StateChange
from ganstudio.gui.panels._base import Panel
from ganstudio.gui.widgets import CarryEditsChoice, ThumbGrid

GRID_PRESETS = ("coarse", "middle", "fine", "all")


class MixingPanel(Panel):
    title = "Style mixing"
    sync_fields = frozenset({"mix_seeds", "mix_sources", "edits"})

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, parent)
        lay = QVBoxLayout(self)
        srow = QHBoxLayout()
        srow.addWidget(QLabel("Mix seeds"))
        self.mix_seeds_edit = QLineEdit("1, 2")
        self.mix_seeds_edit.setToolTip("Seeds of the extra latents layers can take their style from")
        srow.addWidget(self.mix_seeds_edit, 1)
        lay.addLayout(srow)
        frow = QHBoxLayout()
        self.preset_source = QComboBox()
        frow.addWidget(QLabel("Presets take layers from"))
        frow.addWidget(self.preset_source, 1)
        lay.addLayout(frow)
        prow = QHBoxLayout()
        self.preset_buttons = {}
        for name in GRID_PRESETS:
            b = QPushButton(name.capitalize())
            b.clicked.connect(lambda _=False, n=name: self.apply_preset(n))
            prow.addWidget(b)
            self.preset_buttons[name] = b
        self.reset_btn = QPushButton("Reset")
        prow.addWidget(self.reset_btn)
        lay.addLayout(prow)
        self.layers_box = QGroupBox("Per-layer source")
        self.layers_grid = QGridLayout(self.layers_box)
        self.layer_combos: list[QComboBox] = []
        lay.addWidget(self.layers_box)

        gbox = QGroupBox("Mixing grid (Karras et al. 2019, Fig. 3)")
        gl = QVBoxLayout(gbox)
        g1 = QGridLayout()
        self.row_seeds, self.col_seeds = QLineEdit("10-12"), QLineEdit("20-23")
        self.grid_preset = QComboBox()
        self.grid_preset.addItems(GRID_PRESETS)
        g1.addWidget(QLabel("Row seeds"), 0, 0)
        g1.addWidget(self.row_seeds, 0, 1)
        g1.addWidget(QLabel("Column seeds"), 0, 2)
        g1.addWidget(self.col_seeds, 0, 3)
        g1.addWidget(QLabel("Layers from column"), 1, 0, 1, 2)
        g1.addWidget(self.grid_preset, 1, 2, 1, 2)
        gl.addLayout(g1)
        self.grid_note = QLabel()
        self.grid_note.setWordWrap(True)
        gl.addWidget(self.grid_note)
        self.grid = ThumbGrid(cols=5, cell=52)
        gl.addWidget(self.grid)
        self.carry_edits = CarryEditsChoice()
        gl.addWidget(self.carry_edits)
        lay.addWidget(gbox)
        lay.addStretch(1)

        self.mix_seeds_edit.editingFinished.connect(self._on_mix_seeds)
        self.reset_btn.clicked.connect(lambda: self.edit("Reset style mixing", mix_sources=None))
        for w in (self.row_seeds, self.col_seeds):
            w.editingFinished.connect(self.schedule_refresh)
        self.grid_preset.currentIndexChanged.connect(lambda _: self.schedule_refresh())
        self.grid.clicked.connect(self._on_grid_click)
        self.carry_edits.toggled.connect(lambda _: (self.carry_edits.show_for(self.state), self.schedule_refresh()))

    def unsupported(self, info: ModelInfo) -> str:
        caps = info.capabilities
        if not caps.style_layers or info.num_ws < 2 or len(caps.layer_resolutions) != info.num_ws:
            return "the model has no per-layer styles (capabilities().style_layers is off)."
        return ""

    # -- sources -------------------------------------------------------------------------------
    def mix_seeds(self) -> tuple[int, ...]:
        try:
            return tuple(latent.parse_seeds(self.mix_seeds_edit.text().replace(" ", ""))[:8])
        except ValueError as e:
            self.ctx.report_error(f"Mix seeds: {e}")
            return self.state.mix_seeds or (1,)

    def _sources(self) -> tuple[int, ...]:
        return self.state.mix_sources or (0,) * self.info.num_ws

    def _on_mix_seeds(self) -> None:
        seeds = self.mix_seeds()
        sources = self.state.mix_sources
        if sources is not None:
            sources = tuple(s if s <= len(seeds) else 0 for s in sources)
        self.edit("Mix seeds", mix_seeds=seeds, mix_sources=sources)

    def set_layer_source(self, layer: int, source: int) -> None:
        sources = list(self._sources())
        sources[layer] = source
        mix = self.state.mix_seeds or self.mix_seeds()
        self.edit(f"Layer {layer} source", mix_seeds=mix, mix_sources=None if not any(sources) else tuple(sources))

    def apply_preset(self, name: str) -> None:
        mix = self.state.mix_seeds or self.mix_seeds()
        source = max(1, self.preset_source.currentIndex() + 1)
        self.edit(f"{name.capitalize()} styles from seed {mix[source - 1]}", mix_seeds=mix,
                  mix_sources=preset_sources(self.info, name, source))

    # -- grid ----------------------------------------------------------------------------------
    def grid_seeds(self) -> tuple[list[int], list[int]]:
        try:
            return (latent.parse_seeds(self.row_seeds.text())[:6], latent.parse_seeds(self.col_seeds.text())[:6])
        except ValueError as e:
            self.grid_note.setText(str(e))
            return [], []

    def grid_states(self) -> tuple[list[RenderState], list[int], list[int]]:
        """Column headers, row headers, then each row seed with the preset's layers from each column seed."""
        rows, cols = self.grid_seeds()
        base = samples_base(self.state, self.carry_edits.carry()).replace(z=None, ws=None, mix_seeds=(),
                                                                           mix_sources=None)
        sources = preset_sources(self.info, self.grid_preset.currentText())
        states = [base.replace(seed=c) for c in cols] + [base.replace(seed=r) for r in rows]
        states += [base.replace(seed=r, mix_seeds=(c,), mix_sources=sources) for r in rows for c in cols]
        return states, rows, cols

    def refresh(self) -> None:
        states, rows, cols = self.grid_states()
        if not rows or not cols:
            return
        renderer, preset = self.ctx.render, self.grid_preset.currentText()
        sources = preset_sources(self.info, preset)

        def done(res):
            if res.image is None:
                self.grid_note.setText(res.error)
                return
            nc, nr = len(cols), len(rows)
            top, left, cells = res.image[:nc], res.image[nc:nc + nr], res.image[nc + nr:]
            tiles = np.concatenate([np.zeros_like(top[:1]), top] + sum(
                [[left[r:r + 1], cells[r * nc:(r + 1) * nc]] for r in range(nr)], []))
            labels = [""] + [f"col {c}" for c in cols] + sum(
                [[f"row {r}"] + [""] * nc for r in rows], [])
            self.grid.set_images(tiles, cols=nc + 1, labels=labels, inactive=[0])
            # What the cells show: clicks open these (edits included or not), not what the text boxes say now.
            self._grid_shape = (rows, cols, sources, states[0].edits)
            self.grid_note.setText(f"Rows take their {preset} layers from the column seed "
                                   f"({res.render_ms:.0f} ms, one batch). Click a cell to open it.")
        self.run_job("grid", lambda: renderer.render_batch(states), done, busy=f"Rendering the {len(states)}-image mixing grid")

    def _on_grid_click(self, index: int) -> None:
        rows, cols, _, edits = getattr(self, "_grid_shape", ([], [], None, ()))
        r, c = index // (len(cols) + 1) - 1, index % (len(cols) + 1) - 1
        if r >= len(rows) or c >= len(cols):
            return
        if r < 0 and c >= 0:
            self.edit(f"Seed {cols[c]}", seed=cols[c], z=None, ws=None, mix_sources=None, edits=edits)
        elif c < 0 and r >= 0:
            self.edit(f"Seed {rows[r]}", seed=rows[r], z=None, ws=None, mix_sources=None, edits=edits)
        elif r >= 0 and c >= 0:
            self.click_cell(r, c)

    def click_cell(self, r: int, c: int) -> None:
        """Make grid cell (row r, column c), as drawn, the main image."""
        rows, cols, sources, edits = getattr(self, "_grid_shape", ([], [], None, ()))
        if not (0 <= r < len(rows) and 0 <= c < len(cols)):
            return
        self.edit(f"Mix {rows[r]} × {cols[c]}", seed=rows[r], z=None, ws=None, mix_seeds=(cols[c],),
                  mix_sources=sources, edits=edits)

    # -- hooks ---------------------------------------------------------------------------------
    def model_changed(self, info: ModelInfo) -> None:
        while self.layers_grid.count():
            self.layers_grid.takeAt(0).widget().deleteLater()
        self.layer_combos = []
        res = info.capabilities.layer_resolutions
        half = -(-info.num_ws // 2)
        for i in range(info.num_ws):
            combo = QComboBox()
            combo.currentIndexChanged.connect(lambda s, i=i: self.set_layer_source(i, s))
            label = QLabel(f"{i}: {res[i]}px")
            self.layers_grid.addWidget(label, i % half, (i // half) * 2)
            self.layers_grid.addWidget(combo, i % half, (i // half) * 2 + 1)
            self.layer_combos.append(combo)
        presets = latent.layer_presets(info.num_ws, res) if len(res) == info.num_ws else {}
        for name, button in self.preset_buttons.items():  # say which layers a preset takes on this model
            layers = list(range(info.num_ws)) if name == "all" else presets.get(name, [])
            button.setEnabled(bool(layers))
            button.setToolTip(f"{name.capitalize()} styles: layers {layers[0]}–{layers[-1]} "
                              f"({res[layers[0]]}–{res[layers[-1]]} px) from the chosen seed" if layers else
                              f"This model has no {name} layers")
        self._names = None
        self.grid.set_images(None)

    def sync(self, state: RenderState) -> None:
        self.carry_edits.show_for(state)
        mix = state.mix_seeds or self.mix_seeds()
        if state.mix_seeds:
            self.mix_seeds_edit.setText(", ".join(str(s) for s in state.mix_seeds))
        names = ["main"] + [f"seed {s}" for s in mix]
        if names != getattr(self, "_names", None):  # rebuilding combos is slow: only when the seeds change
            self._names = names
            keep = self.preset_source.currentIndex()
            self.preset_source.clear()
            self.preset_source.addItems(names[1:])
            self.preset_source.setCurrentIndex(min(max(keep, 0), len(mix) - 1))
            for combo in self.layer_combos:
                combo.clear()
                combo.addItems(names)
        sources = state.mix_sources or (0,) * self.info.num_ws
        for combo, s in zip(self.layer_combos, sources):
            combo.setCurrentIndex(min(s, len(names) - 1))

    def edited(self, change: StateChange) -> None:
        self._sync_now()  # its buttons change what its other widgets show
