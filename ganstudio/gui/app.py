"""Application start-up: the QApplication, its identity for QSettings, and the default model."""
from __future__ import annotations

import sys
from typing import Optional

# Untrained fallbacks, most capable first (style layers, noise, truncation light up the most panels).
PREFERRED_UNTRAINED = ("stylegan2", "biggan", "progan", "sngan-projection", "dcgan")


def default_model() -> str:
    """The shipped model marked default, else the first shipped one, else the best registered untrained model."""
    from ganstudio.models import list_models
    from ganstudio.pretrained import list_pretrained

    shipped = list_pretrained()
    for entry in shipped:
        if entry.get("default"):
            return entry["name"]
    if shipped:
        return shipped[0]["name"]
    names = list_models()
    for name in PREFERRED_UNTRAINED:
        if name in names:
            return f"registry:{name}"
    return f"registry:{names[0]}"


def make_application():
    from PySide6.QtWidgets import QApplication

    from ganstudio.gui.settings import APPLICATION, ORGANIZATION
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    return app


def run_app(checkpoint: Optional[str] = None) -> int:
    """Open the explorer on ``checkpoint`` (a file, session .json or shipped name) or the default model."""
    app = make_application()
    from ganstudio.gui.main_window import MainWindow

    window = MainWindow()
    if checkpoint:
        window.open_path(checkpoint)
    else:
        window.open_model(default_model())
    window.show()
    return app.exec()
