"""Application start-up (placeholder until the explorer lands)."""
from __future__ import annotations

import sys


def run_app(checkpoint: str | None = None) -> int:
    from PySide6.QtWidgets import QApplication, QLabel

    app = QApplication.instance() or QApplication(sys.argv[:1])
    label = QLabel("GAN Studio — the explorer window is under construction.")
    label.setWindowTitle("GAN Studio")
    label.resize(480, 120)
    label.show()
    return app.exec()
