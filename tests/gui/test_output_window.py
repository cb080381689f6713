"""The output window (the image alone, full screen, no chrome, keys go to the main window's actions) and the
smooth scaling choice in the main view and in exports."""
import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QApplication

from ganstudio.engine.export import export_png, scaled
from ganstudio.gui.image_view import ImageView
from tests.gui.conftest import wait_rendered


def _action(menu, text):
    return next(a for a in menu.actions() if a.text().startswith(text))


def test_output_window_shows_the_image_alone_and_follows(qtbot, open_window, checkpoint, tmp_path):
    win = open_window(checkpoint("stylegan2"))
    win.output.fill()
    screen = QGuiApplication.screens()[0]
    _action(win.output.menu, "Show on").trigger()
    out = win.output.window
    qtbot.waitUntil(out.isVisible, timeout=5000)
    assert out.isFullScreen() and out.windowFlags() & Qt.FramelessWindowHint
    assert out.screen() is screen and out.geometry() == screen.geometry()
    assert out.view.image == win.view.image and out.view.smooth  # smooth by default in the output
    assert not out.view.message and not out.view.busy

    # Keys pressed with the output window in front drive the main window's actions.
    seed = win.app.state.seed
    out.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is out, timeout=5000)
    qtbot.keyClick(out, Qt.Key_Right)
    qtbot.waitUntil(lambda: win.app.state.seed == seed + 1, timeout=5000)
    wait_rendered(qtbot, win)
    assert out.view.image == win.view.image  # the new frame, in both

    shown = out.view.image
    win.output.fill()
    _action(win.output.menu, "Smooth scaling").trigger()  # off: nearest, at a whole scale
    assert not out.view.smooth and out.view.scale() == int(out.view.scale())
    qtbot.keyClick(out, Qt.Key_Escape)
    qtbot.waitUntil(lambda: not out.isVisible(), timeout=5000)
    assert out.view.image == shown
    from ganstudio.gui.settings import settings
    assert settings().value("output/screen").startswith(screen.name() or "screen")


def _gradient_grab(smooth: bool, qtbot) -> np.ndarray:
    img = QImage(2, 1, QImage.Format_RGB888)
    img.setPixelColor(0, 0, Qt.black)
    img.setPixelColor(1, 0, Qt.white)
    view = ImageView()
    qtbot.addWidget(view)
    view.resize(401, 200)
    view.set_smooth(smooth)
    view.set_image(img)
    grabbed = view.grab().toImage().convertToFormat(QImage.Format_RGB888)
    w, h = grabbed.width(), grabbed.height()
    arr = np.frombuffer(grabbed.constBits(), np.uint8, grabbed.bytesPerLine() * h).reshape(h, -1)[:, :w * 3]
    return arr.reshape(h, w, 3)[h // 2, :, 0].copy()  # (a copy: the grabbed image's memory goes with it)


def test_main_view_smooth_scaling_blends_pixels(qtbot):
    nearest, smooth = _gradient_grab(False, qtbot), _gradient_grab(True, qtbot)
    inside = lambda row: row[(row != 24)]  # noqa: E731 (24: the view's background)
    assert set(np.unique(inside(nearest))) <= {0, 255}  # whole-pixel blocks
    assert len(set(np.unique(inside(smooth))) - {0, 255}) > 20  # a ramp between them
    view = ImageView()
    qtbot.addWidget(view)
    view.resize(401, 300)
    view.set_image(QImage(2, 1, QImage.Format_RGB888))
    assert view.scale() == 200  # nearest fits at the largest whole scale
    view.set_smooth(True)
    assert view.scale() == 200.5  # smooth fills the view


def test_main_view_smooth_choice_is_a_view_menu_setting(qtbot, open_window, checkpoint):
    win = open_window(checkpoint("dcgan"))
    assert not win.view.smooth
    win.output.main_smooth_action.trigger()
    assert win.view.smooth
    from ganstudio.gui.settings import settings
    assert settings().value("view/smooth") in (True, "true")


def test_smooth_export_is_bilinear_and_nearest_unchanged(tmp_path, direct):
    img = np.zeros((2, 2, 3), np.uint8)
    img[0, 0] = 255
    near = scaled(img, 4)
    assert (near[:4, :4] == 255).all() and (near[4:, :] == 0).all()
    smooth = scaled(img, 4, smooth=True)
    assert smooth.shape == near.shape and len(np.unique(smooth)) > 3
    with pytest.raises(ValueError, match="smooth scaling"):
        scaled(np.zeros((2, 2, 2), np.uint8), 2, smooth=True)
    from ganstudio.engine import RenderState
    state = RenderState(model="registry:dcgan:tiny", seed=3)
    export_png(direct.renderer, state, tmp_path / "s.png", scale=3, smooth=True)
    got = np.asarray(Image.open(tmp_path / "s.png"))
    base = direct(state)
    want = np.asarray(Image.fromarray(base).resize((base.shape[1] * 3, base.shape[0] * 3), Image.BILINEAR))
    assert np.array_equal(got, want)


def test_smooth_export_from_the_gallery_and_the_command_line_is_the_same(qtbot, open_window, checkpoint, tmp_path,
                                                                        direct):
    from ganstudio.cli import main
    win = open_window(checkpoint("stylegan2"))
    win.app.edit(win.app.state.replace(seed=6), "test")
    wait_rendered(qtbot, win)
    session = tmp_path / "session.json"
    win.save_session(str(session))
    gallery = win.panels["GalleryPanel"]
    gallery.smooth.setChecked(True)
    gui = tmp_path / "gui.png"
    gallery.export_png(str(gui), scale=3)
    qtbot.waitUntil(lambda: win.jobs.idle() and gui.exists(), timeout=60000)
    argv = ["export", str(session), "--scale", "3", "--device", "cpu", "--out"]
    assert main(argv + [str(tmp_path / "cli.png"), "--smooth"]) == 0
    assert main(argv + [str(tmp_path / "blocks.png")]) == 0
    assert (tmp_path / "cli.png").read_bytes() == gui.read_bytes()
    base = direct(win.app.state)
    want = np.asarray(Image.fromarray(base.squeeze(-1) if base.shape[-1] == 1 else base).resize(
        (base.shape[1] * 3, base.shape[0] * 3), Image.BILINEAR))
    got = np.asarray(Image.open(gui))
    assert np.array_equal(got.reshape(want.shape), want)
    assert not np.array_equal(np.asarray(Image.open(tmp_path / "blocks.png")).reshape(want.shape), want)
