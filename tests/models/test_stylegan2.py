"""StyleGAN2: truncation, style mixing, noise control, derived layer counts, conditioning, the conditional
variant's round trip."""
import pytest
import torch

from ganstudio.latent import style_mix, truncate_w
from ganstudio.models import create_generator, get_spec
from ganstudio.models.stylegan2 import conv2d_resample, make_filter, upfirdn2d

TINY = get_spec("stylegan2").tiny


@pytest.fixture
def make(tiny_models):
    """(G, D) with visible noise (noise strengths start at 0) and a w_avg away from 0."""
    def build(**overrides):
        G, D = tiny_models("stylegan2", visible_noise=True, **overrides)
        with torch.no_grad():
            G.mapping.w_avg.normal_()
        return G, D
    return build


@pytest.fixture
def make_G(make):
    return lambda **kw: make(**kw)[0]


@torch.no_grad()
def test_psi_zero_renders_w_avg_for_any_z(make_G, latents):
    G = make_G()
    imgs = G(latents(G, 3)[0], truncation_psi=0.0, noise_mode="const")
    ws_avg = G.w_avg.expand(1, G.num_ws, G.w_dim)
    ref = G.synthesis(ws_avg, noise_mode="const")
    assert torch.equal(imgs[0], imgs[1]) and torch.equal(imgs[0], imgs[2])
    assert torch.allclose(imgs, ref.expand_as(imgs), atol=1e-5)  # batch 3 vs 1: grouped conv rounding
    ws = G.mapping(latents(G, 3)[0])
    assert torch.allclose(G.mapping(latents(G, 3)[0], truncation_psi=0.0), truncate_w(ws, G.w_avg, 0.0), atol=1e-6)
    assert not torch.allclose(G(latents(G, 3)[0], noise_mode="const")[0], ref[0], atol=1e-3)


@torch.no_grad()
def test_truncation_cutoff_only_touches_first_layers(make_G, latents):
    G = make_G()
    ws = G.mapping(latents(G, 2)[0])
    wt = G.mapping(latents(G, 2)[0], truncation_psi=0.5, truncation_cutoff=3)
    assert torch.allclose(wt, truncate_w(ws, G.w_avg, 0.5, cutoff=3), atol=1e-6)
    assert torch.equal(wt[:, 3:], ws[:, 3:]) and not torch.allclose(wt[:, :3], ws[:, :3])


@torch.no_grad()
def test_style_mixing_every_layer_from_b_equals_b(make_G, latents):
    G = make_G()
    ws_a, ws_b = G.mapping(latents(G, 2, 1)[0]), G.mapping(latents(G, 2, 2)[0])
    mixed = style_mix(ws_a, ws_b, list(range(G.num_ws)))
    assert torch.equal(G.synthesis(mixed), G.synthesis(ws_b))
    coarse = style_mix(ws_a, ws_b, [0, 1])
    out = G.synthesis(coarse)
    assert not torch.allclose(out, G.synthesis(ws_a)) and not torch.allclose(out, G.synthesis(ws_b))


@torch.no_grad()
def test_noise_modes(make_G, latents):
    G = make_G()
    ws = G.mapping(latents(G, 2)[0])
    none1, none2 = G.synthesis(ws, noise_mode="none"), G.synthesis(ws, noise_mode="none")
    assert torch.equal(none1, none2)
    const = G.synthesis(ws, noise_mode="const")
    assert torch.equal(const, G.synthesis(ws, noise_mode="const"))
    torch.manual_seed(5)
    rand = G.synthesis(ws, noise_mode="random")
    assert not torch.allclose(none1, const) and not torch.allclose(none1, rand) and not torch.allclose(const, rand)
    # noise_strength=0 switches every noise input off
    assert torch.allclose(G.synthesis(ws, noise_mode="const", noise_strength=0.0), none1, atol=1e-6)
    with pytest.raises(ValueError, match="noise_mode"):
        G.synthesis(ws, noise_mode="fixed")


@torch.no_grad()
def test_one_layer_noise_input_changes_image_and_zero_inputs_equal_none(make_G, latents):
    G = make_G()
    ws = G.mapping(latents(G, 2)[0])
    res = G.capabilities().noise_layers
    zeros = [torch.zeros(1, 1, r, r) for r in res]
    assert torch.allclose(G.synthesis(ws, noise_inputs=zeros), G.synthesis(ws, noise_mode="none"), atol=1e-6)
    base = G.synthesis(ws, noise_mode="const")
    for i in (0, len(res) - 1):
        inputs = [None] * len(res)
        inputs[i] = torch.randn(2, 1, res[i], res[i])
        out = G.synthesis(ws, noise_mode="const", noise_inputs=inputs)
        assert not torch.allclose(out, base)
    # an override equal to the stored constant reproduces "const" exactly
    same = [layer.noise_const[None, None] for layer in G.synthesis.noise_layers()]
    assert torch.equal(G.synthesis(ws, noise_mode="none", noise_inputs=same), base)
    with pytest.raises(ValueError, match="noise_inputs"):
        G.synthesis(ws, noise_inputs=zeros[:-1])
    with pytest.raises(ValueError, match=r"noise_inputs\[0\]"):
        G.synthesis(ws, noise_inputs=[torch.zeros(1, 1, 8, 8)] + zeros[1:])


@pytest.mark.parametrize("res, num_ws", [(16, 6), (32, 8), (64, 10)])
def test_layer_counts_derived_from_resolution(res, num_ws):
    G = create_generator("stylegan2", **{**TINY, "img_resolution": res})
    caps = G.capabilities()
    assert G.num_ws == num_ws and caps.style_layers and caps.truncation == "w"
    expect = [4, 8, 8, 16, 16, 32, 32, 64, 64, 64][:num_ws - 1] + [res]
    assert list(caps.layer_resolutions) == expect
    assert list(caps.noise_layers) == [4] + [r for r in (8, 16, 32, 64) if r <= res for _ in range(2)]
    blocks = [n for n, _ in G.synthesis.named_children()]
    assert blocks == [f"b{2 ** i}" for i in range(2, res.bit_length())]


def test_nvidia_state_dict_names():
    keys = set(create_generator("stylegan2", **TINY).state_dict())
    for k in ("mapping.fc0.weight", "mapping.fc1.bias", "mapping.w_avg", "synthesis.b4.const",
              "synthesis.b4.conv1.affine.bias", "synthesis.b4.conv1.noise_const", "synthesis.b4.conv1.noise_strength",
              "synthesis.b8.conv0.resample_filter", "synthesis.b16.torgb.weight", "synthesis.b8.resample_filter"):
        assert k in keys
    assert "synthesis.b4.conv0.weight" not in keys
    G = create_generator("stylegan2", **TINY)
    assert torch.equal(G.synthesis.b8.conv0.affine.bias, torch.ones(32))  # styles start at 1


def test_conditional_with_one_hot_c(make, latents):
    G, D = make(c_dim=4)
    caps = G.capabilities()
    assert caps.classes and caps.class_space == "embedding"
    assert "mapping.embed.weight" in G.state_dict()
    c = torch.eye(4)[:3]
    z = latents(G, 1)[0].expand(3, -1)
    with torch.no_grad():
        ws = G.mapping(z, c)
        imgs = G(z, c, noise_mode="const")
    assert imgs.shape == (3, 3, 16, 16)
    assert not torch.allclose(ws[0], ws[1])  # same z, different class
    with pytest.raises(ValueError, match="class-conditional"):
        G.mapping(z, None)
    s = D(imgs, c)
    assert s.shape == (3,) and torch.isfinite(s).all()
    assert not torch.allclose(D(imgs, c), D(imgs, c.roll(1, dims=1)))


def test_training_mode_unfused_matches_eval_and_w_avg_update(make_G, latents):
    G = make_G()
    ws = G.mapping(latents(G, 3)[0])
    with torch.no_grad():
        a = G.synthesis(ws, noise_mode="const", clamp=False)
        G.train()
        b = G.synthesis(ws, noise_mode="const")  # unfused modconv, unclamped
    assert torch.allclose(a, b, atol=1e-4)
    before = G.w_avg.clone()
    G.update_w_avg(ws, beta=0.5)
    assert torch.allclose(G.w_avg, 0.5 * before + 0.5 * ws[:, 0].mean(0), atol=1e-6)


def test_sefa_weight_stacks_affines(make_G):
    G = make_G()
    W = G.sefa_weight()
    convs = [layer for layer in G.synthesis.noise_layers()]
    assert W.shape == (sum(l.affine.weight.shape[0] for l in convs), G.w_dim)
    W0 = G.sefa_weight([0])
    assert torch.allclose(W0, G.synthesis.b4.conv1.affine.weight * G.synthesis.b4.conv1.affine.weight_gain)
    assert G.sefa_weight([G.num_ws - 1]).shape[1] == G.w_dim  # the last index (ToRGB only) is allowed
    with pytest.raises(ValueError, match="layers"):
        G.sefa_weight([G.num_ws])


def test_conditional_round_trip_is_bit_exact(make, round_trip, latents):
    # The registry-wide round trip covers the unconditional tiny variant; this one has the class embedding.
    G, D = make(c_dim=3)
    ck = round_trip(G, D, class_names=["a", "b", "c"])
    assert ck.class_names == ["a", "b", "c"]
    z, c = latents(G, 2)
    with torch.no_grad():
        assert torch.equal(G(z, c, noise_mode="const"), ck.G(z, c, noise_mode="const"))
        img = G(z, c)
        assert torch.equal(D(img, c), ck.D(img, c))


def test_upfirdn_matches_direct_definition():
    # Upsampling conv == filter and conv of the zero-stuffed image, all padding applied once up front
    # (computed the slow, obvious way).
    torch.manual_seed(0)
    f = make_filter([1, 3, 3, 1])
    x, w = torch.randn(1, 2, 5, 5), torch.randn(3, 2, 3, 3)
    up = torch.zeros(1, 2, 10, 10)
    up[:, :, ::2, ::2] = x
    blurred = torch.nn.functional.conv2d(torch.nn.functional.pad(up, [3, 2, 3, 2]),
                                         (4 * f).expand(2, 1, 4, 4), groups=2)
    ref = torch.nn.functional.conv2d(blurred, w.flip([2, 3]))  # flip: a true convolution
    out = conv2d_resample(x, w, f, up=2, padding=1, flip_weight=False)
    assert out.shape == (1, 3, 10, 10)
    assert torch.allclose(out, ref, atol=1e-5)
    assert torch.allclose(upfirdn2d(torch.ones(1, 1, 6, 6), f, down=2, pad=(1, 1))[:, :, 1:-1, 1:-1],
                          torch.ones(1, 1, 1, 1), atol=1e-6)  # unit DC gain away from the border


def test_bad_config_is_a_clear_error():
    with pytest.raises(ValueError, match="power of two"):
        create_generator("stylegan2", **{**TINY, "img_resolution": 24})
    with pytest.raises(ValueError, match="architecture"):
        create_generator("stylegan2", **{**TINY, "architecture": "unet"})
