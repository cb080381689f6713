"""Class conditioning: weights per class, a two-class interpolation slider, normalise."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QFormLayout, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPushButton,
                               QTableWidget, QTableWidgetItem, QVBoxLayout)

from ganstudio.engine import ModelInfo, RenderState
from ganstudio.engine.transforms import blend_classes, blend_position, normalized
from ganstudio.engine.app_core import StateChange
from ganstudio.gui.panels._base import Panel
from ganstudio.gui.widgets import FloatSlider


MAX_WEIGHT = 1e6  # far beyond any useful blend; keeps sums finite


class ClassPanel(Panel):
    title = "Class"
    sync_fields = frozenset({"class_weights"})
    preview_fields = frozenset()

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, parent)
        lay = QVBoxLayout(self)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter classes…")
        lay.addWidget(self.filter)
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Class", "Weight"])
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
        self.table.setMinimumHeight(180)
        lay.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.pure_btn = QPushButton("Only the selected class")
        self.normalize_btn = QPushButton("Normalize")
        row.addWidget(self.pure_btn)
        row.addWidget(self.normalize_btn)
        lay.addLayout(row)
        self.sum_label = QLabel()
        self.sum_label.setWordWrap(True)  # status and error texts: long ones must not widen the dock
        lay.addWidget(self.sum_label)
        form = QFormLayout()
        self.class_a, self.class_b = QComboBox(), QComboBox()
        form.addRow("Blend from", self.class_a)
        form.addRow("to", self.class_b)
        lay.addLayout(form)
        self.t = FloatSlider("t", 0.0, 1.0, 0.0, steps=100, fmt="{:.2f}")
        lay.addWidget(self.t)
        self.blend_note = QLabel()
        self.blend_note.setWordWrap(True)
        lay.addWidget(self.blend_note)

        self.table.itemChanged.connect(self._on_item)
        self.table.cellDoubleClicked.connect(lambda r, _c: self.set_pure(self._row_class(r)))
        self.pure_btn.clicked.connect(lambda: self.set_pure(self._row_class(self.table.currentRow())))
        self.normalize_btn.clicked.connect(self.normalize)
        self.filter.textChanged.connect(self._apply_filter)
        self.t.valueChanged.connect(self.set_blend)
        self.t.released.connect(self.app.end_gesture)
        self.class_a.currentIndexChanged.connect(lambda _: self.set_blend(self.t.value()))
        self.class_b.currentIndexChanged.connect(lambda _: self.set_blend(self.t.value()))

    def unsupported(self, info: ModelInfo) -> str:
        return "" if info.capabilities.classes and info.c_dim else "the model is not class-conditional."

    def weights(self) -> dict[int, float]:
        return dict(self.state.class_weights) or {0: 1.0}

    def _row_class(self, row: int) -> int:
        item = self.table.item(max(row, 0), 0)
        return int(item.data(Qt.UserRole)) if item is not None else 0

    def set_weights(self, weights: dict[int, float], text: str = "Class weights", merge=None) -> None:
        weights = {int(k): float(w) for k, w in weights.items() if w > 0}
        if not weights:
            self.ctx.report_error("Class weights: at least one weight must be above 0")
            self._sync_now()
            return
        self.edit(text, merge=merge, class_weights=tuple(sorted(weights.items())))

    def set_weight(self, k: int, w: float) -> None:
        weights = self.weights()
        weights[k] = w
        self.set_weights(weights, f"Weight of {self.info.class_names[k]}")

    def set_pure(self, k: int) -> None:
        self.set_weights({k: 1.0}, f"Class {self.info.class_names[k]}")

    def set_blend(self, t: float) -> None:
        a, b = self.class_a.currentIndex(), self.class_b.currentIndex()
        if a < 0 or b < 0:
            return
        self.set_weights(blend_classes(a, b, t), "Class blend", merge="class_blend")

    def normalize(self) -> None:
        self.set_weights(normalized(self.weights()), "Normalize class weights")

    def _on_item(self, item: QTableWidgetItem) -> None:
        if item.column() != 1:
            return
        try:
            w = float(item.text())
            if not 0 <= w <= MAX_WEIGHT:  # also refuses nan and inf
                raise ValueError
        except ValueError:
            self.ctx.report_error(f"Class weight must be a number from 0 to {MAX_WEIGHT:g}, got {item.text()!r}")
            self._sync_now()
            return
        self.set_weight(self._row_class(item.row()), w)

    def _apply_filter(self, text: str) -> None:
        text = text.lower()
        for r in range(self.table.rowCount()):
            self.table.setRowHidden(r, bool(text) and text not in self.table.item(r, 0).text().lower())

    def model_changed(self, info: ModelInfo) -> None:
        was = self.table.blockSignals(True)
        self.table.setRowCount(info.c_dim)
        for k in range(info.c_dim):
            name = QTableWidgetItem(f"{k}: {info.class_names[k]}")
            name.setData(Qt.UserRole, k)
            name.setFlags(name.flags() & ~Qt.ItemIsEditable)
            self.table.setItem(k, 0, name)
            self.table.setItem(k, 1, QTableWidgetItem("0"))
        self.table.blockSignals(was)
        for combo in (self.class_a, self.class_b):
            was = combo.blockSignals(True)
            combo.clear()
            combo.addItems([f"{k}: {n}" for k, n in enumerate(info.class_names)])
            combo.blockSignals(was)
        self.class_b.setCurrentIndex(min(1, info.c_dim - 1))
        self.t.set_value(0.0, quiet=True)  # the state's sync places it

    def sync(self, state: RenderState) -> None:
        weights = dict(state.class_weights) or {0: 1.0}
        was = self.table.blockSignals(True)
        for k in range(self.table.rowCount()):
            item = self.table.item(k, 1)
            w = weights.get(k, 0.0)
            item.setText(f"{w:g}")
            item.setBackground(Qt.darkYellow if w > 0 else Qt.transparent)
        self.table.blockSignals(was)
        self._sync_blend(weights)
        total = sum(weights.values())
        self.sum_label.setText(f"{len(weights)} class(es) weighted; sum {total:g}"
                               + ("" if abs(total - 1) < 1e-9 else " (the renderer normalises to 1)"))

    def _sync_blend(self, weights: dict[int, float]) -> None:
        """The from/to/t controls show where the weights are (they kept another model's blend)."""
        a, b, t, n = blend_position(weights, self.class_a.currentIndex(), self.class_b.currentIndex())
        for combo, k in ((self.class_a, a), (self.class_b, b)):
            if 0 <= k < combo.count():
                was = combo.blockSignals(True)
                combo.setCurrentIndex(k)
                combo.blockSignals(was)
        self.t.set_value(t, quiet=True)
        self.blend_note.setText("" if n <= 2 else f"The weights mix {n} classes; moving t blends only "
                                                   "'from' and 'to'.")

    def edited(self, change: StateChange) -> None:
        self._sync_now()  # its buttons change what its other widgets show
