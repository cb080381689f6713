"""What a hand-edited session, a stray click or a full disk does to the window: a clear error, nothing lost."""
import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from ganstudio.engine import RenderState
from ganstudio.latent.sampling import MAX_SEED
from tests.gui.conftest import wait_rendered


def write_session(path, state: dict, extra=None):
    path.write_text(json.dumps({"format": "ganstudio-session", "version": 1, "state": state,
                                "extra": {} if extra is None else extra}))
    return str(path)


@pytest.mark.parametrize("field, value", [
    ("model", 123), ("model", None), ("model", ["x"]),
    ("seed", "abc"), ("seed", None), ("seed", -1), ("seed", 2**40), ("seed", 1.5),
    ("stage", "x"), ("stage", -2), ("truncation_cutoff", "x"), ("z_threshold", "x"), ("z_threshold", -1),
    ("noise_strength", "x"), ("noise_mode", "loud"), ("stage_alpha", 3),
    ("mix_seeds", list(range(10_000))), ("mix_sources", [-1]), ("z", ["a"]), ("ws", [[1.0], [1.0, 2.0]]),
    ("class_weights", {"0": -1}), ("noise", [{"mode": "weird"}]),
])
def test_a_session_with_a_bad_field_is_refused_with_its_name(qtbot, open_window, checkpoint, tmp_path, field, value):
    win = open_window(checkpoint("stylegan2"))
    before, pixels = win.app.state, win.last_result.image.copy()
    steps = win.app.history.count()
    state = {"model": win.app.state.model, field: value}
    win.open_session(write_session(tmp_path / "bad.json", state))
    assert win.error_box.isVisible()
    assert field.split("_")[0] in win.error_box.text()
    assert win.app.state == before and win.app.history.count() == steps
    wait_rendered(qtbot, win)
    assert np.array_equal(win.last_result.image, pixels)


def test_session_bookmarks_that_are_not_a_list_are_ignored(qtbot, open_window, checkpoint, tmp_path):
    win = open_window(checkpoint("dcgan"))
    path = write_session(tmp_path / "s.json", {"model": win.app.state.model, "seed": 3}, {"bookmarks": 5})
    win.open_session(path)
    wait_rendered(qtbot, win)
    assert win.app.state.seed == 3 and win.app.bookmarks == ()


def test_a_stage_the_model_lacks_is_a_render_error_not_a_crash(qtbot, open_window, checkpoint, tmp_path):
    win = open_window(checkpoint("progan"))
    win.open_session(write_session(tmp_path / "s.json", {"model": win.app.state.model, "stage": 99}))
    qtbot.waitUntil(lambda: win.bridge.worker.idle() and win.jobs.idle(), timeout=10000)
    panel = win.panels["StagePanel"]
    win.docks["StagePanel"].raise_()
    assert panel.slider.value() == panel.slider.maximum()  # the panel shows the nearest stage
    qtbot.waitUntil(lambda: "out of range" in win.view.message, timeout=10000)


def test_seeds_beyond_a_c_int_show_and_step_exactly(qtbot, open_window, checkpoint, direct):
    win = open_window(checkpoint("dcgan"))
    latent = win.panels["LatentPanel"]
    big = 3_000_000_000
    latent.seed.setValue(big)
    wait_rendered(qtbot, win)
    assert win.app.state.seed == big and latent.seed.value() == big
    latent.next_btn.click()
    wait_rendered(qtbot, win)
    assert win.app.state.seed == big + 1 and latent.seed.value() == big + 1
    assert np.array_equal(win.last_result.image, direct(win.app.state))
    latent.seed.setValue(MAX_SEED)
    latent.next_btn.click()  # stays at the top instead of leaving the engine's range
    wait_rendered(qtbot, win)
    assert win.app.state.seed == MAX_SEED


def test_arrow_keys_stay_with_a_focused_slider(qtbot, open_window, checkpoint):
    win = open_window(checkpoint("stylegan2"))
    win.activateWindow()
    psi = win.panels["TruncationPanel"].psi.slider
    win.docks["TruncationPanel"].raise_()
    psi.setFocus()
    qtbot.waitUntil(psi.hasFocus, timeout=5000)
    seed, pos = win.app.state.seed, psi.value()
    QTest.keyClick(psi, Qt.Key_Right)
    assert psi.value() == pos + psi.singleStep() and win.app.state.seed == seed
    win.view.setFocus()
    qtbot.waitUntil(win.view.hasFocus, timeout=5000)
    QTest.keyClick(win.view, Qt.Key_Right)  # on the image the arrows still step seeds
    assert win.app.state.seed == seed + 1


def test_plain_letter_shortcuts_type_into_a_focused_combo_box(qtbot, open_window, checkpoint):
    from PySide6.QtWidgets import QComboBox
    win = open_window(checkpoint("stylegan2"))
    win.activateWindow()
    combo = next(c for c in win.findChildren(QComboBox) if c.isVisible() and c.isEnabled())
    combo.setFocus()
    qtbot.waitUntil(combo.hasFocus, timeout=5000)
    seed = win.app.state.seed
    QTest.keyClick(combo, Qt.Key_R)  # the combo's type-ahead, not Latent > Random seed
    assert win.app.state.seed == seed
    win.view.setFocus()
    qtbot.waitUntil(win.view.hasFocus, timeout=5000)
    QTest.keyClick(win.view, Qt.Key_R)
    qtbot.waitUntil(lambda: win.app.state.seed != seed, timeout=5000)


def test_arithmetic_double_click_on_a_bin_and_a_result_from_the_old_model(qtbot, open_window, checkpoint):
    win = open_window(checkpoint("stylegan2"))
    p = win.panels["ArithmeticPanel"]
    for b in range(3):
        p.add_to_bin(b, 10 + b)
    p.add_to_bin(0, 20)
    p.remove_from_bin(0, 1)
    p.remove_from_bin(0, 1)  # the second click of a double click: that cell is gone already
    assert p.bins[0] == [10]
    wait_rendered(qtbot, win)
    stylegan = win.app.state.model
    p.compute()
    # A result computed for one model arriving after a switch must not land on the other.
    p._show_result(p.result if p.result is not None else __import__("torch").zeros(1, 4), "another-model")
    assert win.app.state.model == stylegan and "A − B + C" not in win.app.history.undo_text()
    wait_rendered(qtbot, win)
    assert win.app.history.undo_text() == "A − B + C"


def test_export_failure_is_a_dialog_and_clears_the_status(qtbot, open_window, checkpoint, tmp_path):
    win = open_window(checkpoint("dcgan"))
    g = win.panels["GalleryPanel"]
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    g.export_png(str(blocker / "image.png"), 1)  # its "folder" is a file
    qtbot.waitUntil(lambda: win.jobs.idle() and win.error_box.isVisible(), timeout=10000)
    assert "Could not export" in win.error_box.text() and "image.png" in win.error_box.text()
    assert g.export_status.text().startswith("Export failed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "dcgan.safetensors", "settings"]


def test_saving_a_session_where_it_cannot_be_written_is_a_dialog(qtbot, open_window, checkpoint, tmp_path):
    win = open_window(checkpoint("dcgan"))
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    win.save_session(str(blocker / "s.json"))
    assert win.error_box.isVisible() and "Could not save the session" in win.error_box.text()


def test_class_weights_refuse_inf_and_nan(qtbot, open_window, checkpoint):
    win = open_window(checkpoint("biggan"))
    c = win.panels["ClassPanel"]
    win.docks["ClassPanel"].raise_()
    before = win.app.state.class_weights
    for text in ("inf", "nan", "1e309", "-1"):
        c.table.item(2, 1).setText(text)
        assert win.app.state.class_weights == before
        assert "Class weight must be" in win.statusBar().currentMessage()


def test_normalize_survives_huge_weights():
    from ganstudio import latent
    from ganstudio.gui.panels.classes import normalized
    assert normalized({0: 1e308, 1: 1e308}) == {0: 0.5, 1: 0.5}
    assert normalized({0: 0.0}) == {0: 0.0}
    assert latent.class_blend({0: 1e308, 1: 1e308}, 3).tolist() == [0.5, 0.5, 0.0]


def test_model_switch_keeps_the_gallery(qtbot, open_window, checkpoint):
    win = open_window(checkpoint("dcgan"))
    win.panels["GalleryPanel"].bookmark_current()
    marks = list(win.app.bookmarks)
    win.open_model(checkpoint("stylegan2"))
    qtbot.waitUntil(lambda: win.app.info.model_name == "stylegan2", timeout=15000)
    assert list(win.app.bookmarks) == marks


def test_closing_does_not_wait_for_a_slow_render(qtbot, open_window, checkpoint, monkeypatch):
    # How long closing takes is a figure (benchmarks/gui_responsiveness.py); that it does not wait for the
    # render is behaviour: shutdown returns while the render is still held.
    win = open_window(checkpoint("dcgan"))
    renderer = win.renderer
    real = renderer.render
    release, finished = threading.Event(), threading.Event()

    def held(*a, **k):
        release.wait(60)
        try:
            return real(*a, **k)
        finally:
            finished.set()
    monkeypatch.setattr(renderer, "render", held)
    win.panels["LatentPanel"].next_btn.click()
    qtbot.waitUntil(lambda: win.bridge.worker.in_flight == 1, timeout=5000)
    win.shutdown()
    assert not finished.is_set()
    release.set()


def test_a_closing_runner_stops_a_long_export_and_leaves_no_file(qtbot, tmp_path):
    from ganstudio._io import atomic_path
    from ganstudio.gui.jobs import JobRunner
    runner = JobRunner()
    started, target = [], tmp_path / "out.gif"

    ended = threading.Event()

    def export(progress):
        try:
            with atomic_path(target) as tmp:
                tmp.write_bytes(b"partial")
                for i in range(1000):
                    started.append(i)
                    progress(i / 1000)
                    time.sleep(0.01)  # one frame's work: the whole export takes 10 s, longer than close() waits
        finally:
            ended.set()
    runner.submit("export", export, lambda _: None, lambda _: None, with_progress=True)
    qtbot.waitUntil(lambda: bool(started), timeout=5000)
    runner.close()
    # close() waits 5 s at most: an export that ignored it would still be running, with its temporary file.
    assert ended.is_set() and len(started) < 1000
    assert [p.name for p in tmp_path.iterdir()] == ["settings"]  # neither the file nor its temporary


def test_state_checks_outside_the_window():
    ok = RenderState.from_dict({"model": "m", "seed": MAX_SEED, "mix_seeds": [1, 2], "stage": 0})
    assert ok.seed == MAX_SEED
    with pytest.raises(ValueError, match="seed"):
        RenderState.from_dict({"model": "m", "seed": MAX_SEED + 1})
    with pytest.raises(ValueError, match="must be a JSON object"):
        RenderState.from_dict([1])


def test_wrongly_typed_settings_do_not_stop_the_app(qtbot, temp_settings, checkpoint):
    # A hand-edited or corrupt INI: numbers and points where paths and lists belong.  recent_files
    # stopped the window from opening; train/runs_root stopped the Train window.
    from ganstudio.engine import Renderer
    from ganstudio.gui.main_window import MainWindow
    from ganstudio.gui.settings import recent_files, settings
    from ganstudio.gui.train_tab import TrainTab
    path = settings().fileName()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    number, point = "@Variant(\\0\\0\\0\\x2\\0\\0\\0\\x5)", "@Point(1 2)"
    Path(path).write_text(f"[General]\nrecent_files={number}\nlast_dir={point}\ndevice={number}\n"
                          f"export_dir={number}\n[train]\nruns_root={number}\n")
    assert recent_files() == []
    win = MainWindow(renderer=Renderer("cpu"), model=checkpoint("dcgan"))
    qtbot.addWidget(win)
    try:
        qtbot.waitUntil(lambda: win.app.info is not None, timeout=15000)
        tab = TrainTab()
        qtbot.addWidget(tab)
        assert tab.runs_root.name == "runs"  # the default
    finally:
        win.shutdown()
