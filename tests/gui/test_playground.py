"""The 2-D playground widget: Step, Play / Pause, the loss switched while paused, points drawn with the mouse."""
import pytest
from PySide6.QtCore import QPoint, Qt

from ganstudio.gui.playground import PlaygroundWidget
from ganstudio.training.playground import BOUNDS, PlaygroundConfig


@pytest.fixture
def widget(qtbot):
    w = PlaygroundWidget(config=PlaygroundConfig(n_shown=64, seed=0))
    qtbot.addWidget(w)
    w.resize(900, 600)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.set_playing(False)


def test_step_button_makes_one_update_and_draws_it(widget, qtbot):
    fake_before = widget.fake_points.data["x"].copy()
    qtbot.mouseClick(widget.step_btn, Qt.LeftButton)
    qtbot.waitUntil(lambda: len(widget.playground.history) == 1)
    assert "update 1" in widget.status.text()
    assert not (widget.fake_points.data["x"] == fake_before).all()  # the generated points were redrawn
    assert len(widget.d_curve.getData()[0]) == 1
    # D's heat map covers the plotted square exactly (setImage once dropped a rect set beforehand)
    r = widget.heat.mapRectToParent(widget.heat.boundingRect())
    assert (r.left(), r.top(), r.width(), r.height()) == pytest.approx((BOUNDS[0], BOUNDS[0], 5.0, 5.0))


def test_play_trains_and_draws_until_paused(widget, qtbot):
    frames = widget.frames_drawn
    qtbot.mouseClick(widget.play_btn, Qt.LeftButton)
    assert widget.play_btn.text() == "Pause"
    qtbot.waitUntil(lambda: len(widget.playground.history) >= 10 and widget.frames_drawn >= frames + 2)
    qtbot.mouseClick(widget.play_btn, Qt.LeftButton)
    assert not widget.timer.isActive() and widget.play_btn.text() == "Play"
    n = len(widget.playground.history)
    qtbot.mouseClick(widget.step_btn, Qt.LeftButton)
    assert len(widget.playground.history) == n + 1


def _curves(widget):
    (xd, d), (xg, g) = widget.d_curve.getData(), widget.g_curve.getData()
    return [] if xd is None else list(xd), [] if d is None else list(d), [] if g is None else list(g)


def test_loss_curves_follow_the_history_across_play_reset_and_steps(widget, qtbot):
    qtbot.mouseClick(widget.play_btn, Qt.LeftButton)
    qtbot.waitUntil(lambda: len(widget.playground.history) >= 12)
    qtbot.mouseClick(widget.play_btn, Qt.LeftButton)  # paused: the curves hold every update made
    hist = widget.playground.history
    assert _curves(widget) == ([s.step for s in hist], [s.d_loss for s in hist], [s.g_loss for s in hist])
    widget.reset(seed=7)  # new networks, an empty history: the curves start over from it
    assert _curves(widget) == ([], [], [])
    for _ in range(3):
        qtbot.mouseClick(widget.step_btn, Qt.LeftButton)
    hist = widget.playground.history
    assert _curves(widget) == ([1, 2, 3], [s.d_loss for s in hist], [s.g_loss for s in hist])


def test_loss_and_rates_switch_while_paused(widget, qtbot):
    qtbot.mouseClick(widget.step_btn, Qt.LeftButton)
    widget.loss.setCurrentIndex(widget.loss.findData("wgan-gp"))
    assert widget.playground.config.loss == "wgan-gp"
    widget.lr_g.setValue(0.002)
    assert widget.playground.opt_g.param_groups[0]["lr"] == pytest.approx(0.002)
    qtbot.mouseClick(widget.step_btn, Qt.LeftButton)
    assert len(widget.playground.history) == 2  # the networks were kept across the switch


def test_clicking_the_plot_draws_points_and_trains_on_them(widget, qtbot):
    view = widget.plane
    centre = view.mapFromScene(widget.box.mapViewToScene(widget.box.viewRect().center()))
    qtbot.mouseClick(view.viewport(), Qt.LeftButton, pos=centre)
    qtbot.mouseClick(view.viewport(), Qt.LeftButton, pos=centre + QPoint(40, 0))
    qtbot.waitUntil(lambda: len(widget.playground.drawn) == 2)
    x0, y0 = widget.playground.drawn[0].tolist()
    assert abs(x0) < 0.1 and abs(y0) < 0.1  # the first click landed at the origin
    assert widget.playground.drawn[1, 0] > 0.1  # the second one to its right
    assert widget.distribution.currentData() == "drawn" and widget.playground.config.distribution == "drawn"
    assert len(widget.drawn_points.data) == 2  # drawn as markers
    qtbot.mouseClick(widget.step_btn, Qt.LeftButton)
    assert len(widget.playground.history) == 1
    qtbot.mouseClick(widget.clear_btn, Qt.LeftButton)
    assert len(widget.playground.drawn) == 0
    assert len(widget.drawn_points.data) == 0 and len(widget.real_points.data) == 0
    qtbot.mouseClick(widget.step_btn, Qt.LeftButton)  # nothing to train on: refused in the status line
    assert len(widget.playground.history) == 1 and "click or drag" in widget.status.text()


def test_train_window_has_the_playground_tab(qtbot, tmp_path):
    from ganstudio.gui.train_tab import TrainTab
    tab = TrainTab(runs_root=tmp_path)
    qtbot.addWidget(tab)
    try:
        titles = [tab.tabs.tabText(i) for i in range(tab.tabs.count())]
        assert "2-D playground" in titles
        assert tab.tabs.widget(titles.index("2-D playground")) is tab.playground
    finally:
        tab.shutdown()
