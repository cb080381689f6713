"""The evented app state the panels edit (napari-style): the current RenderState, the model, bookmarks.

Every latent edit goes through ``edit()``, which pushes an undoable command holding the old
and the new state.  Edits sharing a ``merge`` key merge into one command until the gesture
ends (``end_gesture()``, e.g. on slider release), so a slider drag is one undo step.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from ganstudio.engine import ModelInfo, RenderState

_MERGE_IDS: dict = {}


def _merge_id(key) -> int:
    return _MERGE_IDS.setdefault(key, len(_MERGE_IDS) + 1)


class StateCommand(QUndoCommand):
    def __init__(self, app: "AppState", old: RenderState, new: RenderState, text: str, merge_id: int):
        super().__init__(text)
        self.app, self.old, self.new, self._id = app, old, new, merge_id

    def id(self) -> int:
        return self._id

    def mergeWith(self, other: QUndoCommand) -> bool:
        if self._id < 0 or other.id() != self._id:
            return False
        self.new = other.new
        if self.new == self.old:
            self.setObsolete(True)
        return True

    def redo(self) -> None:
        self.app._apply(self.new)

    def undo(self) -> None:
        self.app._apply(self.old)


@dataclass
class Bookmark:
    state: RenderState
    thumbnail: Optional[np.ndarray] = None  # uint8 [H, W, C] of the rendered state
    name: str = ""
    extra: dict = field(default_factory=dict)


class AppState(QObject):
    state_changed = Signal(object)  # RenderState
    model_changed = Signal(object)  # ModelInfo
    bookmarks_changed = Signal()

    def __init__(self, parent: Optional[QObject] = None):
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        self._state = RenderState()
        self.info: Optional[ModelInfo] = None
        self.bookmarks: list[Bookmark] = []
        self._gesture = 0

    @property
    def state(self) -> RenderState:
        return self._state

    def edit(self, new: RenderState, text: str = "Edit", merge: Optional[str] = None) -> None:
        """Make ``new`` the current state as one undoable step (merged with the last one of the same gesture)."""
        if new == self._state:
            return
        mid = -1 if merge is None else _merge_id((merge, self._gesture))
        self.undo_stack.push(StateCommand(self, self._state, new, text, mid))

    def end_gesture(self) -> None:
        """The next edit starts a new undo step even if it has the same merge key."""
        self._gesture += 1

    def set_model(self, info: ModelInfo, state: RenderState) -> None:
        """A new model: undo history of the old one no longer applies."""
        self.info = info
        self.undo_stack.clear()
        self._gesture += 1
        self._state = state
        self.model_changed.emit(info)
        self.state_changed.emit(state)

    def add_bookmark(self, bookmark: Bookmark) -> None:
        self.bookmarks.append(bookmark)
        self.bookmarks_changed.emit()

    def remove_bookmark(self, index: int) -> None:
        del self.bookmarks[index]
        self.bookmarks_changed.emit()

    def _apply(self, state: RenderState) -> None:
        self._state = state
        self.state_changed.emit(state)
