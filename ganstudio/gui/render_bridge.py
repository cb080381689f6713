"""The main image's renders: AsyncRenderer on its worker thread, results marshalled to the GUI thread."""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QObject, Qt, Signal

from ganstudio.engine import AsyncRenderer, Renderer, RenderResult, RenderState
from ganstudio.gui.images import to_qimage


class RenderBridge(QObject):
    """``submit(state)``; ``rendered(result, qimage)`` arrives on the GUI thread (qimage None on error)."""

    rendered = Signal(object, object)
    _from_worker = Signal(object, object)

    def __init__(self, renderer: Renderer, parent: Optional[QObject] = None):
        super().__init__(parent)
        self.renderer = renderer
        self._from_worker.connect(self.rendered, Qt.QueuedConnection)
        self.worker = AsyncRenderer(renderer, self._on_worker_result)

    def submit(self, state: RenderState) -> int:
        return self.worker.submit(state)

    def _on_worker_result(self, res: RenderResult) -> None:
        # Runs on the render thread: build the QImage here so the GUI thread only paints it.
        qimg = to_qimage(res.image) if res.image is not None else None
        self._from_worker.emit(res, qimg)

    def close(self, timeout: float = 5.0) -> None:
        self.worker.close(timeout)
