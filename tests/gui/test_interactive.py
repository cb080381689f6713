"""Issue 17 in the window: a drag on a slow model shows labelled previews, then the full image; panel previews wait."""
import numpy as np

from ganstudio.engine import render_service
from tests.gui.conftest import wait_rendered


def test_a_drag_shows_labelled_previews_then_the_full_image(qtbot, open_window, checkpoint, direct, monkeypatch):
    # Every real render misses a zero budget, so even this tiny StyleGAN2 (16 px) previews while dragged.
    monkeypatch.setattr(render_service, "FRAME_BUDGET_MS", 0.0)
    monkeypatch.setattr(render_service, "SLOWEST_FRAME_MS", 0.0)
    win = open_window(checkpoint("stylegan2"))
    assert "preview" not in win.ms_label.text()
    slider = win.panels["TruncationPanel"].psi.slider
    win.render.hold(True)  # the slider is pressed
    for step in range(1, 6):
        slider.setValue(slider.value() - 7 * step)
    qtbot.waitUntil(lambda: win.displayed_state == win.app.state, timeout=60000)
    res = win.last_result
    assert res.preview == 4 and "preview 4 px" in win.ms_label.text()
    assert res.image.shape == direct(win.app.state).shape  # upsampled to the model's size
    assert win.ctx.displayed_image(win.app.state) is None  # panels never take a preview for the image
    qtbot.waitUntil(lambda: win.render.previews_waiting >= 1, timeout=60000)  # the samples row waits
    win.render.hold(False)  # released
    qtbot.waitUntil(lambda: win.last_result.preview == 0, timeout=60000)
    wait_rendered(qtbot, win, timeout=60000)
    assert "preview" not in win.ms_label.text()
    assert np.array_equal(win.last_result.image, direct(win.app.state))
    assert np.array_equal(win.ctx.displayed_image(win.app.state), win.last_result.image)


def test_a_pressed_slider_is_a_drag_until_released(qtbot, open_window, checkpoint):
    win = open_window(checkpoint("stylegan2"))
    slider = win.panels["LatentPanel"].z_sliders[0].slider
    qtbot.waitUntil(lambda: not win.render.dragging, timeout=60000)
    slider.setSliderDown(True)  # what a mouse press on the handle does (sliderPressed)
    assert win.render.dragging
    slider.setSliderDown(False)  # sliderReleased
    qtbot.waitUntil(lambda: not win.render.dragging, timeout=60000)
