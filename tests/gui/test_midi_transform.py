"""MIDI learn on StyleGAN3's Input transform sliders: a knob moves translate / rotate and the state; on a model
without the transform the panel is off and its knob moves nothing (as for any panel that does not apply)."""
import pytest

mido = pytest.importorskip("mido")

from tests.gui.conftest import wait_rendered  # noqa: E402
from tests.gui.test_midi import FakePort, fake_midi  # noqa: E402,F401 - the fake port fixture


def _sid(win, slider):
    return next(k for k, s in win.midi.sliders.items() if s is slider)


def _learn(qtbot, win, port, sid, control):
    win.midi.learn(sid)
    port.turn(control=control, value=0)
    qtbot.waitUntil(lambda: win.midi.mappings.get((0, control)) == sid, timeout=5000)


def test_knobs_drive_the_input_transform_and_do_nothing_without_it(qtbot, open_window, checkpoint, fake_midi):
    win = open_window(checkpoint("stylegan3-t"))
    panel = win.panels["TransformPanel"]
    assert panel.isEnabled()
    rotate, tx = _sid(win, panel.rotate), _sid(win, panel.tx)
    assert rotate.startswith("TransformPanel/") and tx.startswith("TransformPanel/")
    win.midi.open_port("Fake knobs")
    port = fake_midi[-1]
    _learn(qtbot, win, port, rotate, 7)
    _learn(qtbot, win, port, tx, 8)
    port.turn(control=7, value=127)
    port.turn(control=8, value=0)
    qtbot.waitUntil(lambda: win.app.state.input_rotate == 180.0 and win.app.state.input_translate_x == -1.0,
                    timeout=5000)
    wait_rendered(qtbot, win)
    assert win.displayed_state.input_rotate == 180.0

    win.open_model(checkpoint("stylegan2"))
    qtbot.waitUntil(lambda: win.app.info is not None and win.app.info.family == "stylegan2", timeout=15000)
    wait_rendered(qtbot, win)
    assert not panel.isEnabled()
    psi = win.panels["TruncationPanel"].psi
    _learn(qtbot, win, port, _sid(win, psi), 9)
    before = win.app.state
    port.turn(control=7, value=30)  # the transform's knob: its panel does not apply, nothing moves
    port.turn(control=9, value=127)  # a knob that applies: once it shows, the first was handled
    qtbot.waitUntil(lambda: win.app.state.truncation_psi == psi.hi, timeout=5000)
    assert win.app.state == before.replace(truncation_psi=psi.hi)
    win.midi.close()
