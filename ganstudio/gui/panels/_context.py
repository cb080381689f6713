"""What a panel is handed instead of the window: the state, the render service, a job runner, an error reporter.

Cross-panel actions are methods of the application core (bookmark the current state, ...) or
these hooks and signals, which the window connects; no panel imports the window or looks another
panel up.  ``standalone_context()`` builds a context without a window, for a panel on its own
(tests, a future plugin host).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

from PySide6.QtCore import QObject, Signal

from ganstudio.engine import Renderer, RenderResult, RenderState
from ganstudio.engine.render_service import RenderService
from ganstudio.gui.app_state import AppState
from ganstudio.gui.jobs import JobRunner


class ViewSignals(QObject):
    """What happens in the main view that panels may follow."""
    image_clicked = Signal(float, float)  # a left click on the main image, as fractions of its width and height


def _ignore(*_args, **_kw) -> None:
    pass


@dataclass(frozen=True)
class PanelContext:
    app: AppState  # the application state (its core is the only writer)
    render: RenderService  # renders previews and computes latents / directions, off the GUI thread (in jobs)
    jobs: JobRunner  # background work; each channel keeps its newest job
    report_error: Callable[..., None]  # report_error(message, dialog=False)
    show_message: Callable[[str, int], None] = _ignore  # a transient status line: (text, milliseconds)
    open_model: Callable[..., None] = _ignore  # open_model(key, state=None, bookmarks=None, text="Open")
    copy_image: Callable[[], None] = _ignore  # the main image to the clipboard
    shown_result: Callable[[], Optional[RenderResult]] = lambda: None  # the main image's last render on show
    view: ViewSignals = field(default_factory=ViewSignals)

    def displayed_image(self, state: RenderState):
        """The main image's pixels when they show ``state`` in full (not a drag's preview), else None."""
        res = self.shown_result()
        return res.image if res is not None and res.state == state and not res.preview else None


def standalone_context(renderer: Optional[Renderer] = None, errors: Optional[list] = None) -> PanelContext:
    """A context with its own state, render service and job runner, and no window: errors go to ``errors``."""
    sink = errors if errors is not None else []
    app = AppState()
    return PanelContext(app=app, render=RenderService(renderer or Renderer("cpu"), _ignore), jobs=JobRunner(app),
                        report_error=lambda message, dialog=False: sink.append(message),
                        show_message=lambda text, ms=0: None)
