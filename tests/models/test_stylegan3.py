"""StyleGAN3 (alias-free) generator on its own: layout, filters, input transform, interface.

Parity with NVIDIA's own code is checked outside the repository (networks built and pickled by
their code, imported here); these tests pin what can be checked without it.
"""
import math

import numpy as np
import pytest
import torch

from ganstudio import latent
from ganstudio.models import create_generator, get_spec, tiny_config
from ganstudio.models.stylegan3 import layer_plan, lowpass_filter, make_input_transform

NAMES = ["stylegan3-t", "stylegan3-r"]


@pytest.mark.parametrize("name, channels", [("stylegan3-t", [512] * 9 + [362, 256, 181, 128, 128, 3]),
                                            ("stylegan3-r", [1024] * 9 + [724, 512, 362, 256, 256, 3])])
def test_default_256_layout_is_nvidias(name, channels):
    # The layer names of NVIDIA's 256 px FFHQ-U networks (size with margins, channels): a state dict loads by name.
    with torch.device("meta"):
        G = create_generator(name, img_resolution=256)
    sizes = [36] * 3 + [52] * 2 + [84] * 2 + [148] * 3 + [276] * 3 + [256] * 2
    assert G.synthesis.layer_names == [f"L{i}_{s}_{c}" for i, (s, c) in enumerate(zip(sizes, channels))]
    assert G.num_ws == 16 and G.mapping.num_layers == 2
    # Labels and mixing groups follow each layer's band limit (2 x cutoff), which grows geometrically.
    assert G.layer_resolutions() == [4, 4, 6, 8, 11, 16, 23, 32, 45, 64, 91, 128, 181, 256, 256, 256]
    assert G.synthesis.input.weight.shape == (channels[0], channels[0])
    assert G.synthesis.layers()[0].weight.shape[-1] == (3 if name.endswith("t") else 1)
    radial = [layer.down_filter is not None and layer.down_filter.ndim == 2 for layer in G.synthesis.layers()]
    assert any(radial) == name.endswith("r") and not radial[-3]  # critically sampled layers stay separable


def test_filter_design_matches_scipy():
    signal = pytest.importorskip("scipy.signal")
    special = pytest.importorskip("scipy.special")
    for numtaps, cutoff, width, fs in [(12, 2.0, 6.5, 32), (24, 45.25, 38.5, 256), (6, 3.0, 4.0, 16)]:
        ref = signal.firwin(numtaps=numtaps, cutoff=cutoff, width=width, fs=fs)
        assert np.abs(lowpass_filter(numtaps, cutoff, width, fs).numpy() - ref).max() < 1e-7
    numtaps, cutoff, width, fs = 12, 8.0, 10.0, 64
    x = (np.arange(numtaps) - (numtaps - 1) / 2) / fs
    r = np.hypot(*np.meshgrid(x, x))
    ref = special.j1(2 * cutoff * np.pi * r) / (np.pi * r)
    beta = signal.kaiser_beta(signal.kaiser_atten(numtaps, width / (fs / 2)))
    ref = ref * np.outer(np.kaiser(numtaps, beta), np.kaiser(numtaps, beta))
    assert np.abs(lowpass_filter(numtaps, cutoff, width, fs, radial=True).numpy() - ref / ref.sum()).max() < 1e-7


def test_filters_have_unit_dc_gain_and_odd_radial_sizes_are_finite():
    assert lowpass_filter(1, 2.0, 1.0, 16) is None
    f = lowpass_filter(7, 3.0, 4.0, 16, radial=True)  # an odd size puts a tap at r = 0
    assert torch.isfinite(f).all() and abs(float(f.sum()) - 1) < 1e-6
    assert abs(float(lowpass_filter(9, 3.0, 4.0, 16).sum()) - 1) < 1e-6


@pytest.mark.parametrize("name", NAMES)
def test_interface_and_capabilities(name, tiny_models):
    G = tiny_models(name)[0]
    caps = G.capabilities()
    assert caps.noise_layers == () and caps.truncation == "w" and caps.style_layers and caps.input_transform
    assert len(caps.layer_resolutions) == G.num_ws == get_spec(name).tiny["num_layers"] + 2
    assert get_spec(name).family == "stylegan3"
    z = torch.randn(4, G.z_dim, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        img = G(z)
        one = G(z[2:3])
        assert img.shape == (4, 3, 16, 16) and img.abs().max() <= 1
        assert (img[2:3] - one).abs().max() < 1e-5  # a sample does not depend on the rest of its batch
        with pytest.raises(ValueError, match="no noise layers"):
            G.synthesis(G.mapping(z), noise_inputs=[torch.zeros(1, 1, 16, 16)])
        with pytest.raises(ValueError, match="noise_mode"):
            G.synthesis(G.mapping(z), noise_mode="loud")
        assert torch.equal(G.synthesis(G.mapping(z), noise_inputs=[], noise_mode="random"), img)


@pytest.mark.parametrize("name", NAMES)
def test_truncation_and_style_mixing(name, tiny_models):
    G = tiny_models(name)[0]
    with torch.no_grad():
        G.mapping.w_avg.normal_()
        z = torch.randn(2, G.z_dim, generator=torch.Generator().manual_seed(2))
        ws = G.mapping(z, truncation_psi=0.0)
        assert torch.allclose(ws, G.w_avg.expand_as(ws))
        a, b = G.mapping(z[:1]), G.mapping(z[1:])
        fine = latent.layer_presets(G.num_ws, G.capabilities().layer_resolutions)["fine"]
        mixed = latent.style_mix(a, b, fine)
        out = [G.synthesis(w) for w in (a, b, mixed)]
    assert fine and not torch.equal(out[2], out[0]) and not torch.equal(out[2], out[1])


@pytest.mark.parametrize("name", NAMES)
def test_translation_moves_the_content(name, tiny_models):
    # Translation equivariance (the paper's point): shifting the input by one pixel of the 16 px sampling
    # grid shifts the image by one pixel, up to the small error of the filters; +x right, +y down.
    G = tiny_models(name)[0]
    ws = G.mapping(torch.randn(2, G.z_dim, generator=torch.Generator().manual_seed(3)))
    with torch.no_grad():
        base = G.synthesis(ws, clamp=False)
        for t, shift in [((1 / 16, 0.0), (0, 1)), ((0.0, 1 / 16), (1, 0))]:
            moved = G.synthesis(ws, input_transform=make_input_transform(t, 0.0), clamp=False)
            err = {s: float((torch.roll(base, s, dims=(2, 3)) - moved)[:, :, 3:-3, 3:-3].abs().max())
                   for s in [shift, tuple(-v for v in shift), shift[::-1]]}
            right, *wrong = err.values()
            assert right < min(wrong) / 10, err


def test_stylegan3_r_rotates_by_90_degrees_exactly(tiny_models):
    G = tiny_models("stylegan3-r")[0]  # 1x1 convs and radial filters: equivariant to rotations of the sampling grid
    ws = G.mapping(torch.randn(2, G.z_dim, generator=torch.Generator().manual_seed(4)))
    with torch.no_grad():
        base = G.synthesis(ws, clamp=False)
        turned = G.synthesis(ws, input_transform=make_input_transform((0, 0), 90.0), clamp=False)
    assert (torch.rot90(base, 1, dims=(2, 3)) - turned)[:, :, 3:-3, 3:-3].abs().max() < 1e-4
    assert (base - turned).abs().max() > 1e-2


@pytest.mark.parametrize("name", NAMES)
def test_input_transform_forms_agree(name, tiny_models):
    G = tiny_models(name)[0]
    ws = G.mapping(torch.randn(3, G.z_dim, generator=torch.Generator().manual_seed(5)))
    m = [make_input_transform((0.1, -0.2), 30.0), make_input_transform(), make_input_transform((0.0, 0.3), -45.0)]
    with torch.no_grad():
        plain = G.synthesis(ws)
        assert torch.equal(G.synthesis(ws, input_transform=torch.eye(3)), plain)
        assert (G.synthesis(ws, input_transform=make_input_transform((0, 0), 360.0)) - plain).abs().max() < 1e-5
        batched = G.synthesis(ws, input_transform=torch.stack(m))
        for i in range(3):
            assert (batched[i] - G.synthesis(ws[i:i + 1], input_transform=m[i])[0]).abs().max() < 1e-5
        G.set_input_transform((0.1, -0.2), 30.0)  # the buffer, as NVIDIA's visualizer writes it
        assert (G.synthesis(ws[:1]) - batched[:1]).abs().max() < 1e-5
        assert torch.allclose(G.state_dict()["synthesis.input.transform"] @ m[0].float(), torch.eye(3), atol=1e-6)


@pytest.mark.parametrize("bad, match", [(torch.zeros(3, 3), "invertible"), (torch.eye(2), "shape"),
                                        (torch.full((3, 3), math.nan), "invertible"),
                                        (torch.eye(3).expand(2, 3, 3), "2 matrices for 3 samples")])
def test_bad_input_transform_is_a_clear_error(bad, match, tiny_models):
    G = tiny_models("stylegan3-t")[0]
    with pytest.raises(ValueError, match=match):
        G.synthesis(G.mapping(torch.randn(3, G.z_dim)), input_transform=bad)
    with pytest.raises(ValueError, match="finite"):
        make_input_transform((math.inf, 0), 0)


def test_magnitude_average_moves_only_when_asked(tiny_models):
    G = tiny_models("stylegan3-t")[0].train()
    ws = G.mapping(torch.randn(2, G.z_dim))
    G.synthesis(ws)
    assert all(float(layer.magnitude_ema) == 1.0 for layer in G.synthesis.layers())
    G.synthesis(ws, update_emas=True)
    assert all(float(layer.magnitude_ema) != 1.0 for layer in G.synthesis.layers())


def test_sefa_weight_picks_the_chosen_layers(tiny_models):
    G = tiny_models("stylegan3-t")[0]
    conv = [a for _, kind, a in G.style_affines() if kind == "conv"]
    assert G.sefa_weight().shape == (sum(a.weight.shape[0] for a in conv), G.w_dim)
    assert G.sefa_weight([0]).shape == (4, G.w_dim)  # the input's rotation/translation affine
    with pytest.raises(ValueError, match="ws indices"):
        G.sefa_weight([G.num_ws])


@pytest.mark.parametrize("over, match", [(dict(img_resolution=24), "power of two"),
                                         (dict(num_critical=4), "num_critical"),
                                         (dict(first_stopband=1.0), "first_stopband"),
                                         (dict(channel_base=1), "channels"),
                                         (dict(filter_size=4000, use_radial_filters=True), "filter_size")])
def test_bad_config_is_a_clear_error(over, match):
    with pytest.raises(ValueError, match=match):
        layer_plan(tiny_config("stylegan3-t", **over))
