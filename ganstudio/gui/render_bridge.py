"""The main image's renders for the GUI thread: the render service's results marshalled back as a signal."""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QObject, Qt, Signal

from ganstudio.engine import Renderer, RenderResult, RenderState
from ganstudio.engine.render_service import RenderService
from ganstudio.gui.images import to_qimage


class RenderBridge(QObject):
    """``submit(state)``; ``rendered(result, qimage)`` arrives on the GUI thread (qimage None on error).

    ``service`` (engine.render_service) owns the renderer and its worker; a device switch happens there.
    """

    rendered = Signal(object, object)
    _from_worker = Signal(object, object)

    def __init__(self, renderer: Renderer, parent: Optional[QObject] = None):
        super().__init__(parent)
        self._from_worker.connect(self.rendered, Qt.QueuedConnection)
        self.service = RenderService(renderer, self._on_worker_result)

    @property
    def renderer(self) -> Renderer:
        return self.service.renderer

    @property
    def worker(self):
        """The main image's newest-wins runner (tests read in_flight, queued, completed)."""
        return self.service.worker

    def submit(self, state: RenderState) -> int:
        return self.service.submit(state)

    def _on_worker_result(self, res: RenderResult) -> None:
        # Runs on the render thread: build the QImage here so the GUI thread only paints it.
        qimg = to_qimage(res.image) if res.image is not None else None
        self._from_worker.emit(res, qimg)

    def close(self, timeout: float = 5.0) -> None:
        self.service.close(timeout)
