"""The Timeline panel in the window: keys, segments, Play, export with progress and cancel, save / load;
a looping timeline exported from the window and from `ganstudio export` is the same MP4, seamless."""
import threading

import numpy as np

from ganstudio.cli import main
from ganstudio.engine.timeline import Drift, load_timeline
from tests.gui.conftest import wait_rendered


def _panel_with_keys(qtbot, win, seeds=(4, 9, 2)):
    panel = win.panels["TimelinePanel"]
    for seed in seeds:
        win.app.edit(win.app.state.replace(seed=seed), "test")
        wait_rendered(qtbot, win)
        panel.add_current()
    return panel


def test_keys_are_added_reordered_removed_and_segments_set(qtbot, open_window, checkpoint):
    win = open_window(checkpoint("stylegan2"))
    panel = _panel_with_keys(qtbot, win, (4, 9))
    win.app.edit(win.app.state.replace(seed=11, truncation_psi=0.7), "test")
    wait_rendered(qtbot, win)
    win.app.core.bookmark_current()
    panel.add_bookmark(len(win.app.bookmarks) - 1)
    assert [k.state.seed for k in panel.timeline.keys] == [4, 9, 11]
    assert panel.timeline.keys[2].state.truncation_psi == 0.7  # a key is the bookmark's whole state
    panel.keys_list.setCurrentRow(2)
    panel.up_btn.click()
    assert [k.state.seed for k in panel.timeline.keys] == [4, 11, 9] and panel.keys_list.currentRow() == 1
    panel.frames_spin.setValue(7)
    panel.easing.setCurrentText("ease-in-out")
    panel.interp.setCurrentText("lerp")
    k = panel.timeline.keys[1]
    assert (k.frames, k.easing, k.interp) == (7, "ease-in-out", "lerp")
    panel.keys_list.setCurrentRow(0)
    panel.remove_btn.click()
    assert [k.state.seed for k in panel.timeline.keys] == [11, 9]
    panel.loop.setChecked(False)
    panel.drift.setValue(0.2)
    panel.walk_frames.setValue(10)
    assert not panel.timeline.loop and panel.timeline.drift.amount == 0.2 and panel.timeline.walk.frames == 10
    assert panel.keys_list.count() == 2 and "keys" in panel.status.text()


def test_play_walks_the_frames_through_the_core_and_stops_on_another_edit(qtbot, open_window, checkpoint):
    win = open_window(checkpoint("stylegan2"))
    panel = _panel_with_keys(qtbot, win, (4, 9, 2))
    for row in range(3):
        panel.keys_list.setCurrentRow(row)
        panel.frames_spin.setValue(3)
    seen = set()
    win.app.state_changed.connect(lambda ch: seen.add(win.app.state.z))
    panel.play_btn.click()
    qtbot.waitUntil(lambda: len(panel._frames) == 9 and len(seen) >= 9, timeout=30000)
    assert {s.z for s in panel._frames} <= seen  # every frame was shown, in turn
    assert win.app.history.undo_text()  # Play's frames are one merged undo step of the core
    win.app.edit(win.app.state.replace(seed=1), "elsewhere")
    assert not panel.play_btn.isChecked() and not panel.timer.isActive()


def test_window_and_command_line_write_the_same_seamless_mp4(qtbot, open_window, checkpoint, tmp_path):
    """Seam bound: mean |last - first| of the decoded frames <= the largest mean |frame i+1 - frame i|."""
    import imageio.v3 as iio
    win = open_window(checkpoint("stylegan2"))
    panel = _panel_with_keys(qtbot, win)
    for row in range(3):
        panel.keys_list.setCurrentRow(row)
        panel.frames_spin.setValue(5)
        panel.easing.setCurrentText("ease-in-out")
    panel.drift.setValue(0.1)
    panel.scale.setValue(2)
    saved = tmp_path / "walk.json"
    assert panel.save(str(saved))
    assert load_timeline(saved) == panel.timeline and panel.timeline.drift == Drift(0.1, 0)
    gui = tmp_path / "gui.mp4"
    panel.export(str(gui))
    qtbot.waitUntil(lambda: win.jobs.idle() and gui.exists(), timeout=60000)
    assert panel.bar.value() == 1000 and "Wrote" in panel.status.text()
    cli = tmp_path / "cli.mp4"
    assert main(["export", str(saved), "--out", str(cli), "--scale", "2", "--device", "cpu"]) == 0
    assert cli.read_bytes() == gui.read_bytes()
    frames = iio.imread(gui, extension=".mp4").astype(np.float64)
    assert len(frames) == 15
    consecutive = np.abs(frames[1:] - frames[:-1]).mean(axis=(1, 2, 3))
    assert np.abs(frames[-1] - frames[0]).mean() <= consecutive.max()


def test_cancel_leaves_no_file_and_load_restores_a_timeline(qtbot, open_window, checkpoint, tmp_path):
    win = open_window(checkpoint("stylegan2"))
    panel = _panel_with_keys(qtbot, win, (4, 9))
    release = threading.Event()
    win.jobs.submit("test:block", lambda: release.wait(30), lambda _: None)  # the export waits behind it
    out = tmp_path / "out"
    out.mkdir()
    panel.export(str(out / "never.mp4"))
    assert panel.cancel_btn.isEnabled()
    panel.cancel_btn.click()
    release.set()
    qtbot.waitUntil(lambda: win.jobs.idle() and "cancelled" in panel.status.text(), timeout=60000)
    assert list(out.iterdir()) == [] and not panel.cancel_btn.isEnabled()
    saved = tmp_path / "t.json"
    assert panel.save(str(saved))
    panel.remove_key(0)
    assert len(panel.timeline.keys) == 1
    assert panel.load(str(saved)) and [k.state.seed for k in panel.timeline.keys] == [4, 9]
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    assert not panel.load(str(bad)) and [k.state.seed for k in panel.timeline.keys] == [4, 9]
    assert win.error_box.text().startswith("bad.json: not a readable timeline file")
