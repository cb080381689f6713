"""MIDI learn through a fake input port (no hardware): learn from a slider's menu, the knob moves the slider and
the state; mappings are kept in the settings and round-trip through a session file; no device is said so."""
import json
import threading

import pytest

mido = pytest.importorskip("mido")

from ganstudio.gui.midi import MidiController, input_ports, window_sliders  # noqa: E402
from tests.gui.conftest import wait_rendered  # noqa: E402


class FakePort:
    """What mido.open_input returns; ``turn`` calls the callback from another thread, as rtmidi does."""

    def __init__(self, name, callback):
        self.name, self.callback, self.closed = name, callback, False

    def turn(self, control, value, channel=0):
        t = threading.Thread(target=self.callback, args=(mido.Message("control_change", channel=channel,
                                                                      control=control, value=value),))
        t.start()
        t.join()

    def close(self):
        self.closed = True


@pytest.fixture
def fake_midi(monkeypatch):
    ports = []
    monkeypatch.setattr(mido, "get_input_names", lambda: ["Fake knobs"])
    monkeypatch.setattr(mido, "open_input", lambda name, callback=None: ports.append(FakePort(name, callback))
                        or ports[-1])
    return ports


def _sid(win, slider):
    return next(k for k, s in win.midi.sliders.items() if s is slider)


def _action(menu, text):
    return next(a for a in menu.actions() if a.text().startswith(text))


def test_learn_a_knob_and_it_moves_the_slider(qtbot, open_window, checkpoint, fake_midi, tmp_path):
    win = open_window(checkpoint("stylegan2"))
    win.midi.fill_ports_menu()
    _action(win.midi.ports_menu, "Fake knobs").trigger()
    port = fake_midi[-1]
    psi = win.panels["TruncationPanel"].psi
    sid = _sid(win, psi)
    menu = win.midi.slider_menu(sid)  # (kept: a menu gone takes its actions with it)
    _action(menu, "Learn MIDI").trigger()
    assert win.midi.learning == sid
    port.turn(control=21, value=5, channel=3)  # the knob turned while learning: mapped, nothing moves yet
    qtbot.waitUntil(lambda: win.midi.mappings == {(3, 21): sid}, timeout=5000)
    assert win.app.state.truncation_psi == 1.0
    port.turn(control=21, value=127, channel=3)
    qtbot.waitUntil(lambda: win.app.state.truncation_psi == psi.hi, timeout=5000)
    port.turn(control=21, value=0, channel=3)
    qtbot.waitUntil(lambda: win.app.state.truncation_psi == psi.lo, timeout=5000)
    before = win.app.state
    port.turn(control=22, value=64, channel=3)  # an unmapped knob and a note change nothing
    port.callback(mido.Message("note_on", note=60))
    port.turn(control=21, value=127, channel=4)  # the same knob number on another channel is another knob
    port.turn(control=21, value=127, channel=3)  # then the mapped one: once it shows, the others were handled
    qtbot.waitUntil(lambda: win.app.state.truncation_psi == psi.hi, timeout=5000)
    assert win.app.state == before.replace(truncation_psi=psi.hi)
    wait_rendered(qtbot, win)
    menu = win.midi.slider_menu(sid)
    assert "Forget MIDI (CC 21, channel 4)" in [a.text() for a in menu.actions()]

    # Kept in the settings: a new controller (the next start) has it.
    assert MidiController(window_sliders(win)).mappings == {(3, 21): sid}
    # And in a session file: saved, forgotten, opened again.
    path = str(tmp_path / "s.json")
    win.save_session(path)
    assert json.load(open(path))["extra"]["midi"] == [{"channel": 3, "control": 21, "slider": sid}]
    _action(menu, "Forget MIDI").trigger()
    assert win.midi.mappings == {}
    win.open_session(path)
    assert win.midi.mappings == {(3, 21): sid}
    win.midi.close()
    assert port.closed


def test_bad_mappings_in_a_session_are_dropped(qtbot, open_window, checkpoint, tmp_path):
    win = open_window(checkpoint("dcgan"))
    sid = next(iter(win.midi.sliders))
    path = tmp_path / "s.json"
    win.save_session(str(path))
    doc = json.loads(path.read_text())
    doc["extra"]["midi"] = [{"channel": 0, "control": 1, "slider": sid}, {"channel": 16, "control": 1, "slider": sid},
                            {"channel": 0, "control": 128, "slider": sid}, {"channel": 0, "control": 2, "slider": "x"},
                            {"channel": True, "control": 3, "slider": sid}, "junk", None]
    path.write_text(json.dumps(doc))
    win.open_session(str(path))
    assert win.midi.mappings == {(0, 1): sid}


@pytest.mark.parametrize("names, why", [([], "no MIDI device found"),
                                        (SystemError("no ALSA sequencer"), "no MIDI backend (no ALSA sequencer)"),
                                        (ImportError("x", name="rtmidi"), "no MIDI backend (rtmidi is not installed)")])
def test_with_no_midi_device_the_menus_say_so(qtbot, open_window, checkpoint, monkeypatch, names, why):
    def get_input_names():
        if isinstance(names, Exception):
            raise names
        return names
    monkeypatch.setattr(mido, "get_input_names", get_input_names)
    assert input_ports() == ([], why)
    win = open_window(checkpoint("dcgan"))
    win.midi.fill_ports_menu()
    texts = [a.text() for a in win.midi.ports_menu.actions()]
    assert texts == [why] and not win.midi.ports_menu.actions()[0].isEnabled()
    menu = win.midi.slider_menu(next(iter(win.midi.sliders)))
    learn = menu.actions()[0]
    assert learn.text() == f"Learn MIDI ({why})" and not learn.isEnabled()


def test_right_click_on_a_slider_opens_its_midi_menu(qtbot, open_window, checkpoint, monkeypatch, fake_midi):
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QContextMenuEvent
    from PySide6.QtWidgets import QApplication

    from ganstudio.gui import midi as midi_module
    shown = []
    monkeypatch.setattr(midi_module, "_show_menu", lambda menu, where: shown.append([a.text() for a in menu.actions()]))
    win = open_window(checkpoint("stylegan2"))
    psi = win.panels["TruncationPanel"].psi
    # The click lands on the slider's groove (the inner QSlider), which leaves context menus to the FloatSlider.
    at = QPoint(5, 5)
    QApplication.sendEvent(psi.slider, QContextMenuEvent(QContextMenuEvent.Mouse, at, psi.slider.mapToGlobal(at)))
    assert shown == [["Learn MIDI"]]


def test_a_plain_slider_learns_too(qtbot, open_window, checkpoint, fake_midi):
    win = open_window(checkpoint("progan"))
    stage = win.panels["StagePanel"].slider
    sid = _sid(win, stage)
    assert sid == "StagePanel/q0"
    win.midi.open_port("Fake knobs")
    win.midi.learn(sid)
    port = fake_midi[-1]
    port.turn(control=1, value=0)
    qtbot.waitUntil(lambda: win.midi.mappings == {(0, 1): sid}, timeout=5000)
    for cc, want in ((127, stage.maximum()), (0, stage.minimum())):
        port.turn(control=1, value=cc)
        qtbot.waitUntil(lambda: stage.value() == want and win.app.state.stage == want, timeout=5000)
    wait_rendered(qtbot, win)
