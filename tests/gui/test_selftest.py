"""`ganstudio --selftest`: passes on a working install, fails with a clear line, never blocks on a dialog."""
from __future__ import annotations

import pytest

from ganstudio import cli, models, pretrained
from ganstudio.gui import app as gui_app
from ganstudio.gui import selftest


@pytest.fixture
def one_untrained_model(monkeypatch):
    """The app as if nothing shipped: the default is an untrained DCGAN, and no other model is tried."""
    monkeypatch.setattr(gui_app, "default_model", lambda: "registry:dcgan")
    monkeypatch.setattr(pretrained, "list_pretrained", lambda: [])
    monkeypatch.setattr(models, "list_models", lambda: [])


@pytest.mark.slow  # ~40 s on 2 busy cores: the Direction sweep computes its directions
def test_selftest_passes_and_exercises_the_panels(qapp, one_untrained_model):
    lines: list[str] = []
    assert selftest.run_selftest(out=lines.append) == 0, "\n".join(lines)
    assert lines[0].startswith("ok   render registry:dcgan: ")
    assert lines[1] == "ok   window on registry:dcgan: image shown"
    panels = [ln for ln in lines if " panel " in f" {ln}"]
    assert any(ln.startswith("ok   panel Latent: ") for ln in panels), lines
    assert sum(ln.startswith("ok") for ln in panels) >= 5  # DCGAN enables at least the generic panels
    assert all(ln.startswith(("ok", "n/a")) for ln in panels)
    assert lines[-1].startswith("selftest passed")


def test_selftest_fails_with_one_clear_line(qapp, monkeypatch):
    monkeypatch.setattr(gui_app, "default_model", lambda: "no-such-model")
    monkeypatch.setattr(pretrained, "list_pretrained", lambda: [])
    monkeypatch.setattr(models, "list_models", lambda: [])
    lines: list[str] = []
    assert selftest.run_selftest(out=lines.append) == 1
    assert lines[0].startswith("FAIL render no-such-model: ")
    assert lines[-1].startswith("selftest FAILED: render no-such-model")


def test_cli_flag_runs_it(monkeypatch, capsys):
    seen = []
    monkeypatch.setattr(selftest, "run_selftest", lambda: seen.append(1) or 1)
    assert cli.main(["--selftest"]) == 1 and seen == [1]


def test_exceptions_in_slots_are_recorded(qapp):
    from PySide6.QtCore import QTimer

    def boom():
        raise RuntimeError("a panel broke")

    with selftest._errors_recorded(type("W", (), {})) as errors:
        QTimer.singleShot(0, boom)
        for _ in range(20):
            qapp.processEvents()
            if errors:
                break
    assert errors == ["RuntimeError: a panel broke"]


def test_dialogs_answer_cancel_and_are_restored(qapp):
    from PySide6.QtWidgets import QFileDialog, QMessageBox
    before = QFileDialog.__dict__["getSaveFileName"], QMessageBox.__dict__["question"]
    with selftest._no_dialogs():
        assert QFileDialog.getSaveFileName(None, "x") == ("", "")
        assert QMessageBox.question(None, "x", "y") == QMessageBox.No
    assert (QFileDialog.__dict__["getSaveFileName"], QMessageBox.__dict__["question"]) == before
