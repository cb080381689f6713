"""Small things a user notices: menus during a load, clicks landing on the pixel drawn, stray buttons."""
import threading

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QImage, QWheelEvent
from PySide6.QtWidgets import QApplication

from tests.gui.conftest import wait_rendered


@pytest.mark.parametrize("menu, choice", [("precision_actions", "fp16"), ("device_actions", "cpu")])
def test_a_renderer_switch_during_a_load_still_opens_that_model(qtbot, open_window, checkpoint, menu, choice):
    win = open_window(checkpoint("dcgan"))
    target = checkpoint("stylegan2")
    win.open_model(target)
    getattr(win, menu)[choice].trigger()
    qtbot.waitUntil(lambda: win.app.state.model == target and win.jobs.idle(), timeout=30000)
    wait_rendered(qtbot, win)
    assert win.view.message == "" and win.app.info.model_name == "stylegan2"


def hold_renders(renderer) -> tuple[threading.Event, threading.Event, object]:
    """Make ``renderer.render`` wait until the returned ``release`` event is set (at most a minute);
    ``finished`` is set when a held render returns.  Returns (release, finished, the real render)."""
    real = renderer.render
    release, finished = threading.Event(), threading.Event()

    def held(*a, **k):
        release.wait(60)
        try:
            return real(*a, **k)
        finally:
            finished.set()
    renderer.render = held
    return release, finished, real


def test_a_renderer_switch_does_not_wait_for_a_render_in_flight(qtbot, open_window, checkpoint):
    # How long the switch takes is a figure (benchmarks/gui_responsiveness.py); that it does not wait is
    # behaviour: it returns while the render in flight is still held.
    win = open_window(checkpoint("dcgan"))
    release, finished, _ = hold_renders(win.renderer)
    win.panels["LatentPanel"].step_seed(1)
    qtbot.waitUntil(lambda: win.bridge.worker.in_flight == 1, timeout=5000)
    win.precision_actions["fp16"].trigger()
    assert not finished.is_set()
    release.set()
    wait_rendered(qtbot, win, timeout=20000)  # the new renderer shows the current state


@pytest.mark.parametrize("width", [1400, 1401])
@pytest.mark.parametrize("zoom", [1, 2, 8])
def test_image_rect_is_where_the_pixels_are_drawn(qtbot, width, zoom):
    from ganstudio.gui.image_view import ImageView
    view = ImageView()
    qtbot.addWidget(view)
    view.resize(width, 901)
    img = QImage(5, 5, QImage.Format_RGB32)
    for x in range(5):
        for y in range(5):
            img.setPixel(x, y, 0xFF000000 | (x * 50 << 16) | (y * 50 << 8))
    view.set_image(img)
    view.set_zoom(zoom)
    r = view.image_rect()
    assert r.x() == int(r.x()) and r.y() == int(r.y())
    shot = view.grab().toImage()
    for x in range(5):  # the first screen pixel of each image column is that column's colour
        px = shot.pixel(int(r.x()) + x * zoom, int(r.y()) + 2 * zoom)
        assert (px >> 16) & 0xFF == x * 50


def test_a_sideways_scroll_does_not_zoom(qtbot, open_window, checkpoint):
    win = open_window(checkpoint("dcgan"))
    win.actions_by_name["zoom4"].trigger()
    sideways = QWheelEvent(QPointF(10, 10), QPointF(10, 10), QPoint(0, 0), QPoint(120, 0), Qt.NoButton,
                           Qt.NoModifier, Qt.NoScrollPhase, False)
    QApplication.sendEvent(win.view, sideways)
    assert win.view.scale() == 4


def test_truncation_thumbnail_opens_the_seed_it_shows(qtbot, open_window, checkpoint):
    win = open_window(checkpoint("stylegan2"))
    win.docks["TruncationPanel"].raise_()
    p = win.panels["TruncationPanel"]
    qtbot.waitUntil(lambda: p.samples.labels[:2] == ["0", "1"] and win.jobs.idle(), timeout=15000)
    p.seeds_edit.setText("100-107")  # typed, not rendered yet
    p.samples.clicked.emit(2)
    assert win.app.state.seed == 2
    p.seeds_edit.setText("oops")
    p.samples.clicked.emit(3)
    assert win.app.state.seed == 3


def test_a_failed_direction_compute_says_why_in_the_panel(qtbot, open_window, checkpoint):
    win = open_window(checkpoint("dcgan"))
    p = win.panels["LatentPanel"]
    p.ctx.render.directions = lambda *a, **k: (_ for _ in ()).throw(ValueError("no layer reads z"))
    p.compute_directions()
    qtbot.waitUntil(lambda: "failed" in p.dir_status.text(), timeout=10000)
    assert "no layer reads z" in p.dir_status.text()


def test_a_right_click_on_the_blend_pad_is_not_a_blend(qtbot, open_window, checkpoint):
    win = open_window(checkpoint("dcgan"))
    win.docks["BlendPadPanel"].raise_()
    pad = win.panels["BlendPadPanel"].pad
    before = win.app.state
    area = pad.area()
    qtbot.mouseClick(pad, Qt.RightButton, pos=QPoint(int(area.left()) + 2, int(area.top()) + 2))
    assert win.app.state == before


def test_shortcut_list_has_no_empty_keys(qtbot, open_window, checkpoint):
    win = open_window(checkpoint("dcgan"))
    win.show_shortcuts()
    table = win.shortcuts_dialog.layout().itemAt(0).widget()
    keys = [table.item(r, 1).text() for r in range(table.rowCount())]
    assert keys and all(k.strip() for k in keys)  # Quit has no key on some platforms: then it is not listed


def test_a_16_bit_png_is_scaled_not_clipped(tmp_path):
    from ganstudio.gui.panels.encoder import load_image
    ramp = np.arange(0, 65536, 16, dtype=np.uint16).reshape(64, 64)
    Image.fromarray(ramp).save(tmp_path / "deep.png")
    pixels = load_image(str(tmp_path / "deep.png"), 64, 1)
    assert pixels.min() == 0 and pixels.max() == 255 and (pixels == 255).mean() < 0.01


def test_the_status_bar_shows_the_zoom_of_the_first_image(qtbot, open_window, checkpoint):
    win = open_window(checkpoint("dcgan"))
    s = win.view.scale()
    assert s > 1 and win.zoom_label.text() == f"fit {s:g}×"  # not the "1×" of the empty view


def test_a_slow_render_says_it_is_coming_and_the_note_goes_with_the_image(qtbot, open_window, checkpoint):
    win = open_window(checkpoint("dcgan"))
    release, _, real = hold_renders(win.renderer)
    assert win.view.busy == ""
    win.panels["LatentPanel"].next_btn.click()
    qtbot.waitUntil(lambda: win.view.busy == "Rendering…", timeout=5000)  # the render is held: it is slow
    release.set()
    wait_rendered(qtbot, win)
    assert win.view.busy == ""
    win.renderer.render = real
    for _ in range(20):  # renders that come back: no note once the image is the current state
        win.panels["LatentPanel"].next_btn.click()
    wait_rendered(qtbot, win)
    # Nothing left to say a render is coming: the note is gone and its timer cannot bring it back.
    assert win.view.busy == "" and not win._slow_render.isActive()


def test_the_panel_layout_is_kept_across_runs_and_can_be_reset(qtbot, open_window, checkpoint):
    from PySide6.QtCore import Qt as _Qt
    win = open_window(checkpoint("dcgan"))
    win.docks["NoisePanel"].close()
    win.addDockWidget(_Qt.RightDockWidgetArea, win.docks["LatentPanel"])  # moved to the other side
    win.close()  # saves the layout, as quitting does

    again = open_window(checkpoint("dcgan"))
    assert not again.docks["NoisePanel"].isVisible()
    assert again.dockWidgetArea(again.docks["LatentPanel"]) == _Qt.RightDockWidgetArea
    again.actions_by_name["reset_layout"].trigger()
    assert again.docks["NoisePanel"].isVisible()
    assert again.dockWidgetArea(again.docks["LatentPanel"]) == _Qt.LeftDockWidgetArea
    assert again.dockWidgetArea(again.docks["NoisePanel"]) == _Qt.RightDockWidgetArea
    from PySide6.QtWidgets import QTabBar
    bars = again.findChildren(QTabBar)
    assert bars and all(b.elideMode() == _Qt.ElideNone for b in bars)  # Qt's new tab bars elide to "L…"


def test_full_screen_toggles(qtbot, open_window, checkpoint):
    win = open_window(checkpoint("dcgan"))
    win.actions_by_name["full_screen"].trigger()
    qtbot.waitUntil(win.isFullScreen, timeout=3000)
    win.actions_by_name["full_screen"].trigger()
    qtbot.waitUntil(lambda: not win.isFullScreen(), timeout=3000)


def test_reset_to_the_plain_seed_is_one_undo_step(qtbot, open_window, checkpoint, direct):
    from ganstudio.engine import RenderState
    win = open_window(checkpoint("stylegan2"))
    key = win.app.state.model
    edited = RenderState(model=key, seed=5, truncation_psi=0.4, mix_seeds=(9,), mix_sources=(1,) * win.app.info.num_ws,
                         noise_mode="random", edits=(("raw", 2, 1.5, None),), z=(0.1,) * win.app.info.z_dim)
    win.app.edit(edited)
    win.actions_by_name["reset"].trigger()
    assert win.app.state == RenderState(model=key, seed=5)
    wait_rendered(qtbot, win)
    assert np.array_equal(win.last_result.image, direct(RenderState(model=key, seed=5)))
    win.actions_by_name["undo"].trigger()
    assert win.app.state == edited


def test_without_a_model_every_panel_says_so_and_takes_no_input(qtbot, tmp_path, checkpoint):
    # The start-up model failed to open (or is still loading): panels showed live widgets whose slots
    # raised on the missing model.
    from ganstudio.engine import Renderer
    from ganstudio.gui.main_window import MainWindow
    bad = tmp_path / "picture.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not a checkpoint")
    win = MainWindow(renderer=Renderer("cpu"), model=str(bad))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.pending_open is None and win.jobs.idle(), timeout=15000)
    assert win.app.info is None
    for name, panel in win.panels.items():
        stack = win.docks[name].widget()
        assert stack.currentIndex() == 1 and "open a model first" in stack.widget(1).text()
        assert not panel.isEnabled()
    win.open_model(checkpoint("stylegan2"))
    qtbot.waitUntil(lambda: win.app.info is not None, timeout=15000)
    assert win.panels["NoisePanel"].isEnabled() and win.docks["NoisePanel"].widget().currentIndex() == 0
    assert not win.panels["EncoderPanel"].isEnabled()  # StyleGAN has no encoder
    win.shutdown()


def test_direction_sliders_stay_usable_after_another_model_or_method(qtbot, open_window, checkpoint):
    # The directions stay cached in the renderer; the panel forgot them on a switch and showed the
    # sliders disabled with "Press Compute" while the image still used them.
    a, b = checkpoint("dcgan"), checkpoint("cgan")
    win = open_window(a)
    panel = win.panels["LatentPanel"]
    panel.compute_btn.click()
    qtbot.waitUntil(lambda: panel.dir_sliders[0].isEnabled(), timeout=30000)
    panel.method.setCurrentIndex(panel.method.findData("sefa"))
    panel.method.setCurrentIndex(panel.method.findData("pca"))
    assert panel.dir_sliders[0].isEnabled()
    win.open_model(b)
    qtbot.waitUntil(lambda: win.app.info.key == b, timeout=15000)
    assert not panel.dir_sliders[0].isEnabled()  # not computed for this model
    win.open_model(a)
    qtbot.waitUntil(lambda: win.app.info.key == a, timeout=15000)
    assert panel.dir_sliders[0].isEnabled() and "top" in panel.dir_status.text()


def test_shortcut_list_names_undo_plainly_and_a_drag_step_by_its_end(qtbot, open_window, checkpoint):
    win = open_window(checkpoint("stylegan2"))
    psi = win.panels["TruncationPanel"].psi
    for v in (0.8, 0.3, -0.5):  # one drag: one step, named by where it ended
        psi.slider.setValue(psi._to_pos(v))
    psi.released.emit()
    assert win.app.history.undo_text() == "ψ -0.50"
    win.show_shortcuts()
    table = win.shortcuts_dialog.layout().itemAt(0).widget()
    actions = [table.item(r, 0).text() for r in range(table.rowCount())]
    assert "Undo" in actions and "Redo" in actions and not any("ψ" in a for a in actions)


def test_encoder_input_is_centre_cropped_not_squashed(tmp_path):
    from PIL import Image
    from ganstudio.gui.panels.encoder import load_image
    a = np.zeros((20, 40), np.uint8)
    a[:, 10:30] = 255  # a white square in the middle of a wide picture, black bands on each side
    Image.fromarray(a).save(tmp_path / "wide.png")
    pixels = load_image(str(tmp_path / "wide.png"), 20, 1)
    assert pixels.shape == (20, 20, 1) and pixels.min() == 255  # the bands are cropped away


def test_ctrl_z_with_focus_in_the_seed_box_is_the_apps_undo(qtbot, open_window, checkpoint):
    # After typing a seed and Enter the focus stays in the box, whose line edit took Ctrl+Z for itself.
    from PySide6.QtTest import QTest
    win = open_window(checkpoint("dcgan"))
    box = win.panels["LatentPanel"].seed
    win.activateWindow()
    box.setFocus()
    box.lineEdit().selectAll()
    QTest.keyClicks(box, "123")
    QTest.keyClick(box, Qt.Key_Return)
    assert win.app.state.seed == 123 and win.app.history.undo_text() == "Seed 123"
    QTest.keyClick(box, Qt.Key_Z, Qt.ControlModifier)
    assert win.app.state.seed == 0


def test_a_session_opened_while_another_model_loads_wins(qtbot, open_window, checkpoint, tmp_path):
    # The session of the current model applied at once; then the earlier, slower load switched models.
    from ganstudio.engine import RenderState, save_session
    a, b = checkpoint("dcgan"), checkpoint("stylegan2")
    win = open_window(a)
    save_session(tmp_path / "s.json", RenderState(model=a, seed=42))
    win.open_model(b)
    win.open_session(str(tmp_path / "s.json"))
    qtbot.waitUntil(lambda: win.pending_open is None and win.jobs.idle(), timeout=15000)
    wait_rendered(qtbot, win)
    assert win.app.state.model == a and win.app.state.seed == 42
