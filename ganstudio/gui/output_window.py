"""A clean output for projection: the main image alone, full screen on a chosen screen, no chrome.

The window takes the main window's actions, so every shortcut (seeds, undo, zoom…) works with either
window in front; Escape closes it.  It shows the same frames as the main view (smooth or nearest
scaling, its own choice) and never the main view's messages.
"""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QKeySequence, QScreen
from PySide6.QtWidgets import QVBoxLayout, QWidget

from ganstudio.gui.image_view import ImageView
from ganstudio.gui.settings import settings, text as settings_text


def screen_label(screen: QScreen) -> str:
    g = screen.geometry()
    return f"{screen.name() or 'screen'} ({g.width()}×{g.height()})"


class OutputWindow(QWidget):
    """Frameless, full screen, the image only; shortcuts go to the main window's actions."""

    def __init__(self, main, parent: Optional[QWidget] = None):
        super().__init__(parent, Qt.Window | Qt.FramelessWindowHint)
        self.setWindowTitle("GAN Studio — output")
        self.main = main
        self.view = ImageView()
        self.view.setMinimumSize(1, 1)
        self.view.setFocusPolicy(Qt.NoFocus)
        self.view.setCursor(Qt.BlankCursor)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.view)
        self.addActions(main.actions())  # the main window's shortcuts, live while this one is in front
        self.view.set_image(main.view.image)
        main.bridge.rendered.connect(self._on_rendered)

    def _on_rendered(self, res, qimg) -> None:
        # The frames the main view shows: the current model's, without errors (the main window says those).
        if res.state is not None and res.state.model == self.main.app.state.model and not res.error:
            self.view.set_image(qimg)

    def show_on(self, screen: QScreen) -> None:
        """Full screen on ``screen``; the main window keeps the keyboard (its shortcuts work here too)."""
        if self.isVisible():
            self.hide()  # a full-screen window moves to another screen only from the normal state
        self.setScreen(screen)
        self.setGeometry(screen.geometry())
        self.showFullScreen()
        self.main.activateWindow()

    def keyPressEvent(self, e):
        if QKeySequence(e.keyCombination()) == QKeySequence(Qt.Key_Escape):
            self.close()
            return
        super().keyPressEvent(e)

class OutputControl:
    """View ▸ Output window: the screens, smooth scaling; remembers both in the settings."""

    def __init__(self, main, view_menu):
        self.main = main
        self.window: Optional[OutputWindow] = None
        self.menu = view_menu.addMenu("&Output window")
        self.menu.aboutToShow.connect(self.fill)
        smooth = view_menu.addAction("&Smooth scaling (bilinear)")
        smooth.setCheckable(True)
        smooth.toggled.connect(self.set_main_smooth)
        smooth.setChecked(settings().value("view/smooth", False) in (True, "true"))
        self.main_smooth_action = smooth

    def fill(self) -> None:
        self.menu.clear()
        for screen in QGuiApplication.screens():
            act = self.menu.addAction(f"Show on {screen_label(screen)}", lambda s=screen: self.show_on(s))
            act.setCheckable(True)
            act.setChecked(self.window is not None and self.window.isVisible() and self.window.screen() is screen)
        smooth = self.menu.addAction("Smooth scaling (bilinear)")
        smooth.setCheckable(True)
        smooth.setChecked(self.output_smooth())
        smooth.toggled.connect(self.set_output_smooth)
        close = self.menu.addAction("Close output window", self.close)
        close.setEnabled(self.window is not None and self.window.isVisible())

    def output_smooth(self) -> bool:
        return settings().value("output/smooth", True) in (True, "true")

    def set_output_smooth(self, on: bool) -> None:
        settings().setValue("output/smooth", bool(on))
        if self.window is not None:
            self.window.view.set_smooth(on)

    def set_main_smooth(self, on: bool) -> None:
        settings().setValue("view/smooth", bool(on))
        self.main.view.set_smooth(on)

    def show_on(self, screen: Optional[QScreen] = None) -> OutputWindow:
        """The output window full screen on ``screen`` (default: the one chosen last, else the last screen)."""
        if screen is None:
            screens = QGuiApplication.screens()
            named = [s for s in screens if screen_label(s) == settings_text("output/screen")]
            screen = (named or screens)[-1]
        if self.window is None:  # one window, hidden when closed; it closes with the main window
            self.window = OutputWindow(self.main, self.main)
        self.window.view.set_image(self.main.view.image)
        self.window.view.set_smooth(self.output_smooth())
        self.window.show_on(screen)
        settings().setValue("output/screen", screen_label(screen))
        return self.window

    def close(self) -> None:
        if self.window is not None:
            self.window.close()


def install_output_window(main, view_menu) -> OutputControl:
    return OutputControl(main, view_menu)
