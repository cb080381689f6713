"""The model picker: shipped models, every registry family as an untrained entry, recent files, Open…."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox

from ganstudio.checkpoints.naming import step_of
from ganstudio.gui.settings import recent_files

OPEN_FILE = "__open__"


def model_entries() -> list[tuple[str, str]]:
    """(label, model string) for the picker: shipped first, then untrained registry models."""
    from ganstudio.models import get_spec, list_models
    from ganstudio.pretrained import list_pretrained

    out = [(f"{e['name']}  ·  {e.get('family', '')} {e.get('data', '')}".rstrip(), e["name"])
           for e in list_pretrained()]
    out += [(f"{name}  ·  untrained ({get_spec(name).family})", f"registry:{name}") for name in list_models()]
    return out


def recent_label(path: str, recent: bool = True) -> str:
    """A file as the picker lists it: a training run's checkpoint (RUN/checkpoints/ckpt_N.safetensors) as
    "RUN  ·  step N", so two runs' checkpoints at one step differ; any other file by its name."""
    p = Path(path)
    step = step_of(p)
    if step is not None and p.parent.name == "checkpoints" and p.parent.parent.name:
        return f"{p.parent.parent.name}  ·  step {step}"
    return f"{p.name}  ·  recent" if recent else p.name


class ModelPicker(QComboBox):
    model_chosen = Signal(str)  # a model string, or OPEN_FILE
    open_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMinimumContentsLength(44)
        self.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self._current = ""
        self.rebuild()
        self.activated.connect(self._on_activated)

    def rebuild(self) -> None:
        self.blockSignals(True)
        self.clear()
        for label, key in model_entries():
            self.addItem(label, key)
        recent = recent_files()
        if recent:
            self.insertSeparator(self.count())
            for path in recent:
                self.addItem(recent_label(path), path)
        self.insertSeparator(self.count())
        self.addItem("Open file…", OPEN_FILE)
        self.blockSignals(False)
        self.select(self._current)

    def select(self, key: str) -> None:
        """Show ``key`` as the current entry (added as an item if it is not listed)."""
        self._current = key
        if not key:
            return
        i = self.findData(key)
        if i < 0:
            self.insertItem(0, recent_label(key, recent=False), key)
            i = 0
        self.blockSignals(True)
        self.setCurrentIndex(i)
        self.blockSignals(False)

    def _on_activated(self, index: int) -> None:
        key = self.itemData(index)
        if key == OPEN_FILE:
            self.select(self._current)
            self.open_requested.emit()
        elif key:  # the current model too: chosen while another loads, it must win over that one
            self.model_chosen.emit(key)
