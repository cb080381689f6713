"""The window: undo/redo, sessions, bad checkpoints, exports, shortcuts, settings, the slider storm."""
import json
import threading

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QTimer
from PySide6.QtGui import QKeySequence

from ganstudio.engine import Renderer, RenderState
from tests.gui.conftest import wait_rendered


def shown(win):
    return win.last_result.image


def test_undo_restores_the_previous_image_exactly(qtbot, open_window, checkpoint):
    win = open_window(checkpoint("stylegan2"))
    first = shown(win).copy()
    win.panels["LatentPanel"].next_btn.click()
    wait_rendered(qtbot, win)
    second = shown(win).copy()
    assert not np.array_equal(first, second)
    psi = win.panels["TruncationPanel"].psi
    for v in (0.9, 0.7, 0.5):  # one drag: merges into one undo step
        psi.slider.setValue(psi._to_pos(v))
    psi.released.emit()
    assert win.app.history.count() == 2
    wait_rendered(qtbot, win)
    win.actions_by_name["undo"].trigger()
    assert win.app.state.truncation_psi == 1.0 and win.app.state.seed == 1
    wait_rendered(qtbot, win)
    assert np.array_equal(shown(win), second)
    win.actions_by_name["undo"].trigger()
    wait_rendered(qtbot, win)
    assert np.array_equal(shown(win), first)
    win.actions_by_name["redo"].trigger()
    wait_rendered(qtbot, win)
    assert np.array_equal(shown(win), second)
    # After a release the same slider starts a new step.
    win.actions_by_name["redo"].trigger()
    psi.slider.setValue(psi._to_pos(0.2))
    assert win.app.history.count() == 3


def test_session_round_trips_to_the_same_pixels(qtbot, open_window, checkpoint, tmp_path):
    win = open_window(checkpoint("stylegan2"))
    win.panels["LatentPanel"].seed.setValue(5)
    win.panels["TruncationPanel"].psi.set_value(0.6)
    win.panels["MixingPanel"].apply_preset("coarse")
    win.panels["NoisePanel"].set_all("off")
    win.panels["GalleryPanel"].bookmark_current()
    wait_rendered(qtbot, win)
    pixels, state = shown(win).copy(), win.app.state
    path = tmp_path / "session.json"
    win.save_session(str(path))
    assert json.loads(path.read_text())["state"]["seed"] == 5
    other = open_window(checkpoint("dcgan"))
    other.open_session(str(path))
    qtbot.waitUntil(lambda: other.app.state == state, timeout=10000)
    wait_rendered(qtbot, other)
    assert np.array_equal(shown(other), pixels)
    assert len(other.app.bookmarks) == 1 and other.app.bookmarks[0].state == state
    # A broken session file is a dialog, not a crash; the state stays.
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    other.open_session(str(bad))
    assert other.error_box.isVisible() and "not a session file" in other.error_box.text()
    assert other.app.state == state


def test_bad_checkpoint_shows_the_reason_and_keeps_the_model(qtbot, open_window, checkpoint, tmp_path):
    good = checkpoint("dcgan")
    win = open_window(good)
    pixels = shown(win).copy()
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\": 1")  # header promises more than the file has
    win.open_path(str(bad))
    qtbot.waitUntil(win.error_box.isVisible, timeout=10000)
    assert "broken.safetensors" in win.error_box.text()
    with pytest.raises(Exception) as refused:
        Renderer("cpu").load(str(bad))
    assert str(refused.value) in win.error_box.text()  # the loader's own reason, whatever its words
    assert win.app.state.model == good and win.app.info.key == good
    assert win.picker.currentData() == good
    win.panels["LatentPanel"].next_btn.click()  # still usable
    wait_rendered(qtbot, win)
    win.panels["LatentPanel"].prev_btn.click()
    wait_rendered(qtbot, win)
    assert np.array_equal(shown(win), pixels)


def test_slider_storm_keeps_one_in_flight_and_drops_stale_renders(qtbot, open_window, checkpoint, direct):
    # How long the event loop stalls during a storm is a figure, not a pass/fail: benchmarks/gui_responsiveness.py.
    win = open_window(checkpoint("stylegan2"))
    worker = win.bridge.worker
    slider = win.panels["TruncationPanel"].psi.slider
    max_queued = [0]
    changes = [0]
    # Renders are paced by the storm, at most one per burst of 10 changes, so that stale requests are
    # dropped on any machine (a fast one could otherwise render every change of this tiny model).
    paces, real = threading.Semaphore(0), win.renderer.render

    def paced(*a, **k):
        paces.acquire(timeout=60)
        return real(*a, **k)
    win.renderer.render = paced

    def storm():  # 10 value changes per timer tick: the event loop runs between bursts, as during a drag
        for _ in range(10):
            slider.setValue(changes[0] % (slider.maximum() + 1))
            changes[0] += 1
            max_queued[0] = max(max_queued[0], worker.queued)
        paces.release()
        if changes[0] >= 1000:
            driver.stop()
    driver = QTimer()
    driver.timeout.connect(storm)
    driver.start(10)
    qtbot.waitUntil(lambda: changes[0] >= 1000, timeout=120000)
    win.renderer.render = real
    paces.release(2)  # a render waiting for its turn, and the one queued behind it
    wait_rendered(qtbot, win, timeout=60000)
    assert changes[0] == 1000
    assert worker.max_in_flight == 1 and max_queued[0] <= 1
    assert worker.completed < 1000  # stale requests were dropped, not rendered
    assert win.app.history.count() == 1  # one drag, one undo step
    assert np.array_equal(shown(win), direct(win.app.state))


def test_exports(qtbot, open_window, checkpoint, tmp_path, monkeypatch):
    win = open_window(checkpoint("dcgan"))
    gallery = win.panels["GalleryPanel"]
    h, w, _ = shown(win).shape
    gallery.export_png(str(tmp_path / "x.png"), scale=3)
    qtbot.waitUntil(lambda: (tmp_path / "x.png").exists() and win.jobs.idle(), timeout=10000)
    img = np.asarray(Image.open(tmp_path / "x.png"))
    assert img.shape[:2] == (3 * h, 3 * w) and np.array_equal(img[::3, ::3], shown(win))
    gallery.bookmark_current()
    win.panels["LatentPanel"].next_btn.click()
    wait_rendered(qtbot, win)
    gallery.bookmark_current()
    assert gallery.list.count() == 2
    gallery.export_grid(str(tmp_path / "grid.png"), scale=1)
    gallery.export_latents(str(tmp_path / "lat.npy"))
    qtbot.waitUntil(lambda: win.jobs.idle() and (tmp_path / "lat.npy").exists(), timeout=10000)
    gallery.export_latents(str(tmp_path / "lat.json"))
    qtbot.waitUntil(lambda: win.jobs.idle() and (tmp_path / "lat.json").exists(), timeout=10000)
    gallery.export_animation(str(tmp_path / "a.gif"), frames_per_leg=3)
    qtbot.waitUntil(lambda: win.jobs.idle() and (tmp_path / "a.gif").exists(), timeout=20000)
    assert Image.open(tmp_path / "grid.png").size[0] > 2 * w
    assert np.load(tmp_path / "lat.npy").shape == (win.app.info.num_ws, win.app.info.w_dim)
    doc = json.loads((tmp_path / "lat.json").read_text())
    assert RenderState.from_dict(doc["state"]) == win.app.state and len(doc["z"]) == win.app.info.z_dim
    assert Image.open(tmp_path / "a.gif").n_frames == 6
    # MP4 through imageio-ffmpeg (installed by the Makefile's video extra): 6 frames, even-sized
    # by the encoder's macro blocks (the scale keeps them exact here: 3 * 16 px).
    from ganstudio.gui.panels.gallery import has_ffmpeg
    if has_ffmpeg():
        import imageio.v3 as iio
        gallery.scale.setValue(3)
        gallery.export_animation(str(tmp_path / "a.mp4"), frames_per_leg=3)
        qtbot.waitUntil(lambda: win.jobs.idle() and (tmp_path / "a.mp4").exists(), timeout=30000)
        video = iio.imread(tmp_path / "a.mp4", extension=".mp4")
        assert video.shape[0] == 6 and video.shape[1:3] == (3 * h, 3 * w)
    # No ffmpeg: MP4 is a clear message, not a crash.
    monkeypatch.setattr("ganstudio.gui.panels.gallery.has_ffmpeg", lambda: False)
    gallery.export_animation(str(tmp_path / "a.mp4"))
    assert win.error_box.isVisible() and "imageio-ffmpeg" in win.error_box.text()
    # Copy to the clipboard.
    win.actions_by_name["copy"].trigger()
    from PySide6.QtGui import QGuiApplication
    clip = QGuiApplication.clipboard().image()
    assert clip.width() == w


def test_shortcuts_settings_and_recent_files(qtbot, open_window, checkpoint, temp_settings):
    path = checkpoint("dcgan")
    win = open_window(path)
    assert win.actions_by_name["undo"].shortcut() == QKeySequence.keyBindings(QKeySequence.Undo)[0]
    assert win.actions_by_name["next_seed"].shortcut().toString() == "Right"
    win.actions_by_name["next_seed"].trigger()
    win.actions_by_name["random_seed"].trigger()
    assert win.app.state.seed not in (0, 1)
    win.show_shortcuts()
    table = win.shortcuts_dialog.findChild(type(win.shortcuts_dialog.children()[-1]))
    texts = " ".join(win.shortcuts_dialog.children()[-1].item(r, 1).text()
                     for r in range(win.shortcuts_dialog.children()[-1].rowCount()))
    for key in ("Ctrl+Z", "Ctrl+Shift+Z", "Ctrl+O", "Ctrl+S", "Ctrl+E", "Ctrl+C", "Right", "Left", "R", "F"):
        assert key in texts.split(", ") or key in texts.replace(",", " ").split()
    win.actions_by_name["zoom4"].trigger()
    assert not win.view.fit and win.view.scale() == 4
    win.actions_by_name["fit"].trigger()
    assert win.view.fit and win.view.scale() == int(win.view.scale())  # pixel-exact integer scale
    from ganstudio.gui.settings import recent_files
    assert recent_files()[0].endswith("dcgan.safetensors")
    assert list(temp_settings.rglob("*.ini"))  # written under the temp folder, not the user's


def test_default_model_and_open_command(tmp_path, monkeypatch, capsys):
    from ganstudio.cli import main
    from ganstudio.gui.app import default_model
    monkeypatch.setattr("ganstudio.pretrained.list_pretrained", lambda: [])
    assert default_model() == "registry:dcgan"
    monkeypatch.setattr("ganstudio.pretrained.list_pretrained", lambda: [{"name": "a"}, {"name": "b", "default": True}])
    assert default_model() == "b"
    assert main(["open", str(tmp_path / "missing.safetensors")]) == 2
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"junk")
    assert main(["open", str(bad)]) == 2
    assert "bad.safetensors" in capsys.readouterr().err


def test_import_latents_as_bookmarks(qtbot, open_window, checkpoint, tmp_path, direct):
    win = open_window(checkpoint("stylegan2"))
    gallery, info = win.panels["GalleryPanel"], win.app.info
    win.panels["LatentPanel"].seed.setValue(6)
    win.panels["TruncationPanel"].psi.set_value(0.5)
    wait_rendered(qtbot, win)
    original = shown(win).copy()
    # Our own .npy export (the truncated ws) comes back as a bookmark of the same pixels.
    gallery.export_latents(str(tmp_path / "lat.npy"))
    qtbot.waitUntil(lambda: win.jobs.idle() and (tmp_path / "lat.npy").exists(), timeout=10000)
    win.open_path(str(tmp_path / "lat.npy"))  # what a drop does
    qtbot.waitUntil(lambda: win.jobs.idle() and gallery.list.count() == 1, timeout=10000)
    win.panels["LatentPanel"].seed.setValue(0)
    wait_rendered(qtbot, win)
    gallery.restore(0)
    wait_rendered(qtbot, win)
    assert np.array_equal(shown(win), original)
    assert win.app.state.truncation_psi == 1.0  # exact ws: not truncated a second time
    # z rows from elsewhere: one bookmark each, rendered with the open model's settings.
    win.panels["TruncationPanel"].psi.set_value(0.5)
    z = np.random.default_rng(0).standard_normal((2, info.z_dim)).astype(np.float32)
    np.save(tmp_path / "z.npy", z)
    gallery.import_latents(str(tmp_path / "z.npy"))
    qtbot.waitUntil(lambda: win.jobs.idle() and gallery.list.count() == 3, timeout=10000)
    gallery.restore(2)
    wait_rendered(qtbot, win)
    expect = direct(RenderState(model=win.app.state.model, z=tuple(float(v) for v in z[1]), truncation_psi=0.5))
    assert np.array_equal(shown(win), expect)
    # A wrong shape: one error dialog with the reason, no bookmark, the image unchanged.
    np.save(tmp_path / "bad.npy", np.zeros((3, info.z_dim + 1), np.float32))
    before = shown(win).copy()
    gallery.import_latents(str(tmp_path / "bad.npy"))
    qtbot.waitUntil(lambda: win.jobs.idle() and win.error_box.isVisible(), timeout=10000)
    assert "bad.npy" in win.error_box.text() and "does not fit this model" in win.error_box.text()
    assert gallery.list.count() == 3 and np.array_equal(shown(win), before)
    assert win.actions_by_name["import_latents"].shortcut().toString() == "Ctrl+I"


def test_a_truncated_and_edited_biggan_z_round_trips_through_latents_npy(qtbot, open_window, checkpoint, tmp_path):
    # The export writes the final z (truncated, edited); the import clipped it to the threshold again,
    # cutting the edit back (28 levels off).
    win = open_window(checkpoint("biggan"))
    gallery = win.panels["GalleryPanel"]
    win.app.edit(win.app.state.replace(seed=5, z_threshold=0.4, edits=(("raw", 1, 1.5, None),)), "setup")
    wait_rendered(qtbot, win)
    original = shown(win).copy()
    gallery.export_latents(str(tmp_path / "lat.npy"))
    qtbot.waitUntil(lambda: win.jobs.idle() and (tmp_path / "lat.npy").exists(), timeout=10000)
    gallery.import_latents(str(tmp_path / "lat.npy"))
    qtbot.waitUntil(lambda: win.jobs.idle() and gallery.list.count() == 1, timeout=10000)
    win.app.edit(win.app.state.replace(seed=0, edits=()), "elsewhere")
    gallery.restore(0)
    wait_rendered(qtbot, win)
    assert np.array_equal(shown(win), original)


def test_biggan_deep_truncation_is_the_releases_scale(qtbot, open_window, checkpoint, direct):
    win = open_window(checkpoint("biggan-deep"))
    panel = win.panels["TruncationPanel"]
    assert panel.threshold.hi == 1.0 and panel.threshold.label.text() == "truncation"
    assert "[−2, 2]" in panel.kind_label.text()
    panel.threshold_on.setChecked(True)
    panel.threshold.slider.setValue(panel.threshold.steps)  # the top of the range: t = 1, a valid truncation
    wait_rendered(qtbot, win)
    assert win.app.state.z_threshold == 1.0 and win.last_result.error == ""
    assert np.array_equal(shown(win), direct(win.app.state))
    win.open_model(checkpoint("biggan"))
    qtbot.waitUntil(lambda: win.app.info.model_name == "biggan", timeout=15000)
    assert panel.threshold.hi == 2.0 and panel.threshold.label.text() == "threshold"


def test_each_tab_group_opens_on_a_panel_the_model_has(qtbot, open_window, checkpoint):
    win = open_window(checkpoint("biggan"))  # no style layers: Style mixing and Noise are unusable
    shown = [name for name, dock in win.docks.items() if not dock.visibleRegion().isEmpty()]
    assert shown and all(not win.panels[name].unsupported(win.app.info) for name in shown), shown


def test_open_command_takes_latents(tmp_path, monkeypatch):
    # `ganstudio open z.json` checked a latents .json as a session and refused it.
    from ganstudio.cli import main
    opened = []
    monkeypatch.setattr("ganstudio.gui.app.run_app", lambda f: opened.append(f) or 0)
    (tmp_path / "z.json").write_text(json.dumps({"z": [[0.0] * 8]}))
    np.save(tmp_path / "z.npy", np.zeros((1, 8), np.float32))
    assert main(["open", str(tmp_path / "z.json")]) == 0 and main(["open", str(tmp_path / "z.npy")]) == 0
    assert opened == [str(tmp_path / "z.json"), str(tmp_path / "z.npy")]
