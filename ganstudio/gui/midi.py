"""MIDI learn: right-click a slider, "Learn MIDI", turn a knob; that knob (a control change) then moves the slider.

mido reads the port (python-rtmidi's backend) and calls back on its own thread; the messages come to
the GUI thread through a queued signal and move the slider as the mouse would, so the panel makes
the edit.  Mappings are kept in the settings and in session files (``to_list`` / ``load``).  With no
backend or no device the Tools ▸ MIDI input menu says so and nothing else changes.
"""
from __future__ import annotations

import json
from typing import Optional

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QMenu, QSlider

from ganstudio.gui.settings import settings, text as settings_text
from ganstudio.gui.widgets import FloatSlider

CC_MAX = 127
MAX_MAPPINGS = 16 * 128  # every controller on every channel


def input_ports() -> tuple[list[str], str]:
    """(MIDI input names, "" or why there are none: no backend, no sequencer, no device)."""
    try:
        import mido
        names = mido.get_input_names()
    except ImportError as e:
        return [], f"no MIDI backend ({e.name or e} is not installed)"
    except Exception as e:  # rtmidi raises SystemError without an ALSA sequencer / CoreMIDI
        return [], f"no MIDI backend ({str(e).strip()[:120]})"
    return list(names), "" if names else "no MIDI device found"


def window_sliders(window) -> dict:
    """Every panel slider by a stable id: "TruncationPanel/0" (the panel's FloatSliders in order), then
    "StagePanel/q0" (its plain QSliders, e.g. the ProGAN stage)."""
    out: dict = {}
    for name, panel in window.panels.items():
        floats = panel.findChildren(FloatSlider)
        for i, slider in enumerate(floats):
            out[f"{name}/{i}"] = slider
        inner = {id(f.slider) for f in floats}
        for j, slider in enumerate(s for s in panel.findChildren(QSlider) if id(s) not in inner):
            out[f"{name}/q{j}"] = slider
    return out


def move_slider(slider, value: int) -> None:
    """A control-change value (0..127) as the slider's position over its whole range, as a drag would set it."""
    f = min(max(int(value), 0), CC_MAX) / CC_MAX
    if isinstance(slider, FloatSlider):
        slider.set_value(slider.lo + (slider.hi - slider.lo) * f)
    else:
        slider.setValue(round(slider.minimum() + (slider.maximum() - slider.minimum()) * f))


def slider_label(slider) -> str:
    return slider.label.text() if isinstance(slider, FloatSlider) else (slider.accessibleName() or "slider")


def parse_mappings(value, known) -> dict[tuple[int, int], str]:
    """{(channel, control): slider id} from a saved list; entries of another shape or for unknown sliders
    are dropped (a hand-edited settings file or session never stops the app)."""
    out: dict = {}
    if not isinstance(value, list):
        return out
    for item in value[:MAX_MAPPINGS]:
        if not isinstance(item, dict):
            continue
        ch, cc, sid = item.get("channel"), item.get("control"), item.get("slider")
        if (isinstance(ch, int) and not isinstance(ch, bool) and 0 <= ch <= 15 and isinstance(cc, int)
                and not isinstance(cc, bool) and 0 <= cc <= CC_MAX and isinstance(sid, str) and sid in known):
            out[(ch, cc)] = sid
    return out


class MidiController(QObject):
    """The window's MIDI: an input port, the learn state, the mappings; ``receive`` takes mido messages from
    any thread."""
    _arrived = Signal(object)
    logged = Signal(str)
    mappings_changed = Signal()

    def __init__(self, sliders: dict, parent: Optional[QObject] = None):
        super().__init__(parent)
        self.sliders = sliders
        self.mappings: dict[tuple[int, int], str] = {}
        self.learning: Optional[str] = None  # the slider waiting for a knob
        self.port = None
        self.port_name = ""
        self._arrived.connect(self._on_message, Qt.QueuedConnection)
        self.load(_saved_mappings(), save=False)

    # -- ports -------------------------------------------------------------------------------------------
    def open_port(self, name: str) -> bool:
        self.close()
        try:
            import mido
            self.port = mido.open_input(name, callback=self.receive)
        except Exception as e:  # no backend, the device unplugged
            self.logged.emit(f"MIDI input {name!r} could not be opened: {str(e).strip()[:120]}")
            return False
        self.port_name = name
        settings().setValue("midi/port", name)
        self.logged.emit(f"MIDI input {name}")
        return True

    def close(self) -> None:
        if self.port is not None:
            try:
                self.port.close()
            except Exception:  # a port of a device gone: nothing left to close
                pass
            self.port, self.port_name = None, ""

    # -- messages ------------------------------------------------------------------------------------------
    def receive(self, message) -> None:
        """A mido message, from the port's thread (or a test): handled on the GUI thread."""
        self._arrived.emit(message)

    def _on_message(self, message) -> None:
        if getattr(message, "type", None) != "control_change":
            return  # notes, clock, sysex: not mapped
        key = (int(message.channel), int(message.control))
        if self.learning is not None:
            sid, self.learning = self.learning, None
            self.mappings = {k: v for k, v in self.mappings.items() if v != sid}  # one knob per slider
            self.mappings[key] = sid
            self._save()
            self.logged.emit(f"MIDI CC {key[1]} (channel {key[0] + 1}) -> {self.label(sid)}")
            return
        sid = self.mappings.get(key)
        slider = self.sliders.get(sid)
        if slider is not None and slider.isEnabled():
            move_slider(slider, message.value)

    # -- learning ------------------------------------------------------------------------------------------
    def learn(self, sid: str) -> None:
        self.learning = sid
        self.logged.emit(f"MIDI learn: turn a knob for {self.label(sid)}")

    def forget(self, sid: str) -> None:
        self.mappings = {k: v for k, v in self.mappings.items() if v != sid}
        self._save()

    def mapping_of(self, sid: str) -> Optional[tuple[int, int]]:
        return next((k for k, v in self.mappings.items() if v == sid), None)

    def label(self, sid: str) -> str:
        slider = self.sliders.get(sid)
        return f"{sid.split('/')[0].replace('Panel', '')} {slider_label(slider)}" if slider is not None else sid

    def slider_menu(self, sid: str, parent=None) -> QMenu:
        """The right-click menu of one slider."""
        menu = QMenu(parent)
        names, why = ([self.port_name], "") if self.port is not None else input_ports()
        learn = menu.addAction("Learn MIDI" if names else f"Learn MIDI ({why})", lambda: self.learn(sid))
        learn.setEnabled(bool(names))
        mapped = self.mapping_of(sid)
        if mapped is not None:
            menu.addAction(f"Forget MIDI (CC {mapped[1]}, channel {mapped[0] + 1})", lambda: self.forget(sid))
        return menu

    # -- keeping ---------------------------------------------------------------------------------------------
    def to_list(self) -> list[dict]:
        return [{"channel": ch, "control": cc, "slider": sid} for (ch, cc), sid in sorted(self.mappings.items())]

    def load(self, value, save: bool = True) -> None:
        self.mappings = parse_mappings(value, self.sliders)
        if save:
            self._save()

    def _save(self) -> None:
        settings().setValue("midi/mappings", json.dumps(self.to_list()))
        self.mappings_changed.emit()


def _saved_mappings():
    try:
        return json.loads(settings_text("midi/mappings", "[]"))
    except ValueError:
        return []


def _show_menu(menu: QMenu, where) -> None:
    menu.exec(where)
    menu.deleteLater()


def install_midi(window, tools_menu, log) -> MidiController:
    """Tools ▸ MIDI input (the ports, or why there are none) and each panel slider's right-click menu."""
    midi = MidiController(window_sliders(window), window)
    midi.logged.connect(log)
    menu = tools_menu.addMenu("&MIDI input")

    def fill() -> None:
        menu.clear()
        names, why = input_ports()
        for name in names:
            act = menu.addAction(name, lambda n=name: midi.open_port(n))
            act.setCheckable(True)
            act.setChecked(name == midi.port_name)
        if not names:
            menu.addAction(why).setEnabled(False)
        if midi.port is not None:
            menu.addAction("Close MIDI input", midi.close)
    menu.aboutToShow.connect(fill)
    midi.ports_menu, midi.fill_ports_menu = menu, fill
    for sid, slider in midi.sliders.items():
        slider.setContextMenuPolicy(Qt.CustomContextMenu)
        slider.customContextMenuRequested.connect(
            lambda pos, sid=sid, s=slider: _show_menu(midi.slider_menu(sid, s), s.mapToGlobal(pos)))
    remembered = settings_text("midi/port", "")
    if remembered and remembered in input_ports()[0]:
        midi.open_port(remembered)
    return midi
