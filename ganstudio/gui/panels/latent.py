"""Latent panel: seed stepping, paged sliders over PCA / SeFa / library directions (up to 64), InfoGAN code
sliders, and raw z (or w) dimensions."""
from __future__ import annotations

import random

from PySide6.QtWidgets import (QComboBox, QGroupBox, QHBoxLayout, QLabel, QPushButton, QScrollArea,
                               QSpinBox, QVBoxLayout, QWidget)

from ganstudio.engine import ModelInfo, RenderState
from ganstudio.engine.app_core import StateChange
from ganstudio.engine.transforms import edit_alpha, edits_on_layers, seed_state, set_edit, step_seed
from ganstudio.engine.user_directions import user_edit
from ganstudio.gui.panels._base import Panel
from ganstudio.gui.panels._codes import CodeSliders
from ganstudio.gui.widgets import SEED_MAX, FloatSlider, SeedBox
from ganstudio.latent.library import MAX_DIRECTIONS

PAGE = 16  # sliders per page: directions (up to MAX_DIRECTIONS = 4 pages) and raw z / w dimensions
N_DIRECTIONS = MAX_DIRECTIONS
METHODS = {"pca": "PCA (GANSpace)", "sefa": "SeFa"}  # computed direction sets (the Sweep panel lists them too)
SOURCES = {**METHODS, "user": "Library (saved directions)"}


class LatentPanel(Panel):
    title = "Latent"
    preview_fields = frozenset()

    sync_fields = frozenset({"seed", "z", "ws", "edits", "user_directions"})

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, parent)
        lay = QVBoxLayout(self)
        lay.addLayout(self._build_seed_row())
        lay.addWidget(self._build_directions())
        self.codes = CodeSliders(self)
        lay.addWidget(self.codes)
        lay.addWidget(self._build_raw(), 1)
        self.seed.valueChanged.connect(lambda v: self.set_seed(v))
        self.prev_btn.clicked.connect(lambda: self.step_seed(-1))
        self.next_btn.clicked.connect(lambda: self.step_seed(+1))
        self.random_btn.clicked.connect(self.random_seed)
        self.back_to_seed.clicked.connect(lambda: self.edit("Back to seed", z=None, ws=None))
        self.compute_btn.clicked.connect(self.compute_directions)
        self.reset_btn.clicked.connect(lambda: self.edit("Reset edits", edits=()))
        self.method.currentIndexChanged.connect(lambda _: self._on_source())
        self.dir_prev.clicked.connect(lambda: self.set_dir_page(self.dir_page - 1))
        self.dir_next.clicked.connect(lambda: self.set_dir_page(self.dir_page + 1))
        self.page.valueChanged.connect(lambda _: self._sync_now())
        self.raw_space.currentIndexChanged.connect(lambda _: self._on_raw_space())
        self.layer_start.valueChanged.connect(self._on_layers)
        self.layer_end.valueChanged.connect(self._on_layers)
        self._directions_for: tuple = ()
        self._style = False  # the model has style layers: raw edits may be in w
        self.dir_page = 0  # the page of direction sliders shown (PAGE per page)

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
        for key, label in SOURCES.items():
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
        self.dir_sliders: list[FloatSlider] = []  # one page: slider j is direction dir_page * PAGE + j
        for j in range(PAGE):
            s = FloatSlider(f"#{j}", -5, 5, 0.0)
            s.valueChanged.connect(lambda v, j=j: self._on_direction(self.dir_page * PAGE + j, v))
            s.released.connect(self.app.end_gesture)
            s.setEnabled(False)
            bl.addWidget(s)
            self.dir_sliders.append(s)
        nav = QHBoxLayout()
        self.dir_prev, self.dir_next = QPushButton("◀ Page"), QPushButton("Page ▶")
        self.dir_page_label = QLabel()
        nav.addWidget(self.dir_prev)
        nav.addWidget(self.dir_page_label, 1)
        nav.addWidget(self.dir_next)
        bl.addLayout(nav)
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
        if method == "user":
            self._show_directions(None)
            return
        self.dir_status.setText(f"Computing {METHODS[method]} directions…")
        def failed(message: str) -> None:  # say why where the user looks, not only in the status bar
            self.dir_status.setText(f"{METHODS[method]} failed: {message.splitlines()[0]}")
            self.job_failed(message)
        self.run_job("directions", lambda: render.directions(key, method, N_DIRECTIONS).shape[0],
                     lambda n: self._show_directions((key, method, n)), busy=f"Computing {METHODS[method]} directions",
                     on_fail=failed)

    def direction_count(self) -> int:
        """How many directions the chosen source has ready (0 until PCA / SeFa are computed)."""
        method = self.method_key()
        if method == "user":
            return len(self.state.user_directions)
        ready = bool(self._directions_for) and self._directions_for[:2] == (self.state.model, method)
        # Computed before (another source or model shown since): the renderer still has them.
        return self._directions_for[2] if ready else self.ctx.render.cached_directions(self.state.model, method,
                                                                                        N_DIRECTIONS)

    def _on_source(self) -> None:
        self.set_dir_page(0)
        self._show_directions(None)

    def set_dir_page(self, page: int) -> None:
        """Show direction sliders ``page * PAGE`` to ``page * PAGE + PAGE - 1`` (clamped to the pages there are)."""
        pages = max(1, -(-self.direction_count() // PAGE))
        self.dir_page = min(max(0, page), pages - 1)
        self._sync_now()

    def _show_directions(self, done) -> None:
        if done is not None:
            self._directions_for = done
        self._show_status()
        self.set_dir_page(self.dir_page)

    def _show_status(self) -> None:
        n, method = self.direction_count(), self.method_key()
        space = "w" if self.info.capabilities.style_layers else "z"
        if method == "user":
            self.dir_status.setText(f"Library: {n} saved direction{'s' if n != 1 else ''}" if n else
                                    "The library is empty: add directions in the Directions panel.")
        elif self.info.capabilities.code_grid:  # a VQ-VAE: its z is only the prior's sampling noise
            self.dir_status.setText("This model draws its image from a grid of discrete codes: it has no PCA or "
                                    "SeFa directions (edit the codes in the Code map panel).")
        else:
            self.dir_status.setText(f"{METHODS[method]}: top {n} directions in {space}" if n else
                                    "Press Compute to find directions.")
        self.compute_btn.setEnabled(method != "user" and not self.info.capabilities.code_grid)

    def _on_direction(self, i: int, alpha: float) -> None:
        method = self.method_key()
        if method == "user":
            if i < len(self.state.user_directions):
                name = self.state.user_directions[i].name
                self.edit(f"Library {name}", merge=f"user{i}", edits=user_edit(self.state, i, alpha))
            return
        edits = set_edit(self.state.edits, method, i, alpha, self.layers())
        self.edit(f"{METHODS[method]} #{i}", merge=f"dir{i}", edits=edits)

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
        self.codes.model_changed(info)
        self.dir_page = 0
        self._show_directions(None)

    def _on_layers_label(self) -> None:
        res = self.info.capabilities.layer_resolutions
        if res:
            self.layer_label.setText(f"{res[self.layer_start.value()]}–{res[self.layer_end.value() - 1]} px")

    def sync(self, state: RenderState) -> None:
        self._show_seed(state)
        ranges = [e.layers for e in state.edits if e.method not in ("raw", "user", "code")]
        if self._style and ranges:  # show the range the edits use (after an undo, a session, a bookmark)
            lo, hi = ranges[-1] or (0, self.info.num_ws)
            self.layer_start.setValue(lo)
            self.layer_end.setValue(hi)
            self._on_layers_label()
        if self.method_key() == "user":
            self._show_status()
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

    def _show_direction_sliders(self, state: RenderState) -> None:
        method, n = self.method_key(), self.direction_count()
        self.dir_page = min(self.dir_page, max(0, -(-n // PAGE) - 1))  # a library that shrank
        base = self.dir_page * PAGE
        for j, s in enumerate(self.dir_sliders):
            i = base + j
            s.setVisible(i < n or base == 0)  # the first page keeps its (disabled) sliders before a Compute
            s.setEnabled(i < n)
            if method == "user":
                d = state.user_directions[i] if i < len(state.user_directions) else None
                s.label.setText(d.name[:24] if d else f"#{i}")
                s.setToolTip(f"{d.name}: {d.space}" + (f", w layers {d.layers[0]}–{d.layers[1] - 1}" if d and d.layers
                                                       else "") if d else "")
                s.set_value(edit_alpha(state.edits, "user", i, d.layers) if d else 0.0, quiet=True)
            else:
                s.label.setText(f"#{i}")
                s.setToolTip("")
                s.set_value(edit_alpha(state.edits, method, i, self.layers()), quiet=True)
        pages = max(1, -(-n // PAGE))
        self.dir_page_label.setText(f"page {self.dir_page + 1} of {pages} (#{base}–#{min(base + PAGE, n) - 1})" if n
                                    else "no directions yet")
        self.dir_prev.setEnabled(self.dir_page > 0)
        self.dir_next.setEnabled(self.dir_page < pages - 1)

    def _show_sliders(self, state: RenderState) -> None:
        self._show_direction_sliders(state)
        self.codes.show_state(state)
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
