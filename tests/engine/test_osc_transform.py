"""StyleGAN3's input transform over OSC: /transform/x, /transform/y, /transform/rotate edit the state as the
Input transform panel's sliders would (clamped to their ranges), are refused on a model without the transform,
and go out with the other values so faders follow."""
import numpy as np
import pytest

from ganstudio.engine import Renderer
from ganstudio.engine.app_core import AppCore
from ganstudio.engine.osc_map import OscMap, markdown_table, osc_values
from ganstudio.engine.state import INPUT_ROTATE_RANGE, INPUT_TRANSLATE_RANGE


@pytest.fixture(scope="module")
def renderer():
    return Renderer("cpu")


def _core(renderer, name):
    core = AppCore()
    core.set_model(renderer.load(f"registry:{name}:tiny"))
    return core


def test_transform_addresses_move_the_content_and_clamp(renderer):
    core = _core(renderer, "stylegan3-t")
    osc = OscMap(core)
    plain = renderer.render(core.state)
    assert osc.handle("/transform/x", [0.25]) is None and core.state.input_translate_x == 0.25
    assert osc.handle("/transform/y", [-0.125]) is None and core.state.input_translate_y == -0.125
    assert osc.handle("/transform/rotate", [30]) is None and core.state.input_rotate == 30.0
    moved = renderer.render(core.state)
    assert plain.error == moved.error == ""
    assert not np.array_equal(plain.image, moved.image)  # the render follows the state OSC wrote
    osc.handle("/transform/x", [9.0])
    osc.handle("/transform/y", [-1e300])
    osc.handle("/transform/rotate", [720])
    st = core.state
    assert (st.input_translate_x, st.input_translate_y) == (INPUT_TRANSLATE_RANGE[1], INPUT_TRANSLATE_RANGE[0])
    assert st.input_rotate == INPUT_ROTATE_RANGE[1]
    values = osc_values(st, core.info)
    assert values["/transform/x"] == 1.0 and values["/transform/y"] == -1.0 and values["/transform/rotate"] == 180.0


@pytest.mark.parametrize("address, args, why", [
    ("/transform/x", [float("nan")], "finite"), ("/transform/y", ["left"], "a number"),
    ("/transform/rotate", [1, 2], "one number"), ("/transform/rotate", [True], "a number"),
    ("/transform/z", [0.5], "/transform/x, /transform/y and /transform/rotate"),
    ("/transform", [0.5], "unknown address"), ("/transform/x/1", [0.5], "unknown address"),
])
def test_bad_transform_messages_change_nothing_and_say_why(renderer, address, args, why):
    core = _core(renderer, "stylegan3-t")
    before = core.state
    note = OscMap(core).handle(address, args)
    assert note and why in note and "\n" not in note
    assert core.state == before


def test_a_model_without_the_transform_refuses_it_like_other_missing_controls(renderer):
    core = _core(renderer, "stylegan2")
    before = core.state
    note = OscMap(core).handle("/transform/rotate", [10])
    assert note == "/transform/rotate: the model has no input transform (StyleGAN3's)"
    assert core.state == before
    assert not any(k.startswith("/transform/") for k in osc_values(core.state, core.info))


def test_the_help_table_lists_the_transform_addresses():
    table = markdown_table()
    for address in ("/transform/x", "/transform/y", "/transform/rotate"):
        assert f"`{address}`" in table
