"""The Qt-free application core: the one writer of the explorer's state, per-field change events, undo as data."""
import threading

import numpy as np
import pytest

from ganstudio.engine import RenderState
from ganstudio.engine.app_core import MAX_HISTORIES, STATE_FIELDS, AppCore, Bookmark
from ganstudio.engine.jobs import NewestWinsRunner
from ganstudio.engine.renderer import ModelInfo
from ganstudio.models import Capabilities


def _info(key: str, z_dim: int = 8) -> ModelInfo:
    return ModelInfo(key=key, label=key, model_name="dcgan", family="dcgan", capabilities=Capabilities(),
                     class_names=[], z_dim=z_dim, w_dim=z_dim, num_ws=1, c_dim=0, resolution=8, channels=1)


def _core():
    core, changes = AppCore(), []
    core.state_changed.connect(changes.append)
    core.set_model(_info("m"))
    changes.clear()
    return core, changes


def test_a_change_names_its_fields_and_its_source():
    core, changes = _core()
    panel = object()
    core.edit(core.state.replace(seed=4, z=None), "Seed 4", source=panel)
    core.edit(core.state.replace(truncation_psi=0.5), "psi")
    assert [(c.fields, c.source) for c in changes] == [(frozenset({"seed"}), panel),
                                                       (frozenset({"truncation_psi"}), None)]
    assert changes[0].touches({"seed", "z"}) and not changes[1].touches({"seed"})
    core.edit(core.state, "nothing")  # no change, no event, no step
    assert len(changes) == 2 and core.history.count() == 2
    core.undo()  # undo comes from no panel: every panel showing psi re-syncs
    assert changes[-1].fields == {"truncation_psi"} and changes[-1].source is None and core.state.truncation_psi == 1
    core.rerender()
    assert changes[-1].fields == STATE_FIELDS


def test_a_drag_is_one_undo_step_named_where_it_ended():
    core, _ = _core()
    for v in (0.9, 0.8, 0.7):
        core.edit(core.state.replace(truncation_psi=v), f"psi {v}", merge="psi")
    assert core.history.count() == 1 and core.history.undo_text() == "psi 0.7"
    core.end_gesture()
    core.edit(core.state.replace(truncation_psi=0.6), "psi 0.6", merge="psi")
    assert core.history.count() == 2
    core.undo()
    core.undo()
    assert core.state.truncation_psi == 1.0 and not core.history.can_undo() and core.history.redo_text() == "psi 0.7"
    core.redo()
    assert core.state.truncation_psi == 0.7
    core.edit(core.state.replace(seed=9), "Seed 9")  # a new step drops the redo
    assert not core.history.can_redo() and core.history.count() == 2
    # A drag back to where it started is no step at all.
    core.end_gesture()
    for v in (0.3, 0.7):
        core.edit(core.state.replace(truncation_psi=v), "psi", merge="psi")
    assert core.history.count() == 2


def test_each_model_keeps_its_own_history_and_state():
    core, _ = _core()
    core.edit(core.state.replace(seed=2), "Seed 2")
    core.set_model(_info("n"))
    assert core.state == RenderState(model="n") and core.history.count() == 0
    core.set_model(_info("m"))
    assert core.state.seed == 2 and core.history.undo_text() == "Seed 2"
    core.set_model(_info("m", z_dim=16))  # the same file now holds another network: afresh
    assert core.state == RenderState(model="m") and core.history.count() == 0
    for i in range(MAX_HISTORIES + 2):
        core.set_model(_info(f"k{i}"))
    assert len(core.histories) == MAX_HISTORIES


def test_the_gallery_is_replaced_never_changed_in_place():
    core, _ = _core()
    events = []
    core.bookmarks_changed.connect(lambda: events.append(len(core.bookmarks)))
    first = core.bookmark_current()
    core.edit(core.state.replace(z=(0.1,) * 8), "z")
    second = core.bookmark_current(np.zeros((2, 2, 3), np.uint8))
    assert first.name == "seed 0" and second.name == "seed 0 (edited)" and second.thumbnail is not None
    with pytest.raises(AttributeError):
        first.thumbnail = np.zeros((2, 2, 3), np.uint8)  # frozen
    before = core.bookmarks
    core.set_thumbnails({first.uid: np.ones((2, 2, 3), np.uint8)})
    assert before[0].thumbnail is None and core.bookmarks[0].thumbnail is not None
    assert core.bookmarks[0].uid == first.uid and core.bookmarks[0] is not first
    core.set_thumbnails({12345: None})  # a bookmark gone meanwhile: nothing changes, nothing announced
    core.remove_bookmark(0)
    assert [b.uid for b in core.bookmarks] == [second.uid] and events == [1, 2, 2, 1]
    core.set_model(_info("other"), bookmarks=[Bookmark(RenderState(model="other"))])  # a session's gallery
    assert len(core.bookmarks) == 1 and core.bookmarks[0].state.model == "other"


def test_the_newest_wins_runner_keeps_the_newest_job_of_each_channel():
    done, gate = [], threading.Event()
    runner = NewestWinsRunner("test-runner", done.append)
    runner.submit("a", gate.wait)  # holds the worker
    tokens = [runner.submit("b", lambda i=i: i) for i in range(5)]
    runner.submit("c", lambda: 1 / 0)
    gate.set()
    assert runner.wait_idle(60)
    runner.close()
    assert [(d.channel, d.result) for d in done if d.channel == "b"] == [("b", 4)]
    assert runner.dropped == 4 and runner.max_in_flight == 1 and done[-1].latest
    assert [d.token for d in done if d.channel == "b"] == [tokens[-1]]
    assert "division by zero" in next(d.error for d in done if d.channel == "c")
