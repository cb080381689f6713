"""The application state for Qt: engine.app_core.AppCore's events as signals, its history as Undo / Redo actions.

AppCore (no Qt) owns and writes the state; this object only forwards calls to it and re-emits its
events as Qt signals, so a panel's connection ends with the panel.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction

from ganstudio.engine import ModelInfo, RenderState
from ganstudio.engine.app_core import MAX_HISTORIES, AppCore, Bookmark, History, StateChange

__all__ = ["AppState", "Bookmark", "MAX_HISTORIES", "StateChange"]


class AppState(QObject):
    state_changed = Signal(object)  # StateChange (old, new, fields, source)
    model_changed = Signal(object)  # ModelInfo
    bookmarks_changed = Signal()
    history_changed = Signal()

    def __init__(self, parent: Optional[QObject] = None, core: Optional[AppCore] = None):
        super().__init__(parent)
        self.core = core or AppCore()
        self.core.state_changed.connect(self.state_changed.emit)
        self.core.model_changed.connect(self.model_changed.emit)
        self.core.bookmarks_changed.connect(self.bookmarks_changed.emit)
        self.core.history_changed.connect(self.history_changed.emit)

    # -- reading -------------------------------------------------------------------------------
    @property
    def state(self) -> RenderState:
        return self.core.state

    @property
    def info(self) -> Optional[ModelInfo]:
        return self.core.info

    @property
    def bookmarks(self) -> tuple[Bookmark, ...]:
        return self.core.bookmarks

    @property
    def history(self) -> History:
        """The current model's history."""
        return self.core.history

    # -- writing (all through the core) ----------------------------------------------------------
    def edit(self, new: RenderState, text: str = "Edit", merge: Optional[str] = None, source: Any = None) -> None:
        self.core.edit(new, text, merge, source)

    def end_gesture(self) -> None:
        self.core.end_gesture()

    def set_model(self, info: ModelInfo, state: Optional[RenderState] = None, text: str = "Open",
                  bookmarks: Optional[Sequence[Bookmark]] = None) -> None:
        self.core.set_model(info, state, text, bookmarks)

    def undo(self) -> None:
        self.core.undo()

    def redo(self) -> None:
        self.core.redo()

    def add_bookmark(self, bookmark: Bookmark) -> None:
        self.core.add_bookmark(bookmark)

    def remove_bookmark(self, index: int) -> None:
        self.core.remove_bookmark(index)

    # -- Undo / Redo actions ----------------------------------------------------------------------
    def create_undo_actions(self, parent: QObject) -> tuple[QAction, QAction]:
        """Undo and Redo actions whose text names the step ("Undo Seed 5873") and that are enabled when it exists."""
        undo, redo = QAction("&Undo", parent), QAction("&Redo", parent)
        undo.triggered.connect(self.core.undo)
        redo.triggered.connect(self.core.redo)

        def update() -> None:
            h = self.core.history
            undo.setEnabled(h.can_undo())
            redo.setEnabled(h.can_redo())
            undo.setText(f"&Undo {h.undo_text()}".rstrip())
            redo.setText(f"&Redo {h.redo_text()}".rstrip())
        self.history_changed.connect(update)
        update()
        return undo, redo
