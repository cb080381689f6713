"""The evented app state the panels edit (napari-style): the current RenderState, the model, bookmarks.

Every latent edit goes through ``edit()``, which pushes an undoable command holding the old
and the new state.  Edits sharing a ``merge`` key merge into one command until the gesture
ends (``end_gesture()``, e.g. on slider release), so a slider drag is one undo step.

Each model is a document with its own undo history (a QUndoGroup holds one stack per model):
switching to another model and back finds the first as it was left, with its history, and
Undo never reaches across models, where a state of one would not fit the other.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoGroup, QUndoStack

from ganstudio.engine import ModelInfo, RenderState

_MERGE_IDS: dict = {}
MAX_HISTORIES = 16  # models whose history and last state are kept; the least recently used goes first


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
        self.setText(other.text())  # a drag's step is named by where it ended ("ψ -0.56", not its first value)
        if self.new == self.old:
            self.setObsolete(True)
        return True

    def redo(self) -> None:
        self.app._apply(self.new)

    def undo(self) -> None:
        self.app._apply(self.old)


@dataclass
class _History:
    stack: QUndoStack
    shape: tuple  # what the states in it were made for: a same-named file with other shapes starts afresh
    state: Optional[RenderState] = None  # the current state when the user left this model


def _shape(info: ModelInfo) -> tuple:
    return (info.model_name, info.z_dim, info.w_dim, info.num_ws, info.c_dim, info.resolution, info.num_stages,
            len(info.capabilities.noise_layers))


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
        self.undo_group = QUndoGroup(self)
        self._histories: OrderedDict[str, _History] = OrderedDict()  # model key -> history; last = current
        self._blank = QUndoStack(self)  # active until a model opens
        self.undo_group.addStack(self._blank)
        self.undo_group.setActiveStack(self._blank)
        self._state = RenderState()
        self.info: Optional[ModelInfo] = None
        self.bookmarks: list[Bookmark] = []
        self._gesture = 0

    @property
    def undo_stack(self) -> QUndoStack:
        """The current model's history."""
        return self.undo_group.activeStack()

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

    def set_model(self, info: ModelInfo, state: Optional[RenderState] = None, text: str = "Open") -> None:
        """Make ``info`` the current model, with its own history and the state it was left in.

        ``state`` (a session's, a bookmark's) is then applied as one undoable step; without one a
        model seen before comes back as it was left, and a new one starts from its default state.
        """
        if self._state.model in self._histories:
            self._histories[self._state.model].state = self._state
        hist = self._histories.pop(info.key, None)
        if hist is not None and hist.shape != _shape(info):  # the file now holds another network
            self._drop(hist)
            hist = None
        if hist is None:
            hist = _History(QUndoStack(self), _shape(info))
            self.undo_group.addStack(hist.stack)
        self._histories[info.key] = hist
        while len(self._histories) > MAX_HISTORIES:
            self._drop(self._histories.popitem(last=False)[1])
        self.undo_group.setActiveStack(hist.stack)
        self.info = info
        self._gesture += 1
        base = hist.state or state or RenderState(model=info.key)
        self._state = base
        self.model_changed.emit(info)
        if state is not None and state != base:
            hist.stack.push(StateCommand(self, base, state, text, -1))  # emits state_changed
        else:
            self.state_changed.emit(base)

    def _drop(self, hist: _History) -> None:
        self.undo_group.removeStack(hist.stack)
        hist.stack.deleteLater()

    def add_bookmark(self, bookmark: Bookmark) -> None:
        self.bookmarks.append(bookmark)
        self.bookmarks_changed.emit()

    def remove_bookmark(self, index: int) -> None:
        del self.bookmarks[index]
        self.bookmarks_changed.emit()

    def _apply(self, state: RenderState) -> None:
        self._state = state
        self.state_changed.emit(state)
