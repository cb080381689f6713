"""Edits and per-layer noise are named tuples; session files written before them still open, to the same JSON."""
import json
from pathlib import Path

from ganstudio.engine import RenderState, load_session, save_session
from ganstudio.engine.state import Edit, LayerNoise

FIXTURE = Path(__file__).parent / "fixtures" / "session_v1.json"  # written by the code before the named tuples


def test_a_session_written_before_the_named_tuples_opens_as_named_tuples(tmp_path):
    state, extra = load_session(FIXTURE)
    assert state.edits == (Edit("pca", 0, 1.5, (0, 4)), Edit("raw", 2, -0.75), Edit("w", 7, 0.25, (2, 6)))
    assert all(type(e) is Edit for e in state.edits)
    assert state.edits[0].method == "pca" and state.edits[0].layers == (0, 4) and state.edits[1].layers is None
    assert state.noise == (LayerNoise("fixed", 3, 0.5), LayerNoise("off"), LayerNoise("const"))
    assert all(type(n) is LayerNoise for n in state.noise) and state.noise[0].strength == 0.5
    bookmark = RenderState.from_dict(extra["bookmarks"][0])
    assert bookmark.edits == (Edit("sefa", 1, 2.0),)
    # Saved again, the document is the one the old code wrote.
    save_session(tmp_path / "again.json", state, extra)
    assert json.loads((tmp_path / "again.json").read_text()) == json.loads(FIXTURE.read_text())


def test_named_tuples_are_hashable_and_equal_to_the_plain_tuples_callers_pass():
    plain = RenderState(model="m", edits=[("raw", 0, 1.0, None)], noise=[("off", 0, 1.0)])
    named = RenderState(model="m", edits=(Edit("raw", 0, 1.0),), noise=(LayerNoise("off"),))
    assert plain == named and hash(plain) == hash(named)
    assert type(plain.edits[0]) is Edit and type(plain.noise[0]) is LayerNoise
    assert type(plain.replace(seed=3).edits[0]) is Edit  # replace keeps them named
    assert {Edit("pca", 1, 0.5, (0, 2)): "x"}[("pca", 1, 0.5, (0, 2))] == "x"
