from types import SimpleNamespace

import pytest
import torch

from ganstudio.latent import NoiseLayer, layer_presets, noise_inputs, style_mix, style_mix_sources
from ganstudio.models import Capabilities


def test_style_mix():
    a, b = torch.randn(2, 6, 4), torch.randn(2, 6, 4)
    m = style_mix(a, b, [0, 3])
    assert torch.equal(m[:, [0, 3]], b[:, [0, 3]])
    assert torch.equal(m[:, [1, 2, 4, 5]], a[:, [1, 2, 4, 5]])
    assert torch.equal(style_mix(a, b, []), a)
    one = style_mix(a, b[:1], [5])  # a batch-1 source broadcasts
    assert torch.equal(one[1, 5], b[0, 5])
    with pytest.raises(ValueError):
        style_mix(a, b, [6])
    with pytest.raises(ValueError):
        style_mix(a, torch.randn(2, 5, 4), [0])


def test_style_mix_sources():
    ws = [torch.full((1, 4, 3), float(i)) for i in range(3)]
    m = style_mix_sources(ws, [2, 0, 1, 2])
    assert m[0, :, 0].tolist() == [2.0, 0.0, 1.0, 2.0]
    with pytest.raises(ValueError):
        style_mix_sources(ws, [0, 1, 2])  # one source per layer
    with pytest.raises(ValueError):
        style_mix_sources(ws, [0, 1, 2, 3])
    with pytest.raises(ValueError):
        style_mix_sources([ws[0], torch.zeros(1, 5, 3)], [0, 0, 0, 0])


def test_layer_presets_stylegan_groups():
    res = (4, 4, 8, 8, 16, 16, 32, 32, 64, 64, 128, 128)
    p = layer_presets(12, res)
    assert p == {"coarse": [0, 1, 2, 3], "middle": [4, 5, 6, 7], "fine": [8, 9, 10, 11]}
    with pytest.raises(ValueError):
        layer_presets(3, (4, 8))


def _fake_G(*res):
    return SimpleNamespace(capabilities=lambda: Capabilities(noise_layers=tuple(res)))


def test_noise_inputs_modes():
    G = _fake_G(4, 8, 8)
    layers = [NoiseLayer("fixed", seed=3), NoiseLayer("random"), NoiseLayer("off")]
    a, b = noise_inputs(G, layers, batch=2, device="cpu"), noise_inputs(G, layers, batch=2, device="cpu")
    assert [t.shape for t in a] == [(1, 1, 4, 4), (2, 1, 8, 8), (1, 1, 8, 8)]
    assert torch.equal(a[0], b[0])  # fixed: the same every call
    assert not torch.equal(a[1], b[1])  # random: fresh each call
    assert not a[2].any() and not b[2].any()
    assert not torch.equal(a[0], noise_inputs(G, [NoiseLayer("fixed", seed=4)] + layers[1:], 2, "cpu")[0])


def test_noise_strength_and_defaults():
    G = _fake_G(8, 8)
    one = noise_inputs(G, [NoiseLayer(seed=1), NoiseLayer(seed=1)], 1, "cpu")
    half = noise_inputs(G, [NoiseLayer(seed=1, strength=0.5), NoiseLayer(seed=1, strength=0.0)], 1, "cpu")
    assert torch.allclose(half[0], one[0] * 0.5)
    assert not half[1].any()
    assert not torch.equal(one[0], one[1])  # equal seeds still give different layers
    default = noise_inputs(G, None, 1, "cpu")
    assert len(default) == 2 and all(t.shape == (1, 1, 8, 8) for t in default)
    assert noise_inputs(G, [None, NoiseLayer()], 1, "cpu")[0] is None
    g1, g2 = torch.Generator().manual_seed(9), torch.Generator().manual_seed(9)
    r = [NoiseLayer("random")] * 2
    assert torch.equal(noise_inputs(G, r, 3, "cpu", g1)[1], noise_inputs(G, r, 3, "cpu", g2)[1])


def test_noise_inputs_errors():
    G = _fake_G(4)
    with pytest.raises(ValueError):
        noise_inputs(G, [NoiseLayer(), NoiseLayer()], 1, "cpu")
    with pytest.raises(ValueError):
        noise_inputs(G, [NoiseLayer("loud")], 1, "cpu")
    assert noise_inputs(_fake_G(), None, 1, "cpu") == []


@pytest.fixture
def stylegan2(tiny_models):
    """The tiny StyleGAN2 with its noise made visible (learned noise strengths start at 0)."""
    return tiny_models("stylegan2", visible_noise=True)[0]


def test_noise_inputs_drive_stylegan2(stylegan2):
    G = stylegan2
    n_layers = len(G.capabilities().noise_layers)
    ws = G.mapping(torch.randn(2, G.z_dim), None)
    with torch.no_grad():
        off = G.synthesis(ws, noise_inputs=noise_inputs(G, [NoiseLayer("off")] * n_layers, 2, "cpu"))
        none = G.synthesis(ws, noise_mode="none")
        fixed = [G.synthesis(ws, noise_inputs=noise_inputs(G, None, 2, "cpu")) for _ in range(2)]
        strong = G.synthesis(ws, noise_inputs=noise_inputs(G, [NoiseLayer(strength=50.0)] * n_layers, 2, "cpu"))
    assert torch.allclose(off, none)
    assert torch.equal(fixed[0], fixed[1])
    assert not torch.allclose(strong, fixed[0])


def test_const_layers_use_the_models_own_noise_whatever_the_noise_mode(stylegan2):
    G = stylegan2
    n_layers = len(G.capabilities().noise_layers)
    ws = G.mapping(torch.randn(2, G.z_dim), None)
    with torch.no_grad():
        own = G.synthesis(ws, noise_mode="const")
        # Explicit tensors: even a render whose noise_mode is random keeps the stored noise.
        const = G.synthesis(ws, noise_mode="random", noise_inputs=noise_inputs(G, [NoiseLayer("const")] * n_layers, 2))
        double = G.synthesis(ws, noise_inputs=noise_inputs(G, [NoiseLayer("const", strength=2.0)] * n_layers, 2))
        gain = G.synthesis(ws, noise_mode="const", noise_strength=2.0)
    assert torch.equal(own, const)
    assert torch.allclose(double, gain, atol=1e-6)
    with pytest.raises(ValueError, match="no constant noise"):
        noise_inputs(_fake_G(4, 8), [NoiseLayer("const")] * 2, 1)


@pytest.mark.parametrize("res, want", [
    ((4, 8, 8, 16, 16, 32, 32, 32), {"coarse": [0, 1, 2], "middle": [3, 4], "fine": [5, 6, 7]}),  # 32 px
    ((4, 8, 8, 16, 16, 16), {"coarse": [0], "middle": [1, 2], "fine": [3, 4, 5]}),  # 16 px
    ((4, 8, 8, 8), {"coarse": [0], "middle": [], "fine": [1, 2, 3]}),  # 8 px: two levels
    ((4, 4), {"coarse": [0, 1], "middle": [], "fine": []}),
    ((4, 8, 8, 16, 16, 32, 32, 64, 64, 64), {"coarse": [0, 1, 2], "middle": [3, 4, 5, 6], "fine": [7, 8, 9]}),
])
def test_layer_presets_below_64px_still_have_fine_layers(res, want):
    # The paper's absolute groups left 'fine' empty on the shipped 32 px models: the preset did nothing.
    assert layer_presets(len(res), res) == want
