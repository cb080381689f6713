"""The 2-D playground widget: training on its worker thread, Step, Play / Pause, live loss and rate changes,
reset, points drawn with the mouse, and the thread ended when the tab or the window closes."""
import threading

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication

from ganstudio.gui.playground import PlaygroundWidget
from ganstudio.training.playground import BOUNDS, PlaygroundConfig
from ganstudio.training.playground_worker import THREAD_NAME


def _thread(worker):
    """The worker's thread object (None when none runs): checked after closing, so no other widget's counts."""
    return worker._thread


@pytest.fixture
def widget(qtbot):
    w = PlaygroundWidget(config=PlaygroundConfig(n_shown=64, seed=0))
    qtbot.addWidget(w)
    w.resize(900, 600)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: w.snapshot is not None)  # the first picture, made on the worker
    yield w
    w.shutdown()


def _paused(widget, qtbot):
    qtbot.waitUntil(lambda: widget.snapshot is not None and not widget.snapshot.playing)


def test_step_button_makes_one_update_and_draws_it(widget, qtbot):
    fake_before = widget.fake_points.data["x"].copy()
    qtbot.mouseClick(widget.step_btn, Qt.LeftButton)
    qtbot.waitUntil(lambda: widget.updates == 1)
    assert "update 1" in widget.status.text()
    assert not (widget.fake_points.data["x"] == fake_before).all()  # the generated points were redrawn
    assert len(widget.d_curve.getData()[0]) == 1
    # D's heat map covers the plotted square exactly (setImage once dropped a rect set beforehand)
    r = widget.heat.mapRectToParent(widget.heat.boundingRect())
    assert (r.left(), r.top(), r.width(), r.height()) == pytest.approx((BOUNDS[0], BOUNDS[0], 5.0, 5.0))


def test_training_runs_on_the_worker_thread_not_the_gui_thread(widget, qtbot, monkeypatch):
    from ganstudio.training.playground import Playground
    threads = set()
    step = Playground.step

    def spy(self):
        threads.add(threading.current_thread())
        return step(self)
    monkeypatch.setattr(Playground, "step", spy)
    qtbot.mouseClick(widget.step_btn, Qt.LeftButton)
    qtbot.waitUntil(lambda: widget.updates == 1)
    assert threads and threading.main_thread() not in threads
    assert {t.name for t in threads} == {THREAD_NAME}


def test_play_advances_and_redraws_and_pause_stops_the_counter(widget, qtbot):
    frames, heat = widget.frames_drawn, widget.snapshot.heat
    qtbot.mouseClick(widget.play_btn, Qt.LeftButton)
    assert widget.play_btn.text() == "Pause"
    qtbot.waitUntil(lambda: widget.updates >= 10 and widget.frames_drawn >= frames + 2)
    assert not np.array_equal(widget.snapshot.heat, heat)  # D's picture moved with it
    assert widget.worker.is_alive()
    qtbot.mouseClick(widget.play_btn, Qt.LeftButton)
    assert widget.play_btn.text() == "Play"
    _paused(widget, qtbot)  # the worker has acknowledged the pause: no update after this one
    n, made = widget.updates, widget.worker.steps
    assert made == n
    QApplication.processEvents()
    assert widget.updates == n and widget.worker.steps == n
    qtbot.mouseClick(widget.step_btn, Qt.LeftButton)  # Step still works while paused
    qtbot.waitUntil(lambda: widget.updates == n + 1)


def _curves(widget):
    (xd, d), (xg, g) = widget.d_curve.getData(), widget.g_curve.getData()
    return [] if xd is None else list(xd), [] if d is None else list(d), [] if g is None else list(g)


def test_loss_curves_follow_every_update_across_play_reset_and_steps(widget, qtbot):
    qtbot.mouseClick(widget.play_btn, Qt.LeftButton)
    qtbot.waitUntil(lambda: widget.updates >= 12)
    qtbot.mouseClick(widget.play_btn, Qt.LeftButton)
    _paused(widget, qtbot)  # paused: the curves hold every update made, numbered 1..n, none twice
    steps, d, g = _curves(widget)
    assert steps == list(range(1, widget.updates + 1))
    assert len(d) == len(g) == len(steps) and np.isfinite(d).all()
    widget.reset(seed=7)  # new networks, an empty history: the curves start over from it
    qtbot.waitUntil(lambda: widget.snapshot.epoch == 1)
    assert widget.updates == 0 and _curves(widget) == ([], [], []) and widget.seed.value() == 7
    for _ in range(3):
        qtbot.mouseClick(widget.step_btn, Qt.LeftButton)
    qtbot.waitUntil(lambda: widget.updates == 3)
    assert _curves(widget)[0] == [1, 2, 3]


def test_reset_while_playing_starts_the_history_over(widget, qtbot):
    qtbot.mouseClick(widget.play_btn, Qt.LeftButton)
    qtbot.waitUntil(lambda: widget.updates >= 20)
    qtbot.mouseClick(widget.reset_btn, Qt.LeftButton)
    qtbot.waitUntil(lambda: widget.snapshot.epoch == 1 and widget.updates >= 1)
    qtbot.mouseClick(widget.play_btn, Qt.LeftButton)
    _paused(widget, qtbot)
    assert _curves(widget)[0] == list(range(1, widget.updates + 1))  # only the new run's updates


def test_loss_and_rates_change_while_playing(widget, qtbot):
    qtbot.mouseClick(widget.play_btn, Qt.LeftButton)
    qtbot.waitUntil(lambda: widget.updates >= 5)
    widget.loss.setCurrentIndex(widget.loss.findData("wgan-gp"))
    widget.lr_g.setValue(0.002)
    widget.lr_d.setValue(0.0005)
    qtbot.waitUntil(lambda: widget.snapshot.config.loss == "wgan-gp"
                    and widget.snapshot.lrs == pytest.approx((0.002, 0.0005)))
    switched = widget.updates
    qtbot.waitUntil(lambda: widget.updates >= switched + 5)  # it kept training, the networks kept
    assert widget.snapshot.playing and widget.snapshot.epoch == 0
    assert widget.snapshot.heat_levels != (0.0, 1.0)  # a critic's score, not a probability, is drawn


def test_speed_limit_applies_while_playing(widget, qtbot):
    widget.speed.setValue(20)
    qtbot.mouseClick(widget.play_btn, Qt.LeftButton)
    qtbot.waitUntil(lambda: widget.updates >= 2)
    assert widget.snapshot.rate == 20  # set by its command, before the updates
    widget.speed.setValue(0)
    qtbot.waitUntil(lambda: widget.snapshot.rate == 0 and widget.snapshot.playing)


def test_clicking_the_plot_draws_points_and_trains_on_them(widget, qtbot):
    view = widget.plane
    centre = view.mapFromScene(widget.box.mapViewToScene(widget.box.viewRect().center()))
    qtbot.mouseClick(view.viewport(), Qt.LeftButton, pos=centre)
    qtbot.mouseClick(view.viewport(), Qt.LeftButton, pos=centre + QPoint(40, 0))
    qtbot.waitUntil(lambda: len(widget.snapshot.drawn) == 2)
    x0, y0 = widget.snapshot.drawn[0].tolist()
    assert abs(x0) < 0.1 and abs(y0) < 0.1  # the first click landed at the origin
    assert widget.snapshot.drawn[1, 0] > 0.1  # the second one to its right
    assert widget.distribution.currentData() == "drawn" and widget.snapshot.config.distribution == "drawn"
    assert len(widget.drawn_points.data) == 2  # drawn as markers
    qtbot.mouseClick(widget.step_btn, Qt.LeftButton)
    qtbot.waitUntil(lambda: widget.updates == 1)
    qtbot.mouseClick(widget.clear_btn, Qt.LeftButton)
    qtbot.waitUntil(lambda: len(widget.snapshot.drawn) == 0)
    assert len(widget.drawn_points.data) == 0 and len(widget.real_points.data) == 0
    qtbot.mouseClick(widget.step_btn, Qt.LeftButton)  # nothing to train on: refused in the status line
    qtbot.waitUntil(lambda: "click or drag" in widget.message.text())
    assert widget.updates == 1 and "click or drag" in widget.status.text()


def test_distribution_change_while_playing(widget, qtbot):
    real = widget.snapshot.real
    qtbot.mouseClick(widget.play_btn, Qt.LeftButton)
    widget.distribution.setCurrentIndex(widget.distribution.findData("spiral"))
    qtbot.waitUntil(lambda: widget.snapshot.config.distribution == "spiral" and widget.updates >= 3)
    assert not np.array_equal(widget.snapshot.real, real)
    assert len(widget.real_points.data) == len(widget.snapshot.real)


def test_closing_the_widget_ends_the_worker_thread(qtbot):
    w = PlaygroundWidget(config=PlaygroundConfig(n_shown=32))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.snapshot is not None)
    qtbot.mouseClick(w.play_btn, Qt.LeftButton)
    qtbot.waitUntil(lambda: w.updates >= 3)
    thread = _thread(w.worker)
    w.close()
    assert not w.worker.is_alive() and not thread.is_alive() and thread not in threading.enumerate()
    assert not w.playing


def test_hiding_the_tab_pauses_and_a_command_brings_the_worker_back(widget, qtbot):
    qtbot.mouseClick(widget.play_btn, Qt.LeftButton)
    qtbot.waitUntil(lambda: widget.updates >= 3)
    thread = _thread(widget.worker)
    widget.hide()
    assert not widget.worker.is_alive() and not thread.is_alive() and not widget.playing
    widget.show()
    n = widget.worker.steps
    qtbot.mouseClick(widget.step_btn, Qt.LeftButton)
    qtbot.waitUntil(lambda: widget.updates == n + 1 and not widget.snapshot.playing)


def test_train_window_has_the_playground_tab_and_its_shutdown_ends_the_worker(qtbot, tmp_path):
    from ganstudio.gui.train_tab import TrainTab
    tab = TrainTab(runs_root=tmp_path)
    qtbot.addWidget(tab)
    try:
        titles = [tab.tabs.tabText(i) for i in range(tab.tabs.count())]
        assert "2-D playground" in titles
        assert tab.tabs.widget(titles.index("2-D playground")) is tab.playground
        tab.playground.worker.step(2)
        qtbot.waitUntil(lambda: tab.playground.updates == 2)
        assert tab.playground.worker.is_alive()
        thread = _thread(tab.playground.worker)
    finally:
        tab.shutdown()
    assert not tab.playground.worker.is_alive() and not thread.is_alive()
