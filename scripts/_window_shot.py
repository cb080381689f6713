"""Shared by the one-panel screenshot scripts: a main window on a model, waiting without fixed sleeps, saving a grab.

    app, win, wait = open_window("shapes-stylegan2", seed=4)   # waits for the first image
    ... drive a panel, wait(lambda: <its result is shown>) ...
    save_grab(win, Path("docs/screenshots/NN_name.png"))
"""
from __future__ import annotations

import io
import tempfile
import time
from pathlib import Path


def open_window(model: str, seed: int = 0, size=(1600, 1000), timeout: float = 900.0):
    """(app, window, wait) with ``model`` open at ``seed`` and its image shown; settings in a temporary folder.
    ``wait(pred)`` runs the event loop until ``pred()`` holds (at most ``timeout`` s), then a little more."""
    from PySide6.QtCore import QSettings
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, tempfile.mkdtemp(prefix="ganstudio-shot-"))
    from ganstudio.engine import Renderer
    from ganstudio.gui.app import make_application
    from ganstudio.gui.main_window import MainWindow
    app = make_application()

    def wait(pred, limit: float = timeout):
        end = time.time() + limit
        while not pred() and time.time() < end:
            app.processEvents()
            time.sleep(0.02)
        for _ in range(20):  # let the last repaint land
            app.processEvents()
            time.sleep(0.02)

    win = MainWindow(renderer=Renderer("cpu"), model=model)
    win.resize(*size)
    win.show()
    wait(lambda: win.app.info is not None and win.displayed_state == win.app.state)
    win.panels["LatentPanel"].seed.setValue(seed)
    wait(lambda: win.displayed_state == win.app.state)
    return app, win, wait


def save_grab(win, out: Path) -> None:
    """The window's pixels as a 256-colour PNG (UI screenshots stay small without visible loss)."""
    from PIL import Image
    from PySide6.QtCore import QBuffer, QIODevice
    qb = QBuffer()
    qb.open(QIODevice.WriteOnly)
    win.grab().toImage().save(qb, "PNG")
    pil = Image.open(io.BytesIO(bytes(qb.data()))).convert("RGB")
    out.parent.mkdir(parents=True, exist_ok=True)
    pil.quantize(256).save(out, "PNG", optimize=True)
