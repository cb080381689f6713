"""Latent panel: seed stepping, sliders over PCA / SeFa directions and over raw z (or w) dimensions."""
from __future__ import annotations

import random

from PySide6.QtWidgets import (QComboBox, QGroupBox, QHBoxLayout, QLabel, QPushButton, QScrollArea,
                               QSpinBox, QVBoxLayout, QWidget)

from ganstudio.engine import ModelInfo, RenderState
from ganstudio.engine.app_core import StateChange
from ganstudio.engine.transforms import edit_alpha, edits_on_layers, seed_state, set_edit, step_seed
from ganstudio.gui.panels._base import Panel
from ganstudio.gui.widgets import SEED_MAX, FloatSlider, SeedBox

N_DIRECTIONS = 10  # sliders shown for PCA / SeFa
PAGE = 16  # raw z / w sliders per page
METHODS = {"pca": "PCA (GANSpace)", "sefa": "SeFa"}


class LatentPanel(Panel):
    title = "Latent"
    preview_fields = frozenset()

    sync_fields = frozenset({"seed", "z", "ws", "edits"})

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, parent)
        lay = QVBoxLayout(self)
        lay.addLayout(self._build_seed_row())
        lay.addWidget(self._build_directions())
        lay.addWidget(self._build_raw(), 1)
        self.seed.valueChanged.connect(lambda v: self.set_seed(v))
        self.prev_btn.clicked.connect(lambda: self.step_seed(-1))
        self.next_btn.clicked.connect(lambda: self.step_seed(+1))
        self.random_btn.clicked.connect(self.random_seed)
        self.back_to_seed.clicked.connect(lambda: self.edit("Back to seed", z=None, ws=None))
        self.compute_btn.clicked.connect(self.compute_directions)
        self.reset_btn.clicked.connect(lambda: self.edit("Reset edits", edits=()))
        self.method.currentIndexChanged.connect(lambda _: self._show_directions(None))
        self.page.valueChanged.connect(lambda _: self._sync_now())
        self.raw_space.currentIndexChanged.connect(lambda _: self._on_raw_space())
        self.layer_start.valueChanged.connect(self._on_layers)
        self.layer_end.valueChanged.connect(self._on_layers)
        self._directions_for: tuple = ()
        self._style = False  # the model has style layers: raw edits may be in w

    def _build_seed_row(self) -> QVBoxLayout:
        """The seed: the main latent, stepped with the arrow buttons (and Left / Right / R in the window)."""
        row = QHBoxLayout()
        self.seed = SeedBox()
        self.seed.setKeyboardTracking(False)
        self.prev_btn, self.next_btn, self.random_btn = QPushButton("◀"), QPushButton("▶"), QPushButton("Random")
        for b in (self.prev_btn, self.next_btn):
            b.setFixedWidth(34)
        row.addWidget(QLabel("Seed"))
        row.addWidget(self.seed, 1)
        row.addWidget(self.prev_btn)
        row.addWidget(self.next_btn)
        row.addWidget(self.random_btn)
        self.explicit = QLabel()
        self.explicit.setWordWrap(True)
        self.back_to_seed = QPushButton("Back to seed latent")
        erow = QHBoxLayout()
        erow.addWidget(self.explicit, 1)
        erow.addWidget(self.back_to_seed)
        col = QVBoxLayout()
        col.addLayout(row)
        col.addLayout(erow)
        return col

    def _build_directions(self) -> QGroupBox:
        box = QGroupBox("Directions")
        bl = QVBoxLayout(box)
        top = QHBoxLayout()
        self.method = QComboBox()
        for key, label in METHODS.items():
            self.method.addItem(label, key)
        self.compute_btn = QPushButton("Compute")
        self.reset_btn = QPushButton("Reset edits")
        top.addWidget(self.method, 1)
        top.addWidget(self.compute_btn)
        top.addWidget(self.reset_btn)
        bl.addLayout(top)
        lr = QHBoxLayout()
        self.layer_start, self.layer_end = QSpinBox(), QSpinBox()
        self.layer_label = QLabel()
        lr.addWidget(QLabel("w layers"))
        lr.addWidget(self.layer_start)
        lr.addWidget(QLabel("to"))
        lr.addWidget(self.layer_end)
        lr.addWidget(self.layer_label, 1)
        self.layer_row = QWidget()
        self.layer_row.setLayout(lr)
        lr.setContentsMargins(0, 0, 0, 0)
        bl.addWidget(self.layer_row)
        self.dir_status = QLabel("Press Compute to find directions.")
        self.dir_status.setWordWrap(True)  # a failure's reason can be long
        bl.addWidget(self.dir_status)
        self.dir_sliders: list[FloatSlider] = []
        for i in range(N_DIRECTIONS):
            s = FloatSlider(f"#{i}", -5, 5, 0.0)
            s.valueChanged.connect(lambda v, i=i: self._on_direction(i, v))
            s.released.connect(self.app.end_gesture)
            s.setEnabled(False)
            bl.addWidget(s)
            self.dir_sliders.append(s)
        return box

    def _build_raw(self) -> QGroupBox:
        """Raw z (or, for style models, w over the layer range above) dimensions, a page at a time."""
        zbox = QGroupBox("Raw latent dimensions")
        zl = QVBoxLayout(zbox)
        pr = QHBoxLayout()
        self.raw_space = QComboBox()
        self.raw_space.addItem("z", "raw")
        self.raw_space.addItem("w (w layers above)", "w")
        self.raw_space.setToolTip("z: the input latent; w: the mapping network's output, edited on the "
                                  "w layers chosen under Directions")
        self.page = QSpinBox()
        self.page_label = QLabel()
        pr.addWidget(self.raw_space)
        pr.addWidget(QLabel("Page"))
        pr.addWidget(self.page)
        pr.addWidget(self.page_label, 1)
        zl.addLayout(pr)
        inner = QWidget()
        il = QVBoxLayout(inner)
        il.setContentsMargins(0, 0, 0, 0)
        self.z_sliders: list[FloatSlider] = []
        for j in range(PAGE):
            s = FloatSlider(f"z[{j}]", -3, 3, 0.0, steps=120)
            s.valueChanged.connect(lambda v, j=j: self._on_raw(j, v))
            s.released.connect(self.app.end_gesture)
            il.addWidget(s)
            self.z_sliders.append(s)
        self.z_scroll = QScrollArea()
        self.z_scroll.setWidgetResizable(True)
        self.z_scroll.setWidget(inner)
        self.z_scroll.setMinimumHeight(160)
        zl.addWidget(self.z_scroll)
        return zbox

    # -- seed ---------------------------------------------------------------------------------
    def set_seed(self, seed: int) -> None:
        new = seed_state(self.state, seed)
        self.edit(f"Seed {new.seed}", seed=new.seed, z=new.z, ws=new.ws)

    def step_seed(self, delta: int) -> None:
        self.set_seed(step_seed(self.state, delta))

    def random_seed(self) -> None:
        self.set_seed(random.randrange(SEED_MAX))

    # -- directions ---------------------------------------------------------------------------
    def method_key(self) -> str:
        return self.method.currentData()

    def layers(self):
        """The w-layer range [start, end) the direction edits apply to; None means all layers."""
        if not self.info.capabilities.style_layers:
            return None
        start, end = self.layer_start.value(), self.layer_end.value()
        return None if (start, end) == (0, self.info.num_ws) else (start, max(end, start + 1))

    def compute_directions(self) -> None:
        key, method, render = self.state.model, self.method_key(), self.ctx.render
        self.dir_status.setText(f"Computing {METHODS[method]} directions…")
        def failed(message: str) -> None:  # say why where the user looks, not only in the status bar
            self.dir_status.setText(f"{METHODS[method]} failed: {message.splitlines()[0]}")
            self.job_failed(message)
        self.run_job("directions", lambda: render.directions(key, method, 20).shape[0],
                     lambda n: self._show_directions((key, method, n)), busy=f"Computing {METHODS[method]} directions",
                     on_fail=failed)

    def _show_directions(self, done) -> None:
        if done is not None:
            self._directions_for = done
        ready = bool(self._directions_for) and self._directions_for[:2] == (self.state.model, self.method_key())
        n = self._directions_for[2] if ready else 0
        if not ready:  # computed before (another method or model shown since): the renderer still has them
            n = self.ctx.render.cached_directions(self.state.model, self.method_key(), 20)
            ready = n > 0
        for i, s in enumerate(self.dir_sliders):
            s.setEnabled(i < n)
        space = "w" if self.info.capabilities.style_layers else "z"
        self.dir_status.setText(f"{METHODS[self.method_key()]}: top {min(n, N_DIRECTIONS)} directions in {space}"
                                if ready else "Press Compute to find directions.")
        self._sync_now()

    def _on_direction(self, i: int, alpha: float) -> None:
        edits = set_edit(self.state.edits, self.method_key(), i, alpha, self.layers())
        self.edit(f"{METHODS[self.method_key()]} #{i}", merge=f"dir{i}", edits=edits)

    def _on_layers(self) -> None:
        res = self.info.capabilities.layer_resolutions
        s, e = self.layer_start.value(), max(self.layer_end.value(), self.layer_start.value() + 1)
        if res:
            self.layer_label.setText(f"{res[s]}–{res[e - 1]} px")
        layers = self.layers()
        self.edit("Direction layers", edits=edits_on_layers(self.state.edits, layers))

    # -- raw z / w -----------------------------------------------------------------------------
    def raw_method(self) -> str:
        """"raw" (z dimensions) or "w" (w dimensions over the layer range)."""
        return self.raw_space.currentData() if self._style else "raw"

    def _raw_dims(self) -> int:
        return self.info.w_dim if self.raw_method() == "w" else self.info.z_dim

    def _on_raw_space(self) -> None:
        self.page.setRange(0, -(-self._raw_dims() // PAGE) - 1)
        self.page.setValue(0)
        self._sync_now()

    def _on_raw(self, j: int, alpha: float) -> None:
        index, method = self.page.value() * PAGE + j, self.raw_method()
        name = "z" if method == "raw" else "w"
        layers = self.layers() if method == "w" else None
        self.edit(f"{name}[{index}]", merge=f"{method}{index}",
                  edits=set_edit(self.state.edits, method, index, alpha, layers))

    # -- hooks ----------------------------------------------------------------------------------
    def model_changed(self, info: ModelInfo) -> None:
        style = info.capabilities.style_layers and info.num_ws > 1
        self.layer_row.setVisible(style)
        self.layer_start.setRange(0, max(0, info.num_ws - 1))
        self.layer_end.setRange(1, info.num_ws)
        self.layer_start.setValue(0)
        self.layer_end.setValue(info.num_ws)
        self._on_layers_label()
        self._style = bool(style)
        self.raw_space.setVisible(self._style)
        self.raw_space.setCurrentIndex(0)
        self._on_raw_space()
        self._directions_for = ()
        self._show_directions(None)

    def _on_layers_label(self) -> None:
        res = self.info.capabilities.layer_resolutions
        if res:
            self.layer_label.setText(f"{res[self.layer_start.value()]}–{res[self.layer_end.value() - 1]} px")

    def sync(self, state: RenderState) -> None:
        self._show_seed(state)
        ranges = [e.layers for e in state.edits if e.method != "raw"]
        if self._style and ranges:  # show the range the edits use (after an undo, a session, a bookmark)
            lo, hi = ranges[-1] or (0, self.info.num_ws)
            self.layer_start.setValue(lo)
            self.layer_end.setValue(hi)
            self._on_layers_label()
        self._show_sliders(state)

    def _show_seed(self, state: RenderState) -> None:
        """The seed box, and the note (and Back to seed) while an explicit latent shows instead of the seed."""
        self.seed.setValue(min(state.seed, SEED_MAX))
        explicit = "ws" if state.ws is not None else "z" if state.z is not None else ""
        self.explicit.setText(
            "Showing an explicit w (from interpolation, arithmetic or a latent file): direction and raw w "
            "edits apply; raw z needs a seed — Back to seed." if self._no_z(state) else
            f"Showing an explicit {explicit} (from the pad, interpolation or arithmetic); edits still apply."
            if explicit else "")
        self.explicit.setVisible(bool(explicit))
        self.back_to_seed.setVisible(bool(explicit))

    def _no_z(self, state: RenderState) -> bool:
        # A mapping network's output has no z to edit: raw z waits for a seed (or an explicit z).
        return state.ws is not None and self._style

    def _show_sliders(self, state: RenderState) -> None:
        for i, s in enumerate(self.dir_sliders):
            s.set_value(edit_alpha(state.edits, self.method_key(), i, self.layers()), quiet=True)
        base, method, dims = self.page.value() * PAGE, self.raw_method(), self._raw_dims()
        name = "z" if method == "raw" else "w"
        for j, s in enumerate(self.z_sliders):
            index = base + j
            s.setVisible(index < dims)
            s.setEnabled(not (self._no_z(state) and method == "raw"))
            s.label.setText(f"{name}[{index}]")
            s.set_value(edit_alpha(state.edits, method, index, self.layers() if method == "w" else None), quiet=True)
        self.page_label.setText(f"dims {base}–{min(base + PAGE, dims) - 1} of {dims}")

    def edited(self, change: StateChange) -> None:
        # What the widget the user moved does not show itself: the seed box after a step, the explicit-latent
        # note, the raw z sliders' state; the sliders after Reset edits.  A slider being dragged is not rewritten.
        with self.quiet():
            if change.touches(("seed", "z", "ws")):
                self._show_seed(change.new)
                self._show_sliders(change.new)
            elif not change.new.edits and change.old.edits:
                self._show_sliders(change.new)
