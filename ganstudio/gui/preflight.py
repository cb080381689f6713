"""Checks before the QApplication exists: a missing display or X11 library gets a clear message.

Without them Qt aborts the process with "could not load the Qt platform plugin" and a core dump,
which tells a user neither what is missing nor how to get it.  Qt-free (it never imports Qt
modules, only finds PySide6's folder), so it also runs from ``make run`` before the window opens.

``python -m ganstudio.gui.preflight [--install]`` prints what is missing; ``--install`` installs
the Debian/Ubuntu packages with apt-get where it may (as root, or through password-less sudo).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Optional

# The xcb plugin and the library it links to: ldd lists what either cannot find.
_XCB_FILES = ("plugins/platforms/libqxcb.so", "lib/libQt6XcbQpa.so.6")


def _qt_dir() -> Optional[Path]:
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "Qt"


def parse_ldd(output: str) -> list[str]:
    """The sonames an ``ldd`` listing marks 'not found', in order, once each."""
    found = re.findall(r"^\s*(\S+)\s+=>\s+not found", output, flags=re.M)
    return list(dict.fromkeys(found))


def missing_xcb_libs(qt_dir: Optional[Path] = None) -> list[str]:
    """Shared libraries Qt's X11 (xcb) plugin needs and the system lacks; [] when unknown."""
    qt_dir = qt_dir or _qt_dir()
    ldd = shutil.which("ldd")
    if qt_dir is None or ldd is None:
        return []
    missing: list[str] = []
    for rel in _XCB_FILES:
        path = qt_dir / rel
        if not path.exists():
            continue
        try:
            out = subprocess.run([ldd, str(path)], capture_output=True, text=True, timeout=20).stdout
        except (OSError, subprocess.SubprocessError):
            return []
        missing += parse_ldd(out)
    return list(dict.fromkeys(missing))


def x_display_error(display: str) -> Optional[str]:
    """Why libxcb cannot connect to ``display`` (e.g. a stale DISPLAY over ssh); None when it can
    or when libxcb is absent (then the missing-library check speaks)."""
    name = ctypes.util.find_library("xcb")
    if not name:
        return None
    try:
        xcb = ctypes.CDLL(name)
        xcb.xcb_connect.restype = ctypes.c_void_p
        xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
        xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
        xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    except (OSError, AttributeError):
        return None
    conn = xcb.xcb_connect(display.encode(), None)
    try:
        code = xcb.xcb_connection_has_error(conn)
    finally:
        xcb.xcb_disconnect(conn)
    return f"cannot connect to the X display {display!r} (xcb error {code})" if code else None


def debian_package(soname: str) -> str:
    """The usual Debian/Ubuntu package of a soname: libxcb-cursor.so.0 -> libxcb-cursor0,
    libxkbcommon-x11.so.0 -> libxkbcommon-x11-0 (a hyphen when the name ends in a digit)."""
    m = re.match(r"^(lib.+?)\.so\.(\d+)", soname)
    if not m:
        return soname
    base, major = m.group(1).lower(), m.group(2)
    return f"{base}-{major}" if base[-1].isdigit() else f"{base}{major}"


def problem(environ=None, platform: str = sys.platform, missing=None, connect=None) -> Optional[str]:
    """A message saying why the window cannot open here, or None when it should.

    ``missing`` (a list of sonames) and ``connect`` (display -> error or None) replace the ldd
    probe and the X connection, for tests.
    """
    env = os.environ if environ is None else environ
    if not platform.startswith("linux"):
        return None
    chosen = env.get("QT_QPA_PLATFORM", "")
    if chosen and not chosen.startswith("xcb"):
        return None  # offscreen, wayland, vnc...: the user picked it
    if not chosen and env.get("WAYLAND_DISPLAY"):
        return None  # Qt takes Wayland there (or falls back to X): only block what surely fails
    if not chosen and not env.get("DISPLAY"):
        return ("GAN Studio needs a display, and neither DISPLAY nor WAYLAND_DISPLAY is set.\n"
                "Run it from a desktop session, or on a headless machine under a virtual one:\n"
                "  xvfb-run -a ganstudio\n"
                "(QT_QPA_PLATFORM=offscreen runs it without any window, as the tests do.)")
    libs = missing_xcb_libs() if missing is None else list(missing)
    if not libs:
        display = env.get("DISPLAY", "")
        error = (connect or x_display_error)(display) if display else None
        if error:
            return (f"GAN Studio cannot open its window: {error}.\n"
                    "Check that the X server is running and DISPLAY is right (over ssh: ssh -X), or use\n"
                    "  xvfb-run -a ganstudio")
        return None
    packages = " ".join(dict.fromkeys(debian_package(s) for s in libs))
    return ("Qt's X11 platform plugin cannot load: these system libraries are missing:\n"
            f"  {', '.join(libs)}\n"
            "On Debian/Ubuntu install them with:\n"
            f"  sudo apt-get install -y {packages}\n"
            "(`make run` does this itself when it may run apt-get.)")


def install_missing(missing=None, run=subprocess.run) -> int:
    """Install the packages for missing xcb libraries with apt-get; 0 when nothing is missing after."""
    libs = missing_xcb_libs() if missing is None else list(missing)
    if not libs:
        return 0
    packages = list(dict.fromkeys(debian_package(s) for s in libs))
    if shutil.which("apt-get") is None:
        print(f"missing system libraries: {', '.join(libs)} (no apt-get here: install them with "
              "your package manager)", file=sys.stderr)
        return 1
    if os.geteuid() == 0:
        prefix: list[str] = []
    elif shutil.which("sudo") and run(["sudo", "-n", "true"], capture_output=True).returncode == 0:
        prefix = ["sudo", "-n"]
    else:
        print(f"missing system libraries: {', '.join(libs)}\n"
              f"install them with: sudo apt-get install -y {' '.join(packages)}", file=sys.stderr)
        return 1
    print(f"installing {' '.join(packages)} (needed by Qt's X11 plugin)", file=sys.stderr)
    cmd = prefix + ["apt-get", "install", "-y", "-q", *packages]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if run(cmd, env=env).returncode != 0:  # a fresh image may have no package lists yet
        run(prefix + ["apt-get", "update", "-q"], env=env)
        if run(cmd, env=env).returncode != 0:
            return 1
    return 0


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--install" in argv and problem() is not None:
        install_missing()
    msg = problem()
    if msg:
        print(msg, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
