"""Direction sweep panel: every cell is the current state moved along one direction, and a click applies it."""
import numpy as np
from PySide6.QtCore import Qt

from ganstudio.engine import RenderState
from ganstudio.engine.transforms import sweep_alphas, sweep_state
from tests.gui.conftest import wait_rendered


def sweep(qtbot, win, method, first=0, rows=2, steps=3, strength=2.0):
    panel = win.panels["SweepPanel"]
    win.docks["SweepPanel"].raise_()
    panel.method.setCurrentIndex(panel.method.findData(method))
    panel.first.setValue(first)
    panel.rows.setValue(rows)
    panel.steps.setValue(steps)
    panel.strength.set_value(strength)
    panel.refresh()
    qtbot.waitUntil(lambda: panel.grid.count() == rows * steps and win.jobs.idle(), timeout=30000)
    return panel


def test_sweep_alphas_are_symmetric_with_zero_in_the_middle():
    assert sweep_alphas(2.0, 5) == [-2.0, -1.0, 0.0, 1.0, 2.0]
    assert sweep_alphas(3.0, 2) == [-3.0, 3.0]


def test_each_cell_is_the_state_moved_along_its_direction_and_a_click_applies_it(qtbot, open_window, checkpoint,
                                                                                  direct):
    win = open_window(checkpoint("stylegan2"))
    win.panels["LatentPanel"].seed.setValue(4)
    wait_rendered(qtbot, win)
    base = win.app.state
    panel = sweep(qtbot, win, "sefa", first=1, rows=2, steps=3, strength=2.0)
    images = panel.grid._arrays
    cells = [sweep_state(base, "sefa", i, a) for i in (1, 2) for a in (-2.0, 0.0, 2.0)]
    assert np.array_equal(images, direct.renderer.render_batch(cells).image)  # the grid is one batch
    assert np.array_equal(images[1], win.last_result.image)  # the middle column is the current image

    qtbot.mouseClick(panel.grid, Qt.LeftButton, pos=panel.grid.cell_rect(5).center())  # direction #2, +2
    assert win.app.state.edits == (("sefa", 2, 2.0, None),)
    wait_rendered(qtbot, win)
    assert np.array_equal(win.last_result.image, direct(cells[5]))
    # A batch's GEMMs may round differently from a single image's: at most one level apart.
    assert np.abs(win.last_result.image.astype(int) - images[5].astype(int)).max() <= 1
    win.actions_by_name["undo"].trigger()
    assert win.app.state == base


def test_a_sweep_adds_to_an_existing_edit_and_keeps_to_its_w_layers(qtbot, open_window, checkpoint, direct):
    win = open_window(checkpoint("stylegan2"))
    panel = win.panels["SweepPanel"]
    win.app.edit(win.app.state.replace(edits=(("sefa", 0, 1.0, (0, 2)),)))
    wait_rendered(qtbot, win)
    base = win.app.state
    panel.layer_end.setValue(2)
    assert panel.layers() == (0, 2)
    panel = sweep(qtbot, win, "sefa", first=0, rows=1, steps=2, strength=1.5)
    cells = [base.replace(edits=(("sefa", 0, 1.0 + a, (0, 2)),)) for a in (-1.5, 1.5)]
    assert np.array_equal(panel.grid._arrays, direct.renderer.render_batch(cells).image)
    qtbot.mouseClick(panel.grid, Qt.LeftButton, pos=panel.grid.cell_rect(0).center())
    assert win.app.state.edits == (("sefa", 0, -0.5, (0, 2)),)


def test_raw_z_rows_on_a_model_without_style_layers(qtbot, open_window, checkpoint, direct):
    win = open_window(checkpoint("dcgan"))
    panel = sweep(qtbot, win, "raw", first=3, rows=2, steps=2, strength=4.0)
    assert not panel.layer_start.isVisibleTo(panel)
    key = win.app.state.model
    cells = [RenderState(model=key, edits=(("raw", i, a, None),)) for i in (3, 4) for a in (-4.0, 4.0)]
    assert np.array_equal(panel.grid._arrays, direct.renderer.render_batch(cells).image)
    assert panel.grid.labels[:3] == ["#3 -4.0", "+4.0", "#4 -4.0"]


def test_a_sweep_that_cannot_render_says_why_in_the_panel(qtbot, open_window, checkpoint):
    win = open_window(checkpoint("dcgan"))
    panel = win.panels["SweepPanel"]
    win.docks["SweepPanel"].raise_()
    win.renderer.directions = lambda *a, **k: (_ for _ in ()).throw(ValueError("no layer reads z"))
    panel.method.setCurrentIndex(panel.method.findData("sefa"))
    panel.refresh()
    qtbot.waitUntil(lambda: win.jobs.idle() and panel.status.text().startswith("Sweep failed"), timeout=30000)
    assert "no layer reads z" in panel.status.text()
    assert panel.grid.count() == 0 and win.app.state == RenderState(model=win.app.state.model)


def test_a_sweep_asked_for_again_stops_rendering_the_old_one(qtbot, open_window, checkpoint, monkeypatch):
    from ganstudio.gui.panels import sweep as sweep_module
    monkeypatch.setattr(sweep_module, "MAX_BATCH_PIXELS", 1)  # one image per batch, as at 1024 px
    win = open_window(checkpoint("stylegan2"))
    panel = win.panels["SweepPanel"]
    win.docks["SweepPanel"].raise_()
    calls = []
    real = win.renderer.render_batch

    def counting(states):
        calls.append(len(states))
        if len(calls) == 1:
            panel.refresh()  # a newer request arrives while the first sweep renders
        return real(states)
    win.renderer.render_batch = counting
    panel.method.setCurrentIndex(panel.method.findData("raw"))
    panel.rows.setValue(2)
    panel.steps.setValue(2)
    panel._refresh_timer.stop()  # the debounced refresh those changes asked for would be a third sweep, or not
    panel.refresh()
    qtbot.waitUntil(lambda: panel.grid.count() == 4 and win.jobs.idle(), timeout=60000)
    assert calls == [1] + [1] * 4  # the first sweep stopped after one image; the second drew all four


def test_a_sweep_over_a_layer_range_keeps_the_same_direction_on_other_layers():
    # sweep_state keyed edits by direction only: a sweep over layers 0-4 moved an all-layer +2 edit onto
    # 0-4, so its 0 column was not the current image, and a click lost the +2 on the other layers.
    from ganstudio.engine import RenderState
    from ganstudio.engine.transforms import sweep_state
    state = RenderState(model="m", edits=(("pca", 0, 2.0, None),))
    assert sweep_state(state, "pca", 0, 0.0, (0, 4)).edits == state.edits
    assert sweep_state(state, "pca", 0, 1.0, (0, 4)).edits == (("pca", 0, 2.0, None), ("pca", 0, 1.0, (0, 4)))
    assert sweep_state(state, "pca", 0, 1.0, None).edits == (("pca", 0, 3.0, None),)
