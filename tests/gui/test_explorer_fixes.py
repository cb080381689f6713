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
