"""Start-up checks: no display or a missing X11 library is a clear message, not Qt's core dump."""
import subprocess
import sys

import pytest

from ganstudio.gui import preflight
from ganstudio.gui.app import run_app

LDD = """\tlinux-vdso.so.1 (0x00007ffd)
\tlibQt6XcbQpa.so.6 => /x/Qt/lib/libQt6XcbQpa.so.6 (0x00007f1)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-cursor.so.0 => not found
\tlibxcb-icccm.so.4 => not found
\t/lib64/ld-linux-x86-64.so.2 (0x00007f2)
"""


def test_parse_ldd_lists_each_missing_library_once():
    assert preflight.parse_ldd(LDD) == ["libxcb-icccm.so.4", "libxcb-cursor.so.0"]
    assert preflight.parse_ldd("\tlibc.so.6 => /lib/libc.so.6 (0x1)\n") == []


@pytest.mark.parametrize("soname, package", [
    ("libxcb-cursor.so.0", "libxcb-cursor0"),
    ("libxcb-icccm.so.4", "libxcb-icccm4"),
    ("libxcb-render-util.so.0", "libxcb-render-util0"),
    ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
    ("libX11-xcb.so.1", "libx11-xcb1"),
    ("libEGL.so.1", "libegl1"),
])
def test_debian_package_names(soname, package):
    assert preflight.debian_package(soname) == package


def test_no_display_is_a_message_with_the_way_out():
    msg = preflight.problem({}, "linux", missing=[])
    assert "DISPLAY" in msg and "xvfb-run" in msg


@pytest.mark.parametrize("env", [
    {"QT_QPA_PLATFORM": "offscreen"},
    {"QT_QPA_PLATFORM": "wayland"},
    {"WAYLAND_DISPLAY": "wayland-0"},
    {"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"},
    {"DISPLAY": ":0"},
])
def test_a_usable_platform_is_no_problem(env):
    assert preflight.problem(env, "linux", missing=[], connect=lambda d: None) is None


def test_an_unreachable_x_display_is_a_message():
    msg = preflight.problem({"DISPLAY": ":42"}, "linux", missing=[], connect=lambda d: f"no server at {d}")
    assert "no server at :42" in msg and "xvfb-run" in msg


@pytest.mark.skipif(not preflight.ctypes.util.find_library("xcb"), reason="no libxcb here")
def test_x_display_error_on_a_display_nobody_serves():
    assert "cannot connect" in preflight.x_display_error(":4711")


def test_other_systems_are_not_checked():
    assert preflight.problem({}, "darwin", missing=["libxcb-cursor.so.0"]) is None
    assert preflight.problem({}, "win32") is None


def test_missing_xcb_libraries_name_the_packages():
    msg = preflight.problem({"DISPLAY": ":0"}, "linux", missing=["libxcb-cursor.so.0", "libxcb-icccm.so.4"])
    assert "libxcb-cursor.so.0" in msg
    assert "apt-get install -y libxcb-cursor0 libxcb-icccm4" in msg
    # an explicit xcb choice is checked the same way
    assert preflight.problem({"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":0"}, "linux", missing=["libxcb-cursor.so.0"])


def test_missing_xcb_libs_reads_ldd_of_the_plugin(tmp_path, monkeypatch):
    plugin = tmp_path / "plugins" / "platforms" / "libqxcb.so"
    plugin.parent.mkdir(parents=True)
    plugin.write_bytes(b"")
    calls = []

    def fake_run(cmd, **kw):
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 0, stdout=LDD, stderr="")
    monkeypatch.setattr(preflight.subprocess, "run", fake_run)
    monkeypatch.setattr(preflight.shutil, "which", lambda name: "/usr/bin/ldd")
    assert preflight.missing_xcb_libs(tmp_path) == ["libxcb-icccm.so.4", "libxcb-cursor.so.0"]
    assert calls == [["/usr/bin/ldd", str(plugin)]]  # the absent QPA library is skipped


def test_install_as_root_runs_apt_get_and_retries_after_update(monkeypatch):
    monkeypatch.setattr(preflight.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(preflight.os, "geteuid", lambda: 0)
    calls = []

    def run(cmd, **kw):
        calls.append(cmd)
        failed_once = sum(c[:2] == ["apt-get", "install"] for c in calls) == 1
        return subprocess.CompletedProcess(cmd, 100 if failed_once else 0)
    assert preflight.install_missing(["libxcb-cursor.so.0"], run=run) == 0
    assert calls == [["apt-get", "install", "-y", "-q", "libxcb-cursor0"], ["apt-get", "update", "-q"],
                     ["apt-get", "install", "-y", "-q", "libxcb-cursor0"]]


def test_install_without_rights_only_prints_the_command(monkeypatch, capsys):
    monkeypatch.setattr(preflight.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(preflight.os, "geteuid", lambda: 1000)
    calls = []

    def run(cmd, **kw):
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 1)  # sudo -n true: a password is needed
    assert preflight.install_missing(["libxcb-cursor.so.0"], run=run) == 1
    assert calls == [["sudo", "-n", "true"]]
    assert "sudo apt-get install -y libxcb-cursor0" in capsys.readouterr().err


def test_nothing_missing_installs_nothing():
    assert preflight.install_missing([], run=lambda *a, **k: pytest.fail("ran a command")) == 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the display check is Linux's")
def test_run_app_without_a_display_exits_with_the_message(monkeypatch, capsys):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    assert run_app() == 2  # before any QApplication or model is made
    assert "needs a display" in capsys.readouterr().err
