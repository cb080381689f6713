"""Directions panel: the direction library of the open model — name, keep, rename, delete, save and load.

The library is part of the state (``RenderState.user_directions``): every change here is one
undoable step, and the Latent panel's "Library" source shows a slider per direction.  Directions
come from a direction set (PCA, SeFa, a raw z or w dimension, an InfoGAN code) or from the
current edit (the difference between this image and its plain seed).  Files are JSON
(latent.library); a file made for another model is refused with one line.
"""
from __future__ import annotations

from PySide6.QtWidgets import (QComboBox, QFileDialog, QGridLayout, QHBoxLayout, QLabel, QLineEdit, QListWidget,
                               QPushButton, QSpinBox, QVBoxLayout)

from ganstudio.engine import ModelInfo, RenderState
from ganstudio.engine import user_directions as ud
from ganstudio.gui.panels._base import Panel
from ganstudio.latent.library import Library, load_library, model_identity, save_library

SOURCE_LABELS = {"pca": "PCA direction", "sefa": "SeFa direction", "raw": "raw z dimension", "w": "raw w dimension",
                 "code": "InfoGAN code"}


class DirectionsPanel(Panel):
    title = "Directions"
    sync_fields = frozenset({"user_directions"})
    preview_fields = frozenset()

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, parent)
        lay = QVBoxLayout(self)
        intro = QLabel("Named directions of this model, kept with the session and in direction files (JSON). "
                       "The Latent panel's Library source gives each a slider.")
        intro.setWordWrap(True)
        lay.addWidget(intro)
        self.list = QListWidget()
        lay.addWidget(self.list, 1)
        lay.addLayout(self._build_name_row())
        lay.addLayout(self._build_source_row())
        files = QHBoxLayout()
        self.load_btn, self.save_btn = QPushButton("Load…"), QPushButton("Save…")
        files.addWidget(self.load_btn)
        files.addWidget(self.save_btn)
        lay.addLayout(files)
        self.status = QLabel()
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        self.add_edit_btn.clicked.connect(self.add_current_edit)
        self.add_source_btn.clicked.connect(self.add_from_source)
        self.rename_btn.clicked.connect(lambda: self.rename_selected(self.name.text()))
        self.delete_btn.clicked.connect(self.delete_selected)
        self.load_btn.clicked.connect(self._load_dialog)
        self.save_btn.clicked.connect(self._save_dialog)
        self.source.currentIndexChanged.connect(lambda _: self._source_range())
        self.list.currentRowChanged.connect(self._on_row)

    def _build_name_row(self) -> QGridLayout:
        g = QGridLayout()
        self.name = QLineEdit()
        self.name.setPlaceholderText("name")
        self.name.setMaxLength(70)
        self.add_edit_btn = QPushButton("Save current edit")
        self.add_edit_btn.setToolTip("The difference between this image and its plain seed, as a direction: "
                                     "a step of 1 replays the edit on any seed")
        self.rename_btn, self.delete_btn = QPushButton("Rename"), QPushButton("Delete")
        g.addWidget(QLabel("Name"), 0, 0)
        g.addWidget(self.name, 0, 1, 1, 3)
        g.addWidget(self.add_edit_btn, 1, 0, 1, 2)
        g.addWidget(self.rename_btn, 1, 2)
        g.addWidget(self.delete_btn, 1, 3)
        return g

    def _build_source_row(self) -> QGridLayout:
        g = QGridLayout()
        self.source = QComboBox()
        self.index = QSpinBox()
        self.layer_start, self.layer_end = QSpinBox(), QSpinBox()
        self.add_source_btn = QPushButton("Add")
        g.addWidget(QLabel("From"), 0, 0)
        g.addWidget(self.source, 0, 1)
        g.addWidget(QLabel("#"), 0, 2)
        g.addWidget(self.index, 0, 3)
        g.addWidget(self.add_source_btn, 0, 4)
        self.layer_label = QLabel("w layers")
        g.addWidget(self.layer_label, 1, 0)
        g.addWidget(self.layer_start, 1, 1)
        g.addWidget(self.layer_end, 1, 3)
        return g

    # -- hooks -----------------------------------------------------------------------------------
    def model_changed(self, info: ModelInfo) -> None:
        style = bool(info.capabilities.style_layers)
        self.source.clear()
        for key, label in SOURCE_LABELS.items():
            if (key == "w" and not style) or (key == "code" and not info.code_sizes[1]):
                continue
            self.source.addItem(label, key)
        for w in (self.layer_label, self.layer_start, self.layer_end):
            w.setVisible(style and info.num_ws > 1)
        self.layer_start.setRange(0, max(0, info.num_ws - 1))
        self.layer_end.setRange(1, max(1, info.num_ws))
        self.layer_start.setValue(0)
        self.layer_end.setValue(info.num_ws)
        self._source_range()
        self.status.setText("")

    def sync(self, state: RenderState) -> None:
        row = self.list.currentRow()
        self.list.clear()
        for d in state.user_directions:
            where = d.space + (f", w layers {d.layers[0]}–{d.layers[1] - 1}" if d.layers else "")
            norm = sum(v * v for v in d.vector) ** 0.5
            self.list.addItem(f"{d.name}  ({where}; length {norm:.2f})")
        self.list.setCurrentRow(min(row, self.list.count() - 1))
        self.add_edit_btn.setEnabled(True)

    def edited(self, change) -> None:
        self._sync_now()

    def _source_range(self) -> None:
        info, key = self.info, self.source.currentData()
        if info is None or key is None:
            return
        lo = 1 if key == "code" else 0
        hi = {"raw": info.z_dim, "w": info.w_dim, "code": info.code_sizes[1] + 1}.get(key, ud.MAX_DIRECTIONS) - 1
        self.index.setRange(lo, max(lo, min(hi, info.w_dim - 1 if key in ("pca", "sefa") else hi)))

    def _on_row(self, row: int) -> None:
        if 0 <= row < len(self.state.user_directions):
            self.name.setText(self.state.user_directions[row].name)

    # -- actions -----------------------------------------------------------------------------------
    def _layers(self):
        if not (self.info.capabilities.style_layers and self.info.num_ws > 1):
            return None
        s, e = self.layer_start.value(), max(self.layer_end.value(), self.layer_start.value() + 1)
        return None if (s, e) == (0, self.info.num_ws) else (s, e)

    def _add(self, direction, what: str) -> None:
        try:
            new = ud.add_direction(self.state, direction._replace(name=ud.unique_name(self.state, direction.name)))
        except ValueError as e:
            self._fail(str(e))
            return
        self.edit(f"Add direction {new.user_directions[-1].name}", user_directions=new.user_directions)
        self.status.setText(f"Added {new.user_directions[-1].name!r} ({what}).")

    def add_current_edit(self) -> None:
        state, info, render = self.state, self.info, self.ctx.render
        name = self.name.text().strip() or "edit"
        self.run_job("add", lambda: ud.direction_from_edit(render, state, info, name),
                     lambda d: self._add(d, "the current edit") if self.state.model == state.model else None,
                     on_fail=self._fail)

    def add_from_source(self) -> None:
        state, info, render = self.state, self.info, self.ctx.render
        key, index, layers = self.source.currentData(), self.index.value(), self._layers()
        typed = self.name.text().strip()

        def job():
            d = ud.direction_from_source(render, state, info, key, index, layers)
            return d._replace(name=typed) if typed else d
        self.status.setText("Computing…" if key in ("pca", "sefa") else "")
        self.run_job("add", job, lambda d: self._add(d, SOURCE_LABELS[key]) if self.state.model == state.model
                     else None, on_fail=self._fail)

    def rename_selected(self, name: str) -> None:
        row = self.list.currentRow()
        if not 0 <= row < len(self.state.user_directions):
            return self._fail("choose a direction to rename")
        try:
            new = ud.rename_direction(self.state, row, name)
        except ValueError as e:
            return self._fail(str(e))
        self.edit(f"Rename direction to {name.strip()}", user_directions=new.user_directions)

    def delete_selected(self) -> None:
        row = self.list.currentRow()
        if not 0 <= row < len(self.state.user_directions):
            return self._fail("choose a direction to delete")
        name = self.state.user_directions[row].name
        new = ud.remove_direction(self.state, row)
        self.edit(f"Delete direction {name}", user_directions=new.user_directions, edits=new.edits)
        self.status.setText(f"Deleted {name!r} (Undo brings it back).")

    # -- files ------------------------------------------------------------------------------------
    def save_file(self, path: str) -> None:
        state, info = self.state, self.info
        lib_dirs = state.user_directions

        def job():
            save_library(path, Library(model_identity(state.model, info), lib_dirs))
            return path
        self.run_job("file", job, lambda p: self.status.setText(f"Saved {len(lib_dirs)} directions to {p}."),
                     on_fail=self._fail)

    def load_file(self, path: str) -> None:
        state, info = self.state, self.info
        self.run_job("file", lambda: load_library(path, model_identity(state.model, info)),
                     lambda lib: self._loaded(lib, state.model, path), on_fail=self._fail)

    def _loaded(self, lib: Library, model: str, path: str) -> None:
        if self.state.model != model:
            return
        new = ud.replace_library(self.state, lib.directions)
        self.edit(f"Load directions {path}", user_directions=new.user_directions, edits=new.edits)
        self.status.setText(f"Loaded {len(lib.directions)} directions from {path}.")

    def _load_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load directions", "", "Direction files (*.json)")
        if path:
            self.load_file(path)

    def _save_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save directions", "directions.json", "Direction files (*.json)")
        if path:
            self.save_file(path if path.endswith(".json") else path + ".json")

    def _fail(self, message: str) -> None:
        line = str(message).splitlines()[0] if str(message) else "failed"
        self.status.setText(line)
        self.ctx.report_error(f"{self.title}: {line}")
