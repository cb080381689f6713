"""`ganstudio --selftest`: does this installation work?  Offscreen, without touching the user's settings.

1. The default model renders through the Qt-free engine (an image that is not blank).
2. The window opens on it and shows it.
3. Each panel's first action: the first enabled push button of its dock (else slider, spin box, combo
   box, check box) is triggered as a user would, then the window settles (renders and jobs done).  A
   panel the default model cannot use is tried on the next shipped model that can, else on an
   untrained model of the registry.
A Python exception in a slot, an error the window reports, or a render that fails is a failure; file
and message dialogs answer "cancel" at once.  Only public widgets and window methods are used
(``open_model``, the docks), so the check survives changes inside the panels.
"""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from typing import Callable, Iterator, NamedTuple, Optional

ERROR_WORDS = ("error", "failed", "traceback")
MODEL_TIMEOUT_S = 120.0  # to open one model and show its image (an untrained BigGAN-deep: ~13 s on 2 cores)
QUIET_S = 0.3  # the window counts as settled once nothing has been pending for this long (debounces are 60 ms)


class Check(NamedTuple):
    name: str
    status: str  # "ok", "n/a" or "FAIL"
    detail: str


def run_selftest(timeout_s: float = 300.0, out: Callable[[str], None] = print) -> int:
    """Run every check; print one line per check and a verdict; 0 when nothing failed, else 1."""
    deadline = time.monotonic() + timeout_s
    checks: list[Check] = []
    try:
        checks.append(_render_default())
    except Exception as e:  # the check must report, never crash
        checks.append(Check("render", "FAIL", f"{type(e).__name__}: {e}"))
    with tempfile.TemporaryDirectory(prefix="ganstudio-selftest-") as tmp:
        try:
            from PySide6.QtWidgets import QApplication
            if QApplication.instance() is None:
                os.environ["QT_QPA_PLATFORM"] = "offscreen"
            checks += _window_checks(tmp, deadline)
        except Exception as e:
            checks.append(Check("window", "FAIL", f"{type(e).__name__}: {e}"))
    for c in checks:
        out(f"{c.status:4} {c.name}: {c.detail}")
    failed = [c.name for c in checks if c.status == "FAIL"]
    if failed:
        out(f"selftest FAILED: {', '.join(failed)}")
        return 1
    out(f"selftest passed ({sum(c.status == 'ok' for c in checks)} checks ok)")
    return 0


def _render_default() -> Check:
    from ganstudio.engine import Renderer, RenderState
    from ganstudio.gui.app import default_model
    key = default_model()
    res = Renderer("cpu").render(RenderState(model=key, seed=0))
    if res.error or res.image is None:
        return Check(f"render {key}", "FAIL", res.error or "no image")
    if int(res.image.max()) == int(res.image.min()):
        return Check(f"render {key}", "FAIL", f"a blank {res.image.shape} image")
    return Check(f"render {key}", "ok", f"{res.image.shape[1]}x{res.image.shape[0]} in {res.render_ms:.0f} ms (Qt-free engine)")


def _window_checks(settings_dir: str, deadline: float) -> list[Check]:
    from PySide6.QtCore import QSettings

    from ganstudio.gui.app import default_model, make_application
    from ganstudio.gui.main_window import MainWindow
    from ganstudio.models import list_models
    from ganstudio.pretrained import list_pretrained
    app = make_application()
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, settings_dir)  # leave the user's settings alone
    with _no_dialogs(), _errors_recorded(MainWindow) as errors:
        window = MainWindow()
        window.statusBar().messageChanged.connect(
            lambda m: errors.append(m) if any(w in m.lower() for w in ERROR_WORDS) else None)
        try:
            window.show()
            first, shipped = default_model(), list_pretrained()
            models = [first] + [e["name"] for e in shipped if e["name"] != first]
            # a panel no shipped model enables (Attention: no SAGAN ships) is tried on an untrained
            # model of a family that does not ship
            families = {e.get("model") for e in shipped}
            models += [f"registry:{name}" for name in list_models() if name not in families]
            return _exercise(app, window, models, errors, deadline)
        finally:
            window.close()
            shutdown = getattr(window, "shutdown", None)
            if callable(shutdown):
                shutdown()
            app.processEvents()


def _exercise(app, window, models: list[str], errors: list[str], deadline: float) -> list[Check]:
    from PySide6.QtWidgets import QDockWidget
    docks = [d for d in window.findChildren(QDockWidget) if d.parent() is window]
    pending = {d.windowTitle(): d for d in docks}
    checks: list[Check] = []
    for i, key in enumerate(models):
        if not pending or time.monotonic() > deadline:
            break
        errors.clear()
        shown = _open(app, window, key, errors, min(deadline, time.monotonic() + MODEL_TIMEOUT_S))
        if i == 0:
            checks.append(Check(f"window on {key}", "ok" if shown is None else "FAIL", shown or "image shown"))
            if shown is not None:
                return checks
        elif shown is not None:
            checks.append(Check(f"window on {key}", "FAIL", shown))
            continue
        for title, dock in list(pending.items()):
            control = _first_control(dock)
            if control is None:  # a background tab may fill its widgets only once shown
                dock.raise_()
                _settle(app, window, deadline)
                control = _first_control(dock)
            if control is None:
                continue
            del pending[title]
            checks.append(_act(app, window, title, key, control, errors, deadline))
    checks += [Check(f"panel {t}", "n/a", "no model enables it") for t in pending]
    return checks


def _open(app, window, key: str, errors: list[str], deadline: float) -> Optional[str]:
    """Open a model and wait for its image; None when shown, else what went wrong."""
    before = getattr(window, "last_result", None)
    window.open_model(key)

    def shown() -> bool:
        res = getattr(window, "last_result", None)
        return res is not before and res is not None and getattr(res, "image", None) is not None

    if not _wait(app, lambda: shown() or bool(errors), deadline):
        return "timed out waiting for the image"
    if errors:
        return errors[0]
    _settle(app, window, deadline)
    return errors[0] if errors else None


def _act(app, window, title: str, key: str, control, errors: list[str], deadline: float) -> Check:
    name = f"panel {title}"
    try:
        _raise_dock(control)
        app.processEvents()
        errors.clear()
        what = _trigger(control)
        _settle(app, window, deadline)
    except Exception as e:  # a panel that raises fails its check, the others still run
        return Check(name, "FAIL", f"{type(e).__name__}: {e}")
    if errors:
        return Check(name, "FAIL", f"{what} on {key}: {errors[0]}")
    if time.monotonic() > deadline:
        return Check(name, "FAIL", f"{what} on {key}: did not finish in time")
    return Check(name, "ok", f"{what} on {key}")


def _raise_dock(widget) -> None:
    from PySide6.QtWidgets import QDockWidget
    w = widget
    while w is not None and not isinstance(w, QDockWidget):
        w = w.parentWidget()
    if w is not None:
        w.raise_()


def _first_control(dock):
    """The panel's first enabled, shown control, by kind: push button, slider, spin box, combo, check box."""
    from PySide6.QtWidgets import QAbstractSlider, QAbstractSpinBox, QCheckBox, QComboBox, QPushButton
    for kind in (QPushButton, QAbstractSlider, QAbstractSpinBox, QComboBox, QCheckBox):
        for w in dock.findChildren(kind):
            if w.isEnabled() and w.isVisibleTo(dock) and not _is_scrollbar(w):
                if isinstance(w, QComboBox) and w.count() < 1:
                    continue
                return w
    return None


def _is_scrollbar(w) -> bool:
    from PySide6.QtWidgets import QScrollBar
    return isinstance(w, QScrollBar)


def _trigger(control) -> str:
    """Use the control once as a user would; returns what was done."""
    from PySide6.QtWidgets import QAbstractSlider, QAbstractSpinBox, QComboBox, QPushButton
    label = (control.text() if hasattr(control, "text") and callable(control.text) else "") or control.objectName()
    label = label.replace("&", "")
    if isinstance(control, QPushButton):
        control.click()
        return f"clicked '{label}'"
    if isinstance(control, QAbstractSlider):
        control.triggerAction(QAbstractSlider.SliderPageStepAdd)
        control.sliderReleased.emit()
        return f"moved a slider to {control.value()}"
    if isinstance(control, QAbstractSpinBox):
        control.stepUp()
        return "stepped a spin box up"
    if isinstance(control, QComboBox):
        if control.count() == 1:  # nothing else to choose: choose the only item again
            control.activated.emit(0)
            control.currentIndexChanged.emit(0)
        else:
            control.setCurrentIndex((control.currentIndex() + 1) % control.count())
        return f"chose '{control.currentText()}'"
    control.click()
    return f"toggled '{label}'"


# -- waiting -------------------------------------------------------------------------------------------

def _wait(app, condition: Callable[[], bool], deadline: float) -> bool:
    while time.monotonic() < deadline:
        app.processEvents()
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def _busy(window) -> bool:
    """A render or a job still pending, as far as the window tells."""
    for owner in (getattr(window, "jobs", None), getattr(getattr(window, "bridge", None), "worker", None)):
        idle = getattr(owner, "idle", None)
        if callable(idle) and not idle():
            return True
    label = getattr(window, "busy_label", None)
    if label is not None and label.text():
        return True
    state = getattr(getattr(window, "app", None), "state", None)
    shown = getattr(window, "displayed_state", None)
    return state is not None and getattr(state, "model", None) and shown is not None and shown != state


def _settle(app, window, deadline: float) -> None:
    """Process events until nothing has been pending for QUIET_S (or the deadline)."""
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        app.processEvents()
        now = time.monotonic()
        if _busy(window):
            quiet_since = now
        elif now - quiet_since >= QUIET_S:
            return
        time.sleep(0.01)


# -- guards ----------------------------------------------------------------------------------------------

@contextlib.contextmanager
def _errors_recorded(window_class) -> Iterator[list[str]]:
    """Collect exceptions raised in slots and errors the window reports, while it runs."""
    errors: list[str] = []
    old_hook = sys.excepthook
    sys.excepthook = lambda t, v, tb: errors.append(f"{t.__name__}: {v}")
    original = getattr(window_class, "report_error", None)

    def report_error(self, message, *args, **kw):
        errors.append(str(message))
        return original(self, message, *args, **kw)

    if original is not None:
        window_class.report_error = report_error
    try:
        yield errors
    finally:
        sys.excepthook = old_hook
        if original is not None:
            window_class.report_error = original


@contextlib.contextmanager
def _no_dialogs() -> Iterator[None]:
    """Modal dialogs would wait forever offscreen: each answers as if cancelled."""
    from PySide6.QtWidgets import QColorDialog, QDialog, QFileDialog, QInputDialog, QMenu, QMessageBox
    from PySide6.QtGui import QColor
    patches = [
        (QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: ("", ""))),
        (QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: ("", ""))),
        (QFileDialog, "getOpenFileNames", staticmethod(lambda *a, **k: ([], ""))),
        (QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: "")),
        (QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.No)),
        (QMessageBox, "warning", staticmethod(lambda *a, **k: QMessageBox.Ok)),
        (QMessageBox, "critical", staticmethod(lambda *a, **k: QMessageBox.Ok)),
        (QMessageBox, "information", staticmethod(lambda *a, **k: QMessageBox.Ok)),
        (QInputDialog, "getText", staticmethod(lambda *a, **k: ("", False))),
        (QInputDialog, "getInt", staticmethod(lambda *a, **k: (0, False))),
        (QInputDialog, "getItem", staticmethod(lambda *a, **k: ("", False))),
        (QColorDialog, "getColor", staticmethod(lambda *a, **k: QColor())),
        (QDialog, "exec", lambda self, *a, **k: 0),
        (QMenu, "exec", lambda self, *a, **k: None),
    ]
    saved = [(cls, name, cls.__dict__.get(name)) for cls, name, _ in patches]
    for cls, name, fn in patches:
        setattr(cls, name, fn)
    try:
        yield
    finally:
        for cls, name, old in saved:
            if old is None:
                delattr(cls, name)
            else:
                setattr(cls, name, old)
