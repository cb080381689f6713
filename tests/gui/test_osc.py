"""OSC over loopback UDP into the running window: the image shown is the direct render of the state the
messages describe; bad messages change nothing; values go out so faders follow."""
import random
import socket

import numpy as np
import pytest

pytest.importorskip("pythonosc")

from pythonosc.osc_message_builder import OscMessageBuilder  # noqa: E402
from pythonosc.udp_client import SimpleUDPClient  # noqa: E402

from ganstudio.engine import RenderState  # noqa: E402
from ganstudio.engine.osc_map import ADDRESSES  # noqa: E402
from ganstudio.engine.transforms import pad_z  # noqa: E402
from tests.gui.conftest import wait_rendered  # noqa: E402


def _serve(qtbot, win) -> SimpleUDPClient:
    assert win.osc.start(port=0)
    return SimpleUDPClient("127.0.0.1", win.osc.receiver.port)


def test_osc_messages_render_the_state_they_describe(qtbot, open_window, checkpoint, direct):
    win = open_window(checkpoint("stylegan2"))
    client = _serve(qtbot, win)
    messages = [("/seed", 17), ("/psi", 0.6), ("/latent/z/2", 1.25), ("/noise/strength", 0.5),
                ("/noise/mode", "fixed"), ("/mix/1", 1), ("/cutoff", 3), ("/psi", 9.0), ("/direction/sefa/1", -2.5)]
    for address, value in messages:
        client.send_message(address, value)
    qtbot.waitUntil(lambda: win.osc.handled == len(messages), timeout=60000)
    st = win.app.state
    n = len(win.app.info.capabilities.noise_layers)
    expected = RenderState(model=st.model, seed=17, truncation_psi=2.0, truncation_cutoff=3,
                           edits=(("raw", 2, 1.25, None), ("sefa", 1, -2.5, None)), noise_strength=0.5,
                           noise=(("fixed", 0, 1.0),) * n, mix_seeds=(1, 2),
                           mix_sources=tuple(1 if i == 1 else 0 for i in range(win.app.info.num_ws)))
    assert st == expected
    wait_rendered(qtbot, win)
    np.testing.assert_array_equal(win.last_result.image, direct(expected))
    win.docks["TruncationPanel"].raise_()  # a hidden panel syncs when it shows
    qtbot.waitUntil(lambda: win.panels["TruncationPanel"].psi.value() == 2.0, timeout=60000)

    # The blend pad: the window's panel moves its handle and uses its own corner seeds.
    client.send_message("/pad/x", 0.25)
    client.send_message("/pad/y", 1.0)
    qtbot.waitUntil(lambda: win.osc.handled == len(messages) + 2, timeout=60000)
    pad = win.panels["BlendPadPanel"]
    assert (pad.pad.u, pad.pad.v) == (0.25, 1.0)
    z = pad_z(win.app.state, win.app.info, pad.seeds(), 0.25, 1.0)
    wait_rendered(qtbot, win)
    np.testing.assert_array_equal(win.last_result.image, direct(expected.replace(z=tuple(float(x) for x in z))))
    assert win.osc.refused == 0


def _garbage(rng: random.Random) -> bytes:
    kind = rng.randrange(4)
    if kind == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
    if kind == 1:
        return b"/seed\x00\x00\x00,i\x00\x00" + bytes(rng.randrange(256) for _ in range(rng.randrange(0, 3)))
    if kind == 2:
        return b"#bundle\x00" + bytes(rng.randrange(256) for _ in range(rng.randrange(0, 40)))
    return b"/psi\x00\x00\x00\x00,s\x00\x00abc"  # a string without its terminator


def test_a_fuzz_of_bad_messages_changes_nothing_and_crashes_nothing(qtbot, open_window, checkpoint):
    win = open_window(checkpoint("stylegan2"))
    win.app.core.bookmark_current()
    client = _serve(qtbot, win)
    raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    before, marks = win.app.state, [b.state for b in win.app.bookmarks]
    rng = random.Random(1)
    addresses = ["/nope", "/seed/extra", "/latent/z/99999", "/latent/z/x", "/direction/ica/1", "/direction/pca/77",
                 "/mix/500", "/noise/loud", "/bookmark/42", "/pad/q", "/interp/s", "/class/3", "/class", "/cutoff/1"]
    values = ["text", b"\x01\x02", None, True, float("nan"), float("inf"), [1, 2]]
    for i in range(240):
        if i % 4 == 0:
            raw.sendto(_garbage(rng), ("127.0.0.1", win.osc.receiver.port))
        else:
            address = rng.choice(addresses + [a.address for a in ADDRESSES if "<" not in a.address
                                              and a.address not in ("/play", "/stop", "/pad/x", "/pad/y")])
            builder = OscMessageBuilder(address)
            value = rng.choice(values)
            if value is not None:
                builder.add_arg(value)
            client.send(builder.build())
    raw.close()
    # A sentinel that applies (and changes nothing): loopback keeps the order, so all the rest came first.
    client.send_message("/seed", before.seed)
    qtbot.waitUntil(lambda: win.osc.handled >= 1, timeout=60000)
    assert win.osc.handled == 1
    assert win.app.state == before and [b.state for b in win.app.bookmarks] == marks
    assert win.osc.refused >= 200
    lines = win.osc.log_view.toPlainText().splitlines()
    assert any("ignored" in line and "malformed packet" in line for line in lines)
    assert any("unknown address" in line for line in lines)
    win.osc.log_dock.show()
    win.osc.log_dock.resize(900, 300)
    wait_rendered(qtbot, win)


def test_values_go_out_so_faders_follow(qtbot, open_window, checkpoint):
    win = open_window(checkpoint("stylegan2"))
    from pythonosc.osc_packet import OscPacket
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(10)
    try:
        win.osc.set_output("127.0.0.1", listener.getsockname()[1])
        got = {}

        def receive_until(address):
            while address not in got:
                data, _ = listener.recvfrom(65536)
                for m in OscPacket(data).messages:
                    got[m.message.address] = m.message.params[0]
        receive_until("/noise/strength")  # all values first
        assert got["/psi"] == pytest.approx(1.0) and got["/seed"] == win.app.state.seed
        got.clear()
        win.panels["TruncationPanel"].psi.set_value(0.5)
        qtbot.waitUntil(lambda: win.osc._sent.get("/psi") == 0.5, timeout=60000)
        receive_until("/psi")
        assert got == {"/psi": 0.5}  # only what changed
    finally:
        win.osc.set_output(None)
        listener.close()


def test_a_busy_port_is_one_line_and_the_menu_unticks(qtbot, open_window, checkpoint):
    win = open_window(checkpoint("stylegan2"))
    taken = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    taken.bind(("0.0.0.0", 0))
    try:
        from ganstudio.gui.settings import settings
        settings().setValue("osc/port", taken.getsockname()[1])
        win.osc.server_action.setChecked(True)
        assert not win.osc.server_action.isChecked() and not win.osc.running
        assert "could not listen on UDP port" in win.osc.log_view.toPlainText()
    finally:
        taken.close()


def test_help_lists_the_osc_addresses(qtbot, open_window, checkpoint):
    win = open_window(checkpoint("dcgan"))
    act = next(a for a in win.help_menu.actions() if "OSC" in a.text())
    act.trigger()
    from PySide6.QtWidgets import QTextBrowser
    text = win.osc.addresses_dialog.findChild(QTextBrowser).toPlainText()
    for a in ADDRESSES:
        assert a.address in text


def test_interpolation_t_play_and_stop_drive_the_panel(qtbot, open_window, checkpoint):
    win = open_window(checkpoint("stylegan2"))
    panel = win.panels["InterpolationPanel"]
    win.app.core.bookmark_current()
    win.app.edit(win.app.state.replace(seed=5))
    win.app.core.bookmark_current()
    qtbot.waitUntil(lambda: panel.pair() is not None and panel._endpoints is not None, timeout=60000)
    client = _serve(qtbot, win)
    client.send_message("/interp/t", 0.5)
    qtbot.waitUntil(lambda: win.osc.handled == 1, timeout=60000)
    assert panel.t.value() == 0.5  # what the slider then does to the image: tests/gui/test_panels.py
    client.send_message("/play", [])
    qtbot.waitUntil(lambda: win.osc.handled == 2, timeout=60000)
    assert panel.play_btn.isChecked() and panel.timer.isActive()
    client.send_message("/stop", 1.0)
    qtbot.waitUntil(lambda: win.osc.handled == 3, timeout=60000)
    assert not panel.play_btn.isChecked() and not panel.timer.isActive()
    wait_rendered(qtbot, win)


def test_osc_settings_are_kept_and_a_bad_value_falls_back(qtbot):
    from ganstudio.gui.osc import DEFAULT_PORT, OscSettingsDialog, setting_int
    from ganstudio.gui.settings import settings
    dlg = OscSettingsDialog()
    qtbot.addWidget(dlg)
    assert dlg.port.value() == DEFAULT_PORT and dlg.out_host.text() == "127.0.0.1"
    dlg.port.setValue(9123)
    dlg.out_host.setText(" 10.0.0.7 ")
    dlg.save()
    assert setting_int("osc/port", DEFAULT_PORT) == 9123 and settings().value("osc/out_host") == "10.0.0.7"
    settings().setValue("osc/port", "ninety")
    assert setting_int("osc/port", DEFAULT_PORT) == DEFAULT_PORT
    settings().setValue("osc/port", 70000)
    assert setting_int("osc/port", DEFAULT_PORT) == DEFAULT_PORT
