"""OSC in the window: a UDP server thread (python-osc parses), messages handed to the GUI thread, a log dock,
and an OSC output of the current values so a controller's faders follow.

The address table and what each message does are Qt-free (engine.osc_map); this module only moves
datagrams between the network and the GUI thread, where the application core is edited.
"""
from __future__ import annotations

import socket
import threading
import time
from typing import Callable, Optional

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QDockWidget, QFormLayout, QLineEdit, QPlainTextEdit,
                               QSpinBox, QTextBrowser, QVBoxLayout)

from ganstudio.engine.osc_map import OscHooks, OscMap, changed_values, markdown_table, osc_values
from ganstudio.gui.settings import settings, text as settings_text

DEFAULT_PORT = 9000
DEFAULT_OUT_PORT = 9001
MAX_DATAGRAM = 65536
POLL_S = 0.25  # how often the receiving thread looks whether it should stop
LOG_LINES = 500


def setting_int(key: str, default: int, lo: int = 0, hi: int = 65535) -> int:
    """An integer setting in [lo, hi]; anything else there (a hand-edited INI) is the default."""
    try:
        v = int(settings().value(key, default))
    except (TypeError, ValueError):
        return default
    return v if lo <= v <= hi else default


class OscReceiver:
    """A UDP socket read on its own thread; each datagram's messages (or why it is not OSC) go to ``deliver``.

    ``deliver(items)`` is called on the receiving thread with a list of (address, args) pairs, or
    (None, note) for a datagram that does not parse; the caller marshals it to its own thread.
    """

    def __init__(self, deliver: Callable[[list], None], port: int, host: str = "0.0.0.0"):
        self._deliver = deliver
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self._sock.bind((host, port))
        except OSError:
            self._sock.close()
            raise
        self._sock.settimeout(POLL_S)
        self.port = self._sock.getsockname()[1]  # the real one when 0 asked for any free port
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="osc-receiver", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from pythonosc.osc_packet import OscPacket
        while not self._stop.is_set():
            try:
                data, sender = self._sock.recvfrom(MAX_DATAGRAM)
            except socket.timeout:
                continue
            except OSError:  # the socket closed under us
                break
            try:
                items = [(m.message.address, list(m.message.params)) for m in OscPacket(data).messages]
            except Exception as e:  # python-osc raises ParseError, and worse on some hostile bytes
                items = [(None, f"malformed packet from {sender[0]} ({len(data)} bytes): {str(e)[:80]}")]
            self._deliver(items)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(POLL_S * 4)
        self._sock.close()


class OscController(QObject):
    """The window's OSC: server on/off, output on/off, the log; messages edit the core on the GUI thread."""
    _arrived = Signal(object)  # a list of (address, args), from the receiving thread
    logged = Signal(str)

    def __init__(self, app, hooks: Optional[OscHooks] = None, parent: Optional[QObject] = None):
        super().__init__(parent)
        self.app = app
        self.map = OscMap(app.core, hooks)
        self.receiver: Optional[OscReceiver] = None
        self.handled = 0  # messages applied
        self.refused = 0  # messages that changed nothing (each logged)
        self._client = None
        self._sent: dict = {}
        self._arrived.connect(self._on_arrived, Qt.QueuedConnection)
        self._flush = QTimer(self)  # one output burst per event-loop turn, however many edits came
        self._flush.setSingleShot(True)
        self._flush.setInterval(0)
        self._flush.timeout.connect(self.send_values)
        app.state_changed.connect(lambda *_: self._flush.start() if self._client is not None else None)
        app.model_changed.connect(lambda *_: self._sent.clear())

    # -- input -----------------------------------------------------------------------------------------
    def start(self, port: Optional[int] = None) -> bool:
        """Listen on ``port`` (default: the setting); False, with a log line, when the port cannot be had."""
        self.stop()
        port = setting_int("osc/port", DEFAULT_PORT) if port is None else port
        try:
            self.receiver = OscReceiver(self._arrived.emit, port)
        except OSError as e:
            self.log(f"OSC server could not listen on UDP port {port}: {e.strerror or e}")
            return False
        self.log(f"OSC server listening on UDP port {self.receiver.port}")
        return True

    def stop(self) -> None:
        if self.receiver is not None:
            self.receiver.close()
            self.receiver = None
            self.log("OSC server stopped")

    @property
    def running(self) -> bool:
        return self.receiver is not None

    def _on_arrived(self, items: list) -> None:
        for address, args in items:
            if address is None:
                note = args
            else:
                try:
                    note = self.map.handle(address, args)
                except Exception as e:  # a bug must not take the window down with it
                    note = f"{address[:80]}: failed ({type(e).__name__}: {str(e)[:80]})"
            if note is None:
                self.handled += 1
            else:
                self.refused += 1
                self.log(f"ignored {note}")

    def log(self, line: str) -> None:
        self.logged.emit(f"{time.strftime('%H:%M:%S')}  {line}")

    # -- output ----------------------------------------------------------------------------------------
    def set_output(self, host: Optional[str], port: int = DEFAULT_OUT_PORT) -> None:
        """Send the current values to host:port from now on (all of them now, then the ones that change);
        None stops."""
        self._client, self._sent = None, {}
        if host:
            from pythonosc.udp_client import SimpleUDPClient
            try:
                self._client = SimpleUDPClient(host, port)
            except (OSError, ValueError) as e:
                self.log(f"OSC output to {host}:{port} failed: {e}")
                return
            self.log(f"OSC output to {host}:{port}")
            self.send_values()

    def send_values(self) -> None:
        if self._client is None:
            return
        now = osc_values(self.app.state, self.app.info)
        for address, value in changed_values(self._sent, now).items():
            try:
                self._client.send_message(address, value)
            except OSError as e:  # the host went away: say so once, keep the window going
                self.log(f"OSC output stopped: {e.strerror or e}")
                self._client = None
                return
        self._sent = now

    def close(self) -> None:
        self.stop()
        self._client = None


class OscSettingsDialog(QDialog):
    """The server's port and the output's host:port, kept in the settings."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("OSC settings")
        form = QFormLayout(self)
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(setting_int("osc/port", DEFAULT_PORT, 1))
        self.out_host = QLineEdit(settings_text("osc/out_host", "127.0.0.1"))
        self.out_port = QSpinBox()
        self.out_port.setRange(1, 65535)
        self.out_port.setValue(setting_int("osc/out_port", DEFAULT_OUT_PORT, 1))
        form.addRow("Listen on UDP port", self.port)
        form.addRow("Send values to host", self.out_host)
        form.addRow("… port", self.out_port)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def save(self) -> None:
        s = settings()
        s.setValue("osc/port", self.port.value())
        s.setValue("osc/out_host", self.out_host.text().strip())
        s.setValue("osc/out_port", self.out_port.value())


def addresses_dialog(parent) -> QDialog:
    """Help ▸ OSC addresses: the same table the README shows, generated from engine.osc_map."""
    dlg = QDialog(parent)
    dlg.setWindowTitle("OSC addresses")
    view = QTextBrowser()
    view.setMarkdown("Turn the server on under Tools ▸ OSC server (UDP port in Tools ▸ OSC settings).\n\n"
                     + markdown_table())
    QVBoxLayout(dlg).addWidget(view)
    dlg.resize(760, 560)
    return dlg


def log_dock(parent) -> tuple[QDockWidget, QPlainTextEdit]:
    dock = QDockWidget("OSC / MIDI log", parent)
    dock.setObjectName("dock_live_log")
    text = QPlainTextEdit()
    text.setReadOnly(True)
    text.setMaximumBlockCount(LOG_LINES)
    dock.setWidget(text)
    return dock, text


def window_hooks(window) -> OscHooks:
    """The controls that live in the window's panels: the interpolation slider and Play, the blend pad."""
    interp, pad = window.panels["InterpolationPanel"], window.panels["BlendPadPanel"]

    def interp_t(t: float) -> None:
        # A t equal to the slider's value moves nothing and so would apply nothing: apply it anyway
        # (the image may have left the interpolation since the slider was last moved).
        before = interp.t.value()
        interp.t.set_value(t)
        if interp.t.value() == before:
            interp.set_t(before)
    return OscHooks(interp_t=interp_t, play=interp.play_btn.setChecked, pad=pad.blend)


def install_osc(window, tools_menu, help_menu) -> OscController:
    """Tools ▸ OSC server / OSC output / OSC settings…, Help ▸ OSC addresses, and the log dock."""
    osc = OscController(window.app, window_hooks(window), window)
    dock, text = log_dock(window)
    window.addDockWidget(Qt.BottomDockWidgetArea, dock)
    dock.hide()
    osc.logged.connect(text.appendPlainText)
    osc.logged.connect(lambda line: window.statusBar().showMessage(line.split("  ", 1)[-1], 4000))
    osc.log_dock, osc.log_view = dock, text

    server = tools_menu.addAction("OSC &server")
    server.setCheckable(True)
    output = tools_menu.addAction("OSC &output (values to a controller)")
    output.setCheckable(True)

    def toggle_server(on: bool) -> None:
        ok = osc.start() if on else (osc.stop() or True)
        settings().setValue("osc/enabled", bool(on and ok))
        if on and not ok:
            server.setChecked(False)
        if on:
            dock.show()

    def toggle_output(on: bool) -> None:
        host = settings_text("osc/out_host", "127.0.0.1") if on else None
        osc.set_output(host, setting_int("osc/out_port", DEFAULT_OUT_PORT, 1))
        settings().setValue("osc/out_enabled", bool(on))

    def edit_settings() -> None:
        dlg = OscSettingsDialog(window)
        if dlg.exec():
            dlg.save()
            if osc.running:
                osc.start()
            if output.isChecked():
                toggle_output(True)

    server.toggled.connect(toggle_server)
    output.toggled.connect(toggle_output)
    tools_menu.addAction("OSC se&ttings…", edit_settings)
    tools_menu.addAction(dock.toggleViewAction())
    def show_addresses() -> None:
        osc.addresses_dialog = addresses_dialog(window)
        osc.addresses_dialog.show()
    help_menu.addAction("&OSC addresses", show_addresses)
    osc.server_action, osc.output_action = server, output
    if settings().value("osc/enabled", False) in (True, "true"):
        server.setChecked(True)
    if settings().value("osc/out_enabled", False) in (True, "true"):
        output.setChecked(True)
    return osc
