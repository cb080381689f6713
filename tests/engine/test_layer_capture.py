"""Layer activations through the render result: every family's tiny variant, shapes, bounds, the image unchanged."""
import numpy as np
import pytest
import torch

from ganstudio.engine import Renderer, RenderState
from ganstudio.engine import layers as L
from ganstudio.models import list_models


@pytest.fixture(scope="module")
def renderer():
    return Renderer("cpu")


@pytest.mark.parametrize("name", list_models())
def test_every_family_lists_and_captures_its_feature_maps_without_changing_the_image(renderer, name):
    state = RenderState(model=f"registry:{name}:tiny", seed=3)
    plain = renderer.render(state)
    assert not plain.error, plain.error
    listed = renderer.render(state, capture=("layers",))
    assert not listed.error, listed.error
    shapes = listed.captures["layers"]
    assert shapes, f"{name}: no feature-map layer found"
    G = renderer.generator(state.model)
    modules = dict(G.named_modules())
    assert all(n in modules and "parametrizations" not in n for n in shapes)
    asked = tuple(L.PREFIX + n for n in shapes)
    res = renderer.render(state, capture=asked)
    assert not res.error, res.error
    for n, (c, h, w) in shapes.items():
        a = res.captures["layer"][n]
        assert isinstance(a, np.ndarray) and a.dtype in (np.float32, np.float16)
        assert a.shape == (1, c, h, w) and res.captures["layer_channels"][n] == c
        assert np.isfinite(a).all()
    # the hooks only read, and are gone afterwards
    assert np.array_equal(res.image, plain.image) and np.array_equal(listed.image, plain.image)
    assert all(not m._forward_hooks for m in G.modules())


def test_a_batch_captures_every_image_and_the_capture_is_a_copy(renderer):
    state = RenderState(model="registry:dcgan:tiny")
    shapes = renderer.render(state, capture=("layers",)).captures["layers"]
    # main.1 is a BatchNorm followed by ReLU(inplace=True): the capture must keep its negative values
    assert "main.1" in shapes and "main.2" in shapes
    res = renderer.render(state, seeds=[0, 1, 2], capture=("layer:main.1", "layer:main.2"))
    bn, relu = res.captures["layer"]["main.1"], res.captures["layer"]["main.2"]
    assert bn.shape[0] == 3 and res.image.shape[0] == 3
    assert (bn < 0).any() and (relu >= 0).all()
    np.testing.assert_allclose(np.maximum(bn, 0), relu, atol=1e-6)
    # seed 1 alone gives the batch's second activations
    one = renderer.render(state.replace(seed=1), capture=("layer:main.1",)).captures["layer"]["main.1"]
    np.testing.assert_allclose(one[0], bn[1], atol=1e-4)


def test_unknown_or_non_feature_map_layers_are_render_errors(renderer):
    state = RenderState(model="registry:stylegan2:tiny")
    res = renderer.render(state, capture=("layer:no.such",))
    assert res.image is None and "no layer named 'no.such'" in res.error
    res = renderer.render(state, capture=("layer:mapping.fc0",))  # the mapping runs before synthesis
    assert res.image is None and "produced no activations" in res.error
    assert renderer.render(state, capture=("what",)).error.startswith("unknown capture 'what'")
    G = renderer.generator(state.model)
    assert all(not m._forward_hooks for m in G.modules())  # removed after a failed render too
    assert renderer.render(state).error == ""


def test_large_layers_are_bounded(monkeypatch, renderer):
    state = RenderState(model="registry:stylegan2:tiny")
    shapes = renderer.render(state, capture=("layers",)).captures["layers"]
    name, (c, h, w) = max(shapes.items(), key=lambda kv: kv[1][0] * kv[1][1] * kv[1][2])
    monkeypatch.setattr(L, "MAX_CAPTURE_VALUES", 2 * h * w)
    monkeypatch.setattr(L, "HALF_ABOVE", h * w)
    res = renderer.render(state, capture=(f"layer:{name}",))
    a = res.captures["layer"][name]
    assert a.shape == (1, 2, h, w) and a.dtype == np.float16 and res.captures["layer_channels"][name] == c


def test_all_layers_of_one_render_share_a_bound(monkeypatch, renderer):
    state = RenderState(model="registry:stylegan2:tiny")
    shapes = renderer.render(state, capture=("layers",)).captures["layers"]
    big = [n for n, (c, h, w) in shapes.items() if c > 4 and h > 1][:3]
    c0, h0, w0 = shapes[big[0]]
    monkeypatch.setattr(L, "MAX_TOTAL_VALUES", c0 * h0 * w0 + 1)  # the first layer whole, then one channel each
    res = renderer.render(state, capture=tuple(L.PREFIX + n for n in big))
    got = res.captures["layer"]
    assert got[big[0]].shape[1] == c0 and all(got[n].shape[1] == 1 for n in big[1:])
    assert all(res.captures["layer_channels"][n] == shapes[n][0] for n in big)


def test_channel_grid_summary_and_cell_lookup():
    act = np.arange(5 * 2 * 3, dtype=np.float32).reshape(5, 2, 3)
    grid, cols, shown = L.channel_grid(act)
    assert (cols, shown) == (3, 5) and grid.shape == (2 * 3 - 1, 3 * 4 - 1)
    assert np.nanmin(grid) == 0 and np.nanmax(grid) == 1 and np.isnan(grid[2]).all()
    # the centre of the second row's first cell is channel 3; a gap column is None
    assert L.grid_cell(1.5 / 11, 4.0 / 5, grid.shape, (2, 3), cols, shown) == 3
    assert L.grid_cell(3.5 / 11, 0.1, grid.shape, (2, 3), cols, shown) is None
    assert L.grid_cell(10.5 / 11, 4.0 / 5, grid.shape, (2, 3), cols, shown) is None  # past the 5th channel
    np.testing.assert_allclose(L.summary_map(act, "mean"), act.mean(0))
    np.testing.assert_allclose(L.summary_map(act, "max"), act[4])
    assert (L.normalized(np.ones((2, 2))) == 0.5).all()
    rgb = L.grey_rgb(grid)
    assert rgb.shape == grid.shape + (3,) and rgb.dtype == np.uint8
    with pytest.raises(ValueError):
        L.summary_map(act, "median")
    with pytest.raises(ValueError):
        L.channel_grid(act[0])


def test_capture_context_removes_hooks_when_the_forward_fails():
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 1), torch.nn.ReLU())
    with pytest.raises(RuntimeError):
        with L.LayerCapture(net, ("layers", "layer:0")):
            net(torch.zeros(1, 3, 2, 2))  # wrong channel count
    assert not net[0]._forward_hooks and not net[1]._forward_hooks
