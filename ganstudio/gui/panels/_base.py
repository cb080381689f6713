"""Base of every dock panel: wiring to the app state, capability gating, debounced auxiliary renders."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Optional

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (QAbstractButton, QAbstractItemView, QAbstractSlider, QAbstractSpinBox, QComboBox,
                               QHeaderView, QLineEdit, QScrollBar, QWidget)

from ganstudio.engine import ModelInfo, RenderState
from ganstudio.engine.app_core import StateChange
from ganstudio.gui.panels._context import PanelContext
from ganstudio.gui.widgets import CarryEditsChoice, FloatSlider

# Widgets whose signals mean "the user changed something": blocked while a panel mirrors the state.
_INPUTS = (QAbstractButton, QAbstractItemView, QAbstractSlider, QAbstractSpinBox, QComboBox, QLineEdit, FloatSlider,
           CarryEditsChoice)
_NOT_INPUTS = (QHeaderView, QScrollBar)  # layout plumbing of views and scroll areas: keep it running


class Panel(QWidget):
    """Subclasses set ``title``, build widgets in ``__init__`` and override the hooks below.

    - ``unsupported(info)``: a reason the model cannot use this panel ("" when it can); decided
      from ``info.capabilities`` only, never from the family name.
    - ``model_changed(info)``: rebuild model-dependent widgets (only for supported models).
    - ``sync(state)``: mirror the state into the widgets.  Called when a field in ``sync_fields``
      (None: any) was changed by someone else: a panel never hears its own edit back.  The
      widgets' signals are blocked meanwhile, so mirroring never edits.
    - ``edited(change)``: after the panel's own edit (labels derived from the state, say).
    - ``refresh()``: re-render the panel's own previews; debounced, only while visible, after a
      change to a field in ``preview_fields`` (None: any).
    """

    title = "Panel"
    sync_fields: Optional[frozenset] = None
    preview_fields: Optional[frozenset] = None

    def __init__(self, ctx: PanelContext, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.ctx = ctx
        self.app = ctx.app
        self.info: Optional[ModelInfo] = None
        self.supported = False
        self._stale = False  # the state changed while hidden: sync on show
        self.shown = True  # False while the panel's dock is a background tab or closed (set by the window)
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(60)
        self._refresh_timer.timeout.connect(self._do_refresh)
        self.setEnabled(False)  # no model yet: nothing to act on (the window shows a note instead)
        self.app.model_changed.connect(self._on_model_changed)
        self.app.state_changed.connect(self._on_state_changed)

    # -- hooks -----------------------------------------------------------------------------
    def unsupported(self, info: ModelInfo) -> str:
        return ""

    def model_changed(self, info: ModelInfo) -> None:
        pass

    def sync(self, state: RenderState) -> None:
        pass

    def edited(self, change: StateChange) -> None:
        pass

    def refresh(self) -> None:
        pass

    # -- helpers for subclasses ---------------------------------------------------------------
    @property
    def state(self) -> RenderState:
        return self.app.state

    def edit(self, text: str, merge: Optional[str] = None, **changes) -> None:
        """Replace fields of the current state as one undoable edit of this panel."""
        if self.supported:
            self.app.edit(self.app.state.replace(**changes), text, merge, source=self)

    def run_job(self, name: str, fn: Callable, on_done: Callable[[Any], None], busy: str = "",
                with_progress: bool = False, on_fail: Optional[Callable[[str], None]] = None) -> int:
        return self.ctx.jobs.submit(f"{type(self).__name__}:{name}", fn, on_done, on_fail or self.job_failed,
                                    busy, with_progress)

    def job_failed(self, message: str) -> None:
        self.ctx.report_error(f"{self.title}: {message}")

    def schedule_refresh(self) -> None:
        if self.supported:
            self._refresh_timer.start()

    @contextmanager
    def quiet(self):
        """Block the panel's input widgets' signals: what the panel sets in them is not a user's edit."""
        widgets = [w for w in self.findChildren(QWidget)
                   if isinstance(w, _INPUTS) and not isinstance(w, _NOT_INPUTS) and not w.signalsBlocked()]
        for w in widgets:
            w.blockSignals(True)
        try:
            yield
        finally:
            for w in widgets:
                w.blockSignals(False)

    # -- wiring ------------------------------------------------------------------------------
    def _on_model_changed(self, info: ModelInfo) -> None:
        self.info = info
        self.supported = not self.unsupported(info)
        self.setEnabled(self.supported)
        if self.supported:
            with self.quiet():
                self.model_changed(info)

    def _on_state_changed(self, change: StateChange) -> None:
        if not self.supported:
            return
        if change.source is self:
            self.edited(change)
        elif self.sync_fields is None or change.touches(self.sync_fields):
            if not self.is_shown():  # a background tab: catch up when shown
                self._stale = True
            else:
                self._sync_now()
        if self.preview_fields is None or change.touches(self.preview_fields):
            if self.is_shown():
                self.schedule_refresh()

    def _sync_now(self) -> None:
        self._stale = False
        with self.quiet():
            self.sync(self.app.state)

    def _do_refresh(self) -> None:
        if self.supported and self.is_shown() and self.app.state.model:
            self.refresh()

    def is_shown(self) -> bool:
        return self.shown and self.isVisible()

    def set_shown(self, shown: bool) -> None:
        """Called when the dock's tab becomes current (or leaves): hidden panels skip syncs and previews."""
        self.shown = shown
        if shown:
            if self._stale and self.supported:
                self._sync_now()
            self.schedule_refresh()

    def showEvent(self, e):
        super().showEvent(e)
        self.set_shown(self.shown)
