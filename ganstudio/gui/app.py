"""Application start-up: the QApplication, its identity for QSettings, and the default model."""
from __future__ import annotations

import sys
from typing import Optional

# Untrained fallback when nothing is shipped: small and quick to render on a CPU.
UNTRAINED_FALLBACK = "registry:dcgan"


def default_model() -> str:
    """The shipped model marked default (else the first shipped one), else an untrained DCGAN."""
    from ganstudio.pretrained import default_model as shipped_default
    return shipped_default() or UNTRAINED_FALLBACK


def make_application():
    from PySide6.QtWidgets import QApplication

    from ganstudio.gui.settings import APPLICATION, ORGANIZATION
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    return app


def run_app(checkpoint: Optional[str] = None) -> int:
    """Open the explorer on ``checkpoint`` (a file, session .json or shipped name) or the default model."""
    from ganstudio.gui.preflight import problem
    msg = problem()
    if msg:  # Qt would abort with a core dump instead
        print(f"ganstudio: {msg}", file=sys.stderr)
        return 2
    app = make_application()
    from ganstudio.gui.main_window import MainWindow

    window = MainWindow()
    from ganstudio.engine.process import configure_interactive_process
    configure_interactive_process(window.render.device.type)
    from ganstudio.engine.latent_files import is_latents_file
    if checkpoint and not is_latents_file(checkpoint):
        window.open_path(checkpoint)
    else:  # latents need a model: the default one, then they are imported as bookmarks
        window.open_model(default_model())
        if checkpoint:
            window.open_path(checkpoint)
    window.show()
    return app.exec()
