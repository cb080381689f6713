"""The OSC address table without Qt: every address edits the core as the window's control would, clamped;
bad messages change nothing."""
import random

import numpy as np
import pytest

from ganstudio.engine import Renderer, RenderState
from ganstudio.engine.app_core import AppCore, Bookmark
from ganstudio.engine.osc_map import (ADDRESSES, OscHooks, OscMap, changed_values, markdown_table, osc_values)
from ganstudio.engine.transforms import pad_z
from ganstudio.latent.sampling import MAX_SEED


@pytest.fixture(scope="module")
def style_info():
    return Renderer("cpu").load("registry:stylegan2:tiny")


@pytest.fixture
def core(style_info):
    c = AppCore()
    c.set_model(style_info)
    return c


def test_each_address_makes_the_edit_its_control_would(core, style_info):
    osc = OscMap(core)
    assert osc.handle("/seed", [42]) is None
    assert core.state.seed == 42
    assert osc.handle("/latent/z/3", [1.5]) is None
    assert osc.handle("/latent/w/2", [-0.5]) is None
    assert osc.handle("/direction/PCA/1", [2.0]) is None
    assert set(core.state.edits) == {("raw", 3, 1.5, None), ("w", 2, -0.5, None), ("pca", 1, 2.0, None)}
    assert osc.handle("/psi", [0.7]) is None and core.state.truncation_psi == 0.7
    assert osc.handle("/cutoff", [2]) is None and core.state.truncation_cutoff == 2
    assert osc.handle("/cutoff", [0]) is None and core.state.truncation_cutoff is None
    assert osc.handle("/noise/strength", [0.25]) is None and core.state.noise_strength == 0.25
    assert osc.handle("/noise/mode", ["off"]) is None
    assert [n.mode for n in core.state.noise] == ["off"] * len(style_info.capabilities.noise_layers)
    assert osc.handle("/mix/1", [1]) is None
    assert core.state.mix_seeds == (1, 2) and core.state.mix_sources[1] == 1
    assert osc.handle("/pad/x", [1.0]) is None and osc.handle("/pad/y", [0.0]) is None
    expected = pad_z(core.state, style_info, (1, 2, 3, 4), 1.0, 0.0)
    np.testing.assert_array_equal(np.array(core.state.z, dtype=np.float32), expected)


def test_values_are_clamped_to_each_controls_range(core):
    osc = OscMap(core)
    osc.handle("/psi", [99.0])
    osc.handle("/latent/z/0", [-1e300])
    osc.handle("/direction/sefa/0", [7])
    osc.handle("/seed", [-5])
    osc.handle("/noise/strength", [10])
    osc.handle("/cutoff", [1000])
    st = core.state
    assert st.truncation_psi == 2.0 and st.seed == 0 and st.noise_strength == 3.0
    assert st.truncation_cutoff == core.info.num_ws
    assert set(st.edits) == {("raw", 0, -3.0, None), ("sefa", 0, 5.0, None)}
    osc.handle("/seed", [float(MAX_SEED) * 4])
    assert core.state.seed == MAX_SEED


def test_a_direction_keeps_the_layers_the_panel_gave_it(core):
    core.edit(core.state.replace(edits=(("pca", 2, 1.0, (0, 2)),)))
    OscMap(core).handle("/direction/pca/2", [-1.0])
    assert core.state.edits == (("pca", 2, -1.0, (0, 2)),)


def test_classes_by_index_and_name():
    info = Renderer("cpu").load("registry:cgan:tiny")
    core = AppCore()
    core.set_model(info)
    osc = OscMap(core)
    assert osc.handle("/class", [2]) is None and core.state.class_weights == ((2, 1.0),)
    assert osc.handle("/class", [1.0]) is None and core.state.class_weights == ((1, 1.0),)  # a float controller
    assert osc.handle("/class", [1.5])
    name = info.class_names[3]
    assert osc.handle("/class", [name.upper()]) is None and core.state.class_weights == ((3, 1.0),)
    assert osc.handle(f"/class/{name}", [0.5]) is None
    assert osc.handle("/class/1", [3.0]) is None  # clamped to 1
    assert core.state.class_weights == ((1, 1.0), (3, 0.5))
    assert osc.handle("/class/3", [0.0]) is None and core.state.class_weights == ((1, 1.0),)
    before = core.state
    for bad in (("/class", [info.c_dim]), ("/class/no such", [1.0]), ("/class", [1.5]), ("/class/-1", [1.0]),
                ("/psi", [0.5])):  # a conditional DCGAN has no truncation
        assert osc.handle(*bad), bad
    assert core.state == before


def test_bookmarks_and_window_hooks(core):
    calls = []
    osc = OscMap(core, OscHooks(interp_t=lambda t: calls.append(("t", t)), play=lambda on: calls.append(("play", on)),
                                pad=lambda u, v: calls.append(("pad", u, v))))
    core.add_bookmark(Bookmark(core.state.replace(seed=7)))
    assert osc.handle("/bookmark/1", []) is None and core.state.seed == 7
    assert osc.handle("/bookmark/2", []) and osc.handle("/bookmark/0", [])
    assert osc.handle("/interp/t", [1.5]) is None
    assert osc.handle("/play", []) is None and osc.handle("/stop", [1]) is None
    assert osc.handle("/pad/y", [0.25]) is None
    assert calls == [("t", 1.0), ("play", True), ("play", False), ("pad", 0.5, 0.25)]
    assert "no interpolation" in OscMap(core).handle("/interp/t", [0.5])


def test_a_fuzz_of_bad_messages_changes_nothing_and_says_why(core):
    rng = random.Random(0)
    osc = OscMap(core)
    core.add_bookmark(Bookmark(core.state))
    before, marks = core.state, core.bookmarks
    words = [a.address for a in ADDRESSES] + ["/", "//", "/seed/1", "/latent/q/1", "/latent/z/x", "/latent/z/99999",
                                              "/direction/ica/0", "/direction/pca/10", "/mix/99", "/noise/loud",
                                              "/bookmark/9", "/pad/z", "/interp/s", "seed", "/" + "a" * 500]
    bad_values = [[], ["x"], [None], [b"\x00"], [float("nan")], [float("inf")], [True], [1, 2], [[1]], [10 ** 400]]
    notes = []
    for _ in range(300):
        address = rng.choice(words).replace("<i>", rng.choice(["0", "x", "-1", "123456789012"])) \
            .replace("<method>", rng.choice(["pca", "zzz"])).replace("<layer>", "0").replace("<n>", "1") \
            .replace("<name or index>", "0")
        args = rng.choice(bad_values)
        if address in ("/play", "/stop", "/bookmark/1") and args in ([], [10 ** 400]):
            args = ["x"]  # a trigger takes no argument or any number (a button's press)
        note = osc.handle(address, args)
        assert note, (address, args)
        notes.append(note)
    assert core.state == before and core.bookmarks == marks
    assert all("\n" not in n and len(n) < 200 for n in notes)
    assert OscMap(AppCore()).handle("/seed", [1]).endswith("no model is open")
    assert osc.handle(12, [1]) and osc.handle(None, [])


def test_values_out_follow_the_state_and_only_changes_are_sent(core):
    before = osc_values(core.state, core.info)
    assert before["/psi"] == 1.0 and before["/latent/z/5"] == 0.0 and before["/mix/0"] == 0
    OscMap(core).handle("/latent/z/5", [0.5])
    assert changed_values(before, osc_values(core.state, core.info)) == {"/latent/z/5": 0.5}
    assert osc_values(RenderState(), None) == {}


def test_the_table_lists_every_address_once():
    table = markdown_table()
    assert table.count("\n") == len(ADDRESSES) + 1
    assert all(line.count("|") == 4 for line in table.splitlines())  # no cell breaks the table
    for a in ADDRESSES:
        assert f"`{a.address}`" in table
