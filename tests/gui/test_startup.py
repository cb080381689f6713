"""Start-up: the process-wide settings live in one function; the PySide6 pin that replaced the ctypes guard."""
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]


def test_the_pyside6_pin_keeps_shiboken_6_12_off_python_3_11():
    # shiboken6 6.12 stole a reference to None / True / False on each void call on Python < 3.12 (an abort
    # with "deallocating None" after tens of thousands of calls).  A ctypes patch used to make those
    # objects immortal at import; the pin in pyproject.toml keeps 6.12 off those Pythons instead.
    toml = pytest.importorskip("tomllib" if sys.version_info >= (3, 11) else "tomli")
    deps = toml.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pyside = [Requirement(d) for d in deps if d.lower().startswith("pyside6")]
    on_311 = [r for r in pyside if r.marker is None or r.marker.evaluate({"python_version": "3.11"})]
    assert on_311, pyside
    for req in on_311:
        assert Version("6.12.0") not in req.specifier and Version("6.11.3") in req.specifier, req


def test_the_installed_shiboken_is_not_the_one_the_guard_was_for():
    import shiboken6
    if sys.version_info < (3, 12):
        assert not str(shiboken6.__version__).startswith("6.12"), shiboken6.__version__


def test_importing_the_gui_patches_nothing():
    import ganstudio.gui  # noqa: F401
    assert not (ROOT / "ganstudio" / "gui" / "_refcount_guard.py").exists()
    assert sys.getrefcount(None) < 1 << 40  # the guard added 2**40 to None's count


def test_the_interactive_process_settings_are_made_by_one_start_up_function(monkeypatch):
    import gc

    import torch

    from ganstudio.engine import process
    calls = []
    monkeypatch.setattr(sys, "setswitchinterval", lambda v: calls.append(("switch", v)))
    monkeypatch.setattr(torch, "set_num_threads", lambda n: calls.append(("threads", n)))
    monkeypatch.setattr(gc, "freeze", lambda: calls.append(("freeze",)))
    process.configure_interactive_process("cpu")
    assert [c[0] for c in calls] == ["switch", "threads", "freeze"]
    assert calls[0][1] <= 0.001 and calls[1][1] >= 1
    calls.clear()
    process.configure_interactive_process("cuda")  # a GPU leaves torch's CPU threads alone
    assert [c[0] for c in calls] == ["switch", "freeze"]
    # The window itself changes none of them.
    source = (ROOT / "ganstudio" / "gui" / "main_window.py").read_text()
    assert "setswitchinterval" not in source and "set_num_threads" not in source and "gc.freeze" not in source
