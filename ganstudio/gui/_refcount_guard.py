"""Guard against a reference-count bug of shiboken6 6.12 on Python < 3.12.

shiboken6 6.12 returns None (from every void method: setValue, setText, QTimer.start ...)
and some bools without taking a new reference, as if they were immortal objects (which they
are only from Python 3.12 on).  On Python 3.11 each such call steals one reference, and after
a few tens of thousands of calls the interpreter aborts with "deallocating None".  The
singletons are never freed anyway, so giving them a huge reference count makes them
effectively immortal, as on Python 3.12.
"""
from __future__ import annotations

import ctypes
import sys

_HEADROOM = 1 << 40  # stolen references the process can absorb (~10^12 calls)
_done = False


def make_singletons_immortal() -> None:
    global _done
    if _done or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return
    try:
        import shiboken6
        if not str(shiboken6.__version__).startswith("6.12"):
            return  # only 6.12 has the bug; pyproject.toml keeps it off Python 3.11 installs
    except (ImportError, AttributeError):
        return
    _done = True
    for obj in (None, True, False):
        # ob_refcnt is the first field of every object in a release build of CPython 3.10/3.11.
        ctypes.c_ssize_t.from_address(id(obj)).value += _HEADROOM
