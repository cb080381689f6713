"""Base of every dock panel: wiring to the app state, capability gating, debounced auxiliary renders."""
from __future__ import annotations

from typing import Any, Callable, Optional

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QWidget

from ganstudio.engine import ModelInfo, RenderState


class Panel(QWidget):
    """Subclasses set ``title``, build widgets in ``__init__`` and override the hooks below.

    - ``unsupported(info)``: a reason the model cannot use this panel ("" when it can); decided
      from ``info.capabilities`` only, never from the family name.
    - ``model_changed(info)``: rebuild model-dependent widgets (only for supported models).
    - ``sync(state)``: mirror the state into the widgets; edits made meanwhile are ignored.
    - ``refresh()``: re-render the panel's own previews; debounced and only while visible.
    """

    title = "Panel"

    def __init__(self, ctx, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.ctx = ctx
        self.app = ctx.app
        self.info: Optional[ModelInfo] = None
        self.supported = False
        self._syncing = False
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

    def refresh(self) -> None:
        pass

    # -- helpers for subclasses ---------------------------------------------------------------
    @property
    def state(self) -> RenderState:
        return self.app.state

    def edit(self, text: str, merge: Optional[str] = None, **changes) -> None:
        """Replace fields of the current state as one undoable edit (ignored while mirroring the state)."""
        if self._syncing or not self.supported:
            return
        self.app.edit(self.app.state.replace(**changes), text, merge)

    def run_job(self, name: str, fn: Callable, on_done: Callable[[Any], None], busy: str = "",
                with_progress: bool = False, on_fail: Optional[Callable[[str], None]] = None) -> int:
        return self.ctx.jobs.submit(f"{type(self).__name__}:{name}", fn, on_done, on_fail or self.job_failed,
                                    busy, with_progress)

    def job_failed(self, message: str) -> None:
        self.ctx.report_error(f"{self.title}: {message}")

    def schedule_refresh(self) -> None:
        if self.supported:
            self._refresh_timer.start()

    # -- wiring ------------------------------------------------------------------------------
    def _on_model_changed(self, info: ModelInfo) -> None:
        self.info = info
        self.supported = not self.unsupported(info)
        self.setEnabled(self.supported)
        if self.supported:
            self._syncing = True
            try:
                self.model_changed(info)
            finally:
                self._syncing = False

    def _on_state_changed(self, state: RenderState) -> None:
        if not self.supported:
            return
        if not self.is_shown():  # a background tab: catch up when shown
            self._stale = True
            return
        self._sync_now()
        self.schedule_refresh()

    def _sync_now(self) -> None:
        self._stale = False
        self._syncing = True
        try:
            self.sync(self.app.state)
        finally:
            self._syncing = False

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
