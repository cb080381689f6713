"""The code-map panel's sample lands only on the image it was drawn from: an edit made while it runs wins."""
import threading

import numpy as np

from ganstudio.engine.code_map import Region
from ganstudio.engine.transforms import seed_state

from tests.gui.test_code_map_panel import _codes, panel  # noqa: F401 - the fixture


def _hold_first_cell(p):
    """The sample stops after its first cell until the returned event is set."""
    gate, entered = threading.Event(), threading.Event()
    decode = p.sampler.decode

    def held(codes):
        entered.set()
        gate.wait(30)
        return decode(codes)
    p.sampler.decode = held
    return gate, entered, decode


def test_a_seed_changed_while_sampling_is_not_overwritten_by_the_sample(qtbot, panel):
    p, ctx, errors = panel
    gate, entered, decode = _hold_first_cell(p)
    p.grid_view.select(Region(0, 0, 1, 1))
    p.resample_region()
    qtbot.waitUntil(entered.is_set, timeout=30000)
    ctx.app.edit(seed_state(ctx.app.state, 77), "Seed 77")  # the user moves on while the cells fill in
    seeded, seed_codes = ctx.app.state, _codes(ctx)
    p.sampler.decode = decode
    gate.set()
    qtbot.waitUntil(lambda: not p.sampling, timeout=30000)
    assert ctx.app.state == seeded  # before: the resample of seed 0's grid replaced seed 77's image
    assert ctx.app.history.undo_text() == "Seed 77"
    assert "changed while sampling" in p.status.text() and not errors
    qtbot.waitUntil(lambda: p.codes is not None and np.array_equal(p.codes, seed_codes), timeout=30000)


def test_a_sample_still_applies_when_nothing_changed_meanwhile(qtbot, panel):
    p, ctx, errors = panel
    gate, entered, decode = _hold_first_cell(p)
    before = p.codes.copy()
    p.grid_view.select(Region(0, 0, 1, 1))
    p.seed.setValue(3)
    p.resample_region()
    qtbot.waitUntil(entered.is_set, timeout=30000)
    p.sampler.decode = decode
    gate.set()
    qtbot.waitUntil(lambda: not p.sampling, timeout=30000)
    assert ctx.app.history.undo_text().startswith("Resample region")
    after = _codes(ctx)
    outside = ~Region(0, 0, 1, 1).mask(before.shape[0])
    assert np.array_equal(after[outside], before[outside]) and not errors
