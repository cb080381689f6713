"""The render device: auto / cpu / cuda / mps (those available), kept in QSettings "device";
and the render precision: auto / fp32 / fp16, kept in QSettings "precision".

Switching builds a new Renderer on that device (the old one's cached nets go with it) and hands it
to the render service, which loads the open model there off the GUI thread and then renders with it.
"""
from __future__ import annotations

from typing import Optional

import torch
from PySide6.QtGui import QAction, QActionGroup

from ganstudio.engine import Renderer, pick_device
from ganstudio.engine.process import render_on_every_core
from ganstudio.engine.renderer import PRECISIONS
from ganstudio.gui.settings import settings, text as settings_text

CHOICES = ("auto", "cpu", "cuda", "mps")
PRECISION_LABELS = {"auto": "Auto (fp16 on a GPU where exact enough)", "fp32": "Always fp32",
                    "fp16": "fp16 where it stays finite"}


def available_devices() -> list[str]:
    """The choices this machine can honour: auto and cpu always, cuda / mps when present."""
    out = []
    for name in CHOICES:
        try:
            pick_device(name)
        except ValueError:
            continue
        out.append(name)
    return out


def preferred_precision() -> str:
    pref = settings_text("precision", "auto")
    return pref if pref in PRECISIONS else "auto"


def preferred_renderer() -> Renderer:
    """A renderer on the device stored in the settings; an unavailable one falls back to auto."""
    pref = settings_text("device", "auto")
    try:
        return Renderer(pick_device(pref), precision=preferred_precision())
    except ValueError:
        return Renderer(pick_device("auto"), precision=preferred_precision())


def _label(name: str) -> str:
    if name == "auto":
        return f"Auto ({pick_device('auto')})"
    return {"cpu": "CPU", "cuda": "CUDA GPU", "mps": "Apple MPS"}[name]


def install_device_menu(win, parent_menu) -> None:
    """Add View > Device with one checkable entry per available device; the stored choice is checked."""
    menu = parent_menu.addMenu("&Device")
    group = QActionGroup(win)
    group.setExclusive(True)
    current = settings_text("device", "auto")
    win.device_actions = {}
    for name in available_devices():
        act = QAction(_label(name), win)
        act.setCheckable(True)
        act.setChecked(name == current)
        act.triggered.connect(lambda _=False, n=name: set_device(win, n))
        group.addAction(act)
        menu.addAction(act)
        win.device_actions[name] = act
    if current not in win.device_actions and "auto" in win.device_actions:
        win.device_actions["auto"].setChecked(True)
    win.device_menu = menu

    pmenu = parent_menu.addMenu("&Precision")
    pgroup = QActionGroup(win)
    pgroup.setExclusive(True)
    win.precision_actions = {}
    for name, text in PRECISION_LABELS.items():
        act = QAction(text, win)
        act.setCheckable(True)
        act.setChecked(name == preferred_precision())
        act.triggered.connect(lambda _=False, n=name: set_precision(win, n))
        pgroup.addAction(act)
        pmenu.addAction(act)
        win.precision_actions[name] = act
    win.precision_menu = pmenu


def set_device(win, preference: str) -> Optional[torch.device]:
    """Render on ``preference`` from now on (and remember it); None with an error shown if unavailable."""
    try:
        device = pick_device(preference)
    except ValueError as e:
        win.report_error(str(e), dialog=True)
        return None
    previous = settings_text("device", "auto")
    settings().setValue("device", preference)
    act = getattr(win, "device_actions", {}).get(preference)
    if act is not None:
        act.setChecked(True)
    if device == win.render.device and preference == previous:
        return device  # nothing changes; a changed preference on the same device still starts afresh
    if device.type == "cpu":
        render_on_every_core()  # as at start-up (engine.process)
    _switch_renderer(win, Renderer(device, precision=preferred_precision()), f"Moving the model to {device}",
                     undo=lambda: _choose(win, "device", previous, getattr(win, "device_actions", {})))
    win.statusBar().showMessage(f"Rendering on {device}", 4000)
    return device


def set_precision(win, precision: str) -> str:
    """Render in ``precision`` (auto / fp32 / fp16) from now on, remembered; the open model reloads."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}")
    previous = win.render.precision
    _choose(win, "precision", precision, getattr(win, "precision_actions", {}))
    if precision != win.render.precision:
        _switch_renderer(win, Renderer(win.render.device, precision=precision), "Reloading the model",
                         undo=lambda: _choose(win, "precision", previous, getattr(win, "precision_actions", {})))
    return precision


def _choose(win, key: str, value: str, actions: dict) -> None:
    """Remember ``value`` for ``key`` and check its menu action."""
    settings().setValue(key, value)
    act = actions.get(value)
    if act is not None:
        act.setChecked(True)


def _switch_renderer(win, renderer: Renderer, busy: str, undo=None) -> None:
    """Render with ``renderer`` from now on.  The render service swaps it in once the open model has
    loaded there (off the GUI thread); until then rendering goes on as before.  If that load fails,
    nothing changes and ``undo`` restores the menu choice: a failed switch must not leave a window
    that cannot render."""
    service, previous = win.render, win.render.renderer
    if win.pending_open is not None:  # a model was still loading: load that one, on the new renderer
        service.switch(renderer)
        win.device_label.setText(f"device: {renderer.device}")
        win.open_model(*win.pending_open)
        return
    key = win.app.state.model if win.app.info is not None else ""

    def switched(info):
        label = f"device: {renderer.device}"
        if info is not None:
            label += f" · {info.precision}"
            win.device_label.setToolTip(info.precision_note)
        win.device_label.setText(label)
        win.displayed_state = None  # the shown frame came from the old renderer
        win.app.core.rerender(info)  # the same model, with the precision it now renders in: everything re-renders

    def failed(msg: str):
        if undo is not None:
            undo()
        win.report_error(f"Could not load {key} on {renderer.device}:\n{msg}\n"
                         f"Rendering goes on as before ({previous.device}, {previous.precision}).", dialog=True)
    win.jobs.submit("model", lambda: service.switch(renderer, key), switched, failed, busy=busy)
