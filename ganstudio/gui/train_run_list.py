"""The Train window's run list: every run folder under the runs folder, newest first, with its state."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QFileDialog, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout,
                               QWidget)

from ganstudio.training.monitor import UNEXPECTED

STATE_COLORS = {"running": "#2e9e4f", "paused": "#c98a00", "starting": "#2e7fc9", "finished": "#2e7fc9",
                "stopped": "#777777", "failed": "#d0342c", UNEXPECTED: "#d0342c"}


def state_color(state: str) -> str:
    return STATE_COLORS.get(state, "#777777")


@dataclass(frozen=True)
class RunEntry:
    """One line of the list."""
    path: Path
    state: str
    step: int = 0
    steps: int = 0
    reason: str = ""


class RunList(QWidget):
    """The runs folder (with a button to change it) above the list of its runs."""

    run_selected = Signal(Path)
    root_chosen = Signal(Path)  # the user picked another runs folder

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self._items: dict[Path, QListWidgetItem] = {}
        self.root_label = QLabel()
        self.root_label.setWordWrap(True)
        self.root_btn = QPushButton("Change…")
        self.root_btn.setToolTip("Choose the folder that holds the run folders")
        self.root_btn.clicked.connect(self._choose_root)
        self.list = QListWidget()
        self.list.setIconSize(QSize(10, 10))
        self.list.setToolTip("Every run folder under the runs folder, newest first, with its state")
        self.list.currentItemChanged.connect(self._on_item_changed)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        row = QHBoxLayout()
        row.addWidget(QLabel("<b>Runs</b>"))
        row.addStretch(1)
        row.addWidget(self.root_btn)
        lay.addLayout(row)
        lay.addWidget(self.root_label)
        lay.addWidget(self.list, 1)

    def show_root(self, root: Path) -> None:
        self.root_label.setText(str(root))
        self.root_label.setToolTip(str(root))

    def _choose_root(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Runs folder", self.root_label.text())
        if path:
            self.root_chosen.emit(Path(path))

    def set_entries(self, entries: list[RunEntry]) -> None:
        """Show exactly ``entries``, in order; items of runs still listed are updated in place."""
        known = {e.path for e in entries}
        for path in list(self._items):
            if path not in known:
                self.list.takeItem(self.list.row(self._items.pop(path)))
        for i, entry in enumerate(entries):
            item = self._items.get(entry.path)
            if item is None:
                item = QListWidgetItem()
                item.setData(Qt.UserRole, str(entry.path))
                self._items[entry.path] = item
                self.list.insertItem(i, item)
            self.describe(entry)

    def describe(self, entry: RunEntry) -> None:
        """Update one run's line (nothing if it is not listed)."""
        item = self._items.get(entry.path)
        if item is None:
            return
        steps = f" · {entry.step}/{entry.steps}" if entry.steps else ""
        item.setText(f"{entry.path.name}\n   {entry.state}{steps}")
        item.setForeground(QColor(state_color(entry.state)))
        item.setToolTip(f"{entry.path}\n{entry.state}: {entry.reason}" if entry.reason
                        else f"{entry.path}\n{entry.state}")

    def select(self, path: Path) -> None:
        item = self._items.get(Path(path))
        if item is not None and self.list.currentItem() is not item:
            self.list.setCurrentItem(item)

    def count(self) -> int:
        return self.list.count()

    def first(self) -> Optional[Path]:
        return Path(self.list.item(0).data(Qt.UserRole)) if self.list.count() else None

    def texts(self) -> dict[str, str]:
        """{run folder name: its line}, as shown."""
        return {Path(self.list.item(i).data(Qt.UserRole)).name: self.list.item(i).text()
                for i in range(self.list.count())}

    def _on_item_changed(self, item: Optional[QListWidgetItem], _prev=None) -> None:
        if item is not None:
            self.run_selected.emit(Path(item.data(Qt.UserRole)))
