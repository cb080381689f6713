"""StyleGAN3's input transform as render-state fields: per render call, identity at zero, kept in sessions."""
import numpy as np
import pytest
import torch

from ganstudio.checkpoints import save_checkpoint
from ganstudio.engine.renderer import Renderer
from ganstudio.engine.session import load_session, save_session
from ganstudio.engine.state import RenderState
from ganstudio.models import create_generator, get_spec


def _tiny(tmp_path, name):
    torch.manual_seed(0)
    G = create_generator(name, **get_spec(name).tiny)
    path = tmp_path / f"{name}.safetensors"
    save_checkpoint(path, G)
    return str(path), G.img_resolution


@pytest.fixture(scope="module")
def renderer():
    return Renderer("cpu")


def _image(renderer, state):
    res = renderer.render(state)
    assert res.image is not None, res.error
    return np.asarray(res.image, dtype=np.float64)  # [H, W, C] uint8 -> float


def test_fields_default_to_identity_and_round_trip():
    s = RenderState(model="m")
    assert "input_rotate" not in s.to_dict()  # untouched states write what they wrote before
    t = s.replace(input_translate_x=0.125, input_translate_y=-0.25, input_rotate=30.0)
    d = t.to_dict()
    assert (d["input_translate_x"], d["input_translate_y"], d["input_rotate"]) == (0.125, -0.25, 30.0)
    assert RenderState.from_dict(d) == t
    with pytest.raises(ValueError, match="input_rotate"):
        RenderState.from_dict({**d, "input_rotate": float("nan")})
    with pytest.raises(ValueError, match="input_translate_x"):
        RenderState.from_dict({**d, "input_translate_x": "left"})


def test_session_keeps_the_transform(tmp_path):
    t = RenderState(model="m", seed=3, input_translate_x=0.5, input_rotate=-45.0)
    save_session(tmp_path / "s.json", t)
    assert load_session(tmp_path / "s.json")[0] == t


def test_rotate_zero_is_the_identity_and_translation_moves_content(tmp_path, renderer):
    path, res = _tiny(tmp_path, "stylegan3-t")
    base = RenderState(model=path, seed=1)
    img0 = _image(renderer, base)
    assert np.array_equal(_image(renderer, base.replace(input_rotate=0.0, input_translate_x=0.0)), img0)
    k = 2  # pixels
    moved = _image(renderer, base.replace(input_translate_x=k / res))
    assert not np.array_equal(moved, img0)
    # The content moved right by k pixels: the shifted original matches far better than the unshifted one.
    inner = slice(4, -4)
    shifted_err = np.abs(moved[inner, 4 + k:-4] - img0[inner, 4:-4 - k]).mean()
    unshifted_err = np.abs(moved[inner, 4:-4] - img0[inner, 4:-4]).mean()
    assert shifted_err < 0.5 * unshifted_err
    turned = _image(renderer, base.replace(input_rotate=90.0))
    assert np.abs(turned - img0).mean() > 1.0


def test_the_cached_network_is_not_changed_by_a_transformed_render(tmp_path, renderer):
    path, _ = _tiny(tmp_path, "stylegan3-t")
    base = RenderState(model=path, seed=2)
    img0 = _image(renderer, base)
    _image(renderer, base.replace(input_translate_y=0.3, input_rotate=10.0))
    assert np.array_equal(_image(renderer, base), img0)


def test_other_families_ignore_the_fields(tmp_path, renderer):
    path, _ = _tiny(tmp_path, "stylegan2")
    base = RenderState(model=path, seed=1)
    assert np.array_equal(_image(renderer, base.replace(input_translate_x=0.3, input_rotate=20.0)),
                          _image(renderer, base))


def test_a_timeline_moves_the_transform_between_keys(tmp_path, renderer):
    from ganstudio.engine.timeline import Key, Timeline
    path, _ = _tiny(tmp_path, "stylegan3-t")
    a = RenderState(model=path, seed=1)
    b = RenderState(model=path, seed=2, input_translate_x=0.5, input_rotate=90.0)
    states = list(Timeline((Key(a, 4), Key(b, 4)), loop=False).frames(renderer))
    assert (states[0].input_translate_x, states[0].input_rotate) == (0.0, 0.0)
    assert (states[2].input_translate_x, states[2].input_rotate) == pytest.approx((0.25, 45.0))
    assert (states[-1].input_translate_x, states[-1].input_rotate) == (0.5, 90.0)
    assert states[1].input_translate_y == 0.0
