"""StyleGAN2: the two modulated-convolution forms give the same pixels, the faster one is picked by
batch and device, and synthesis can stop at a lower resolution for a preview."""
import copy

import pytest
import torch
import torch.nn.functional as F

from ganstudio.models import get_spec
from ganstudio.models import stylegan2 as sg2

# Wider than the registry's tiny config (32 channels): rounding differences grow with the width.
MEDIUM = dict(z_dim=64, w_dim=64, img_resolution=32, mapping_layers=2, channel_base=2048, channel_max=128)


@pytest.fixture
def make_G(tiny_models):
    """A StyleGAN2 with non-zero noise strengths (they start at 0; a trained model's are not)."""
    return lambda **cfg: tiny_models("stylegan2", visible_noise=True, **cfg)[0]


def _ws(G, n, seed=0):
    z = torch.randn(n, G.z_dim, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        return G.mapping(z)


@pytest.mark.parametrize("up, k, demodulate", [(1, 3, True), (2, 3, True), (1, 1, False)])
def test_modulated_conv_forms_are_the_same_function(up, k, demodulate):
    """In float64 the forms agree to rounding of 1e-12: the activation form is the weight form rearranged."""
    g = torch.Generator().manual_seed(up + k)
    x = torch.randn(3, 6, 8, 8, generator=g, dtype=torch.float64)
    weight = torch.randn(5, 6, k, k, generator=g, dtype=torch.float64)
    styles = torch.rand(3, 6, generator=g, dtype=torch.float64) + 0.5
    noise = torch.randn(3, 1, 8 * up, 8 * up, generator=g, dtype=torch.float64)
    f = sg2.make_filter((1, 3, 3, 1)).double()
    kw = dict(noise=noise, up=up, padding=k // 2, resample_filter=f, demodulate=demodulate, flip_weight=(up == 1))
    fused = sg2.modulated_conv2d(x, weight, styles, fused_modconv=True, **kw)
    dense = sg2.modulated_conv2d(x, weight, styles, fused_modconv=False, **kw)
    exact = sg2.modulated_conv2d(x, weight, styles, fused_modconv=False, exact_norms=True, **kw)  # training's
    assert fused.shape == (3, 5, 8 * up, 8 * up)
    assert torch.allclose(fused, dense, rtol=0, atol=1e-12) and torch.allclose(exact, dense, rtol=0, atol=1e-12)


@pytest.mark.parametrize("n", [1, 5])
def test_both_forms_render_the_same_pixels(n, make_G):
    from ganstudio.imaging import to_uint8
    G = make_G(**MEDIUM)
    ws = _ws(G, n)
    with torch.no_grad():
        fused = G.synthesis(ws, fused_modconv=True)
        dense = G.synthesis(ws, fused_modconv=False)
        for layer in G.synthesis.noise_layers():  # without noise: activations as a trained model's
            layer.noise_strength.zero_()
        quiet = (G.synthesis(ws, fused_modconv=True) - G.synthesis(ws, fused_modconv=False)).abs().max().item()
    assert quiet <= 1e-5
    # With strong noise float32 rounding grows to ~1e-5 (as between batch sizes of one form): the
    # 8-bit pixels are still the same, but for a rare rounding tie one level apart.
    a, b = to_uint8(fused).astype(int), to_uint8(dense).astype(int)
    assert (fused - dense).abs().max().item() <= 2e-5
    assert abs(a - b).max() <= 1 and (a != b).mean() < 1e-3


def test_the_form_follows_batch_and_device(monkeypatch, make_G):
    # On a CPU the dense form at every batch size: the batch cliff, and at batch 1 it is the faster form too.
    assert not sg2.fused_modconv_for(1, torch.device("cpu"), training=False)
    assert not sg2.fused_modconv_for(16, torch.device("cpu"), training=False)
    assert sg2.fused_modconv_for(16, torch.device("cuda"), training=False)
    assert not sg2.fused_modconv_for(1, torch.device("cpu"), training=True)
    G = make_G(**get_spec("stylegan2").tiny)
    seen = []
    real = sg2.modulated_conv2d

    def spy(*args, **kwargs):
        seen.append(kwargs["fused_modconv"])
        return real(*args, **kwargs)
    monkeypatch.setattr(sg2, "modulated_conv2d", spy)
    with torch.no_grad():
        batch = G.synthesis(_ws(G, 4))
        assert seen and not any(seen)  # a CPU batch shares one dense conv per layer
        seen.clear()
        one = G.synthesis(_ws(G, 4)[:1])
        assert seen and not any(seen)  # one image too: batch 1 and batch N render by the same form
        seen.clear()
        G.synthesis(_ws(G, 4)[:1], fused_modconv=True)
        assert seen and all(seen)  # the grouped form when asked for (NVIDIA's, and an accelerator's)
    assert (batch[0] - one[0]).abs().max().item() <= 1e-5


def test_inference_keeps_the_weight_norms_until_the_weights_change(make_G):
    """The dense form's sum of W^2 is kept between inference forwards, and renewed when the weights
    change in place (load_state_dict, an EMA update): the image is always the fresh model's."""
    G = make_G(**MEDIUM)
    other = copy.deepcopy(G)
    with torch.no_grad():
        for p in other.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=torch.Generator().manual_seed(p.numel())))
    fresh = copy.deepcopy(other)  # never rendered: no kept norms
    layer = G.synthesis.noise_layers()[0]
    ws = _ws(G, 1)
    with torch.inference_mode():
        G.synthesis(ws)
        kept = layer._weight_sq_sum()
        assert kept is not None and layer._weight_sq_sum() is kept  # kept between forwards
        G.load_state_dict(other.state_dict())  # copies into the same tensors (their version counters move)
        after = G.synthesis(ws)
        assert layer._weight_sq_sum() is not kept
        assert torch.equal(after, fresh.synthesis(ws))
    with torch.enable_grad():
        assert layer._weight_sq_sum() is None  # recording gradients: computed in the graph, as always
    G.train()
    with torch.no_grad():
        assert layer._weight_sq_sum() is None  # training keeps its own norms (exact_norms)


def test_stopping_at_the_last_resolution_is_the_full_render(make_G):
    G = make_G(**get_spec("stylegan2").tiny)
    ws = _ws(G, 2)
    with torch.no_grad():
        full = G.synthesis(ws)
        assert torch.equal(G.synthesis(ws, stop_at=G.img_resolution), full)
        z = torch.randn(2, G.z_dim, generator=torch.Generator().manual_seed(3))
        assert torch.equal(G(z, stop_at=G.img_resolution), G(z))
    assert G.capabilities().preview_resolutions == (4, 8, 16)


def test_a_stopped_render_is_a_low_res_version_of_the_full_image(monkeypatch, make_G):
    """A preview is nearer the full image (area-downsampled) than another image is: at half the resolution
    within 0.6 of that distance, at a quarter within 0.8 (measured: 0.50 and 0.72 with these random weights,
    whose high-resolution layers add as much as the low ones; a trained model's add detail)."""
    G = make_G(**MEDIUM)
    ws = _ws(G, 6, seed=1)
    ran = []
    for block in G.synthesis.blocks():
        monkeypatch.setattr(block, "forward", lambda *a, _f=block.forward, _r=block.resolution, **k: (
            ran.append(_r), _f(*a, **k))[1])
    with torch.no_grad():
        full = G.synthesis(ws)
        for r in (8, 16):
            ran.clear()
            preview = G.synthesis(ws, stop_at=r)
            assert ran == [res for res in G.synthesis.block_resolutions if res <= r]  # the rest never runs
            assert preview.shape == (6, 3, r, r) and preview.abs().max() <= 1
            down = F.avg_pool2d(full, G.img_resolution // r)
            own = (preview - down).abs().mean().item()
            other = (preview - down.roll(1, dims=0)).abs().mean().item()  # each preview against another image
            assert own < (0.6 if r == 16 else 0.8) * other, (r, own, other)


def test_stop_at_is_checked(make_G):
    G = make_G(**get_spec("stylegan2").tiny)
    ws = _ws(G, 1)
    for bad in (2, 12, 32):
        with pytest.raises(ValueError, match="stop_at must be one of"):
            G.synthesis(ws, stop_at=bad)
    R = make_G(**{**get_spec("stylegan2").tiny, "architecture": "resnet"})
    assert R.capabilities().preview_resolutions == ()
    with pytest.raises(ValueError, match="resnet"):
        R.synthesis(_ws(R, 1), stop_at=8)
    with torch.no_grad():
        assert R.synthesis(_ws(R, 1), stop_at=16).shape == (1, 3, 16, 16)


def test_a_cpu_batch_renders_its_large_resolutions_in_chunks_with_the_same_pixels(monkeypatch, make_G):
    G = make_G(**MEDIUM)
    ws = _ws(G, 5)
    noise = [torch.randn(5, 1, r, r, generator=torch.Generator().manual_seed(r)) for r in
             G.capabilities().noise_layers]  # per-image noise: each chunk must get its own rows
    with torch.no_grad():
        whole = G.synthesis(ws, noise_inputs=noise)
        seen = {}
        for block in G.synthesis.blocks():
            monkeypatch.setattr(block, "forward", lambda x, img, w, *a, _f=block.forward, _r=block.resolution: (
                seen.setdefault(_r, []).append(w.shape[0]), _f(x, img, w, *a))[1])
        # 32 px x 64 channels is the largest activation, 256 KB an image: a budget of two of them runs
        # 16 px (5 x 128 KB over it) and 32 px two images at a time.
        monkeypatch.setattr(sg2, "_CPU_CHUNK_BYTES", 2 * 64 * 32 * 32 * 4)
        chunked = G.synthesis(ws, noise_inputs=noise)
    assert seen == {4: [5], 8: [5], 16: [2, 2, 1], 32: [2, 2, 1]}
    assert (chunked - whole).abs().max().item() <= 1e-5
    assert not torch.equal(chunked[0], chunked[1])
