"""Explorer defects from the outside hunts (issue 15, items 12, 13 and 16), each driven through the window."""
import numpy as np
from PySide6.QtCore import Qt

from ganstudio.engine import RenderState
from tests.gui.conftest import wait_rendered


def _grid(view) -> np.ndarray:
    return view._arrays


def test_sample_grids_say_whether_they_carry_the_edits_and_offer_plain_samples(qtbot, open_window, checkpoint,
                                                                                  direct):
    # After a strong edit the truncation row and the arithmetic picking grid showed copies of the same
    # distorted image, without a word.  Plain samples are the default now, and the choice is said.
    win = open_window(checkpoint("stylegan2"))
    model = win.app.state.model
    win.app.edit(win.app.state.replace(edits=(("raw", 0, 40.0, None),)), "edit")
    trunc = win.panels["TruncationPanel"]
    win.docks["TruncationPanel"].raise_()
    seeds = trunc.sample_seeds()
    plain = np.stack([direct(RenderState(model=model, seed=s)) for s in seeds])
    edited = np.stack([direct(RenderState(model=model, seed=s, edits=(("raw", 0, 40.0, None),))) for s in seeds])
    assert not np.array_equal(plain, edited)
    qtbot.waitUntil(lambda: _grid(trunc.samples) is not None and np.array_equal(_grid(trunc.samples), plain),
                    timeout=15000)
    assert "Plain samples" in trunc.carry_edits.note.text() and "z 0 +40.0" in trunc.carry_edits.note.text()
    trunc.carry_edits.box.setChecked(True)
    qtbot.waitUntil(lambda: np.array_equal(_grid(trunc.samples), edited), timeout=15000)
    assert "carry the current edits" in trunc.carry_edits.note.text()
    trunc._pick_sample(1)  # opens the sample as drawn, edits included
    assert win.app.state.seed == seeds[1] and win.app.state.edits == (("raw", 0, 40.0, None),)

    arith = win.panels["ArithmeticPanel"]
    win.docks["ArithmeticPanel"].raise_()
    grid_seeds = arith.sample_seeds()
    plain = np.stack([direct(RenderState(model=model, seed=s)) for s in grid_seeds])
    qtbot.waitUntil(lambda: _grid(arith.samples) is not None and np.array_equal(_grid(arith.samples), plain),
                    timeout=15000)
    assert "Plain samples" in arith.carry_edits.note.text()
    win.app.edit(win.app.state.replace(edits=()), "no edits")
    qtbot.waitUntil(lambda: arith.carry_edits.note.text() == "" and not arith.carry_edits.box.isEnabled())


def test_class_blend_controls_follow_the_state_after_switching_model(qtbot, open_window, checkpoint):
    # t = 1.00 "from 0 to 1" stayed on show after opening another model whose state is class 0 alone.
    first, second = checkpoint("cgan"), checkpoint("acgan")
    win = open_window(first)
    panel = win.panels["ClassPanel"]
    win.docks["ClassPanel"].raise_()
    qtbot.waitUntil(panel.is_shown)
    panel.class_a.setCurrentIndex(0)
    panel.class_b.setCurrentIndex(1)
    panel.t.slider.setValue(panel.t.steps)
    assert dict(win.app.state.class_weights) == {1: 1.0}
    win.open_model(second)
    qtbot.waitUntil(lambda: win.app.info.key == second, timeout=15000)
    wait_rendered(qtbot, win)
    assert dict(win.app.state.class_weights or {0: 1.0}) == {0: 1.0}
    assert (panel.class_a.currentIndex(), panel.t.value()) == (0, 0.0)
    win.open_model(first)  # back as it was left: the blend at t = 1
    qtbot.waitUntil(lambda: win.app.info.key == first, timeout=15000)
    assert (panel.class_a.currentIndex(), panel.class_b.currentIndex(), panel.t.value()) == (0, 1, 1.0)
    # Weights typed into the table move the controls too; a mix of three says t blends two of them.
    panel.table.item(2, 1).setText("1")
    assert dict(win.app.state.class_weights) == {1: 1.0, 2: 1.0}
    assert (panel.class_a.currentIndex(), panel.class_b.currentIndex(), panel.t.value()) == (1, 2, 0.5)
    panel.table.item(0, 1).setText("3")
    assert panel.class_a.currentIndex() == 0 and "mix 3 classes" in panel.blend_note.text()


def test_opening_another_model_clears_the_status_error_and_shows_the_class_panel_first(qtbot, open_window,
                                                                                          checkpoint, tmp_path):
    win = open_window(checkpoint("dcgan"))
    win.open_model(str(tmp_path / "missing.safetensors"))
    qtbot.waitUntil(lambda: "Could not open" in win.statusBar().currentMessage(), timeout=15000)
    win.error_box.hide()
    cgan = checkpoint("cgan")
    win.open_model(cgan)
    qtbot.waitUntil(lambda: win.app.info.key == cgan, timeout=15000)
    assert win.statusBar().currentMessage() == ""
    # The first view of a class-conditional model shows its classes (it showed Vector arithmetic).
    qtbot.waitUntil(lambda: not win.docks["ClassPanel"].visibleRegion().isEmpty())
    assert win.panels["ClassPanel"].is_shown()


def test_the_mixing_grid_is_plain_unless_asked_and_a_cell_opens_as_drawn(qtbot, open_window, checkpoint, direct):
    win = open_window(checkpoint("stylegan2"))
    edit = (("raw", 0, 40.0, None),)
    win.app.edit(win.app.state.replace(edits=edit), "edit")
    panel = win.panels["MixingPanel"]
    win.docks["MixingPanel"].raise_()
    states, rows, cols = panel.grid_states()
    assert all(s.edits == () for s in states)
    plain_corner = direct(states[-1])
    qtbot.waitUntil(lambda: getattr(panel, "_grid_shape", None) is not None and win.jobs.idle(), timeout=15000)
    assert np.array_equal(panel.grid._arrays[-1], plain_corner)
    assert "Plain samples" in panel.carry_edits.note.text()
    panel.click_cell(len(rows) - 1, len(cols) - 1)
    assert win.app.state.edits == () and win.app.state.mix_seeds == (cols[-1],)
    wait_rendered(qtbot, win)
    assert np.array_equal(win.last_result.image, plain_corner)  # the cell clicked is the image shown
