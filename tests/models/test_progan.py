"""Progressive GAN: stages, fade-in, D stages, the stage kept by a checkpoint."""
import pytest
import torch
import torch.nn.functional as F

from ganstudio.models import create_generator, get_spec


@pytest.fixture
def make(tiny_models):
    return lambda **kw: tiny_models("progan", **kw)


@pytest.fixture
def make_G(make):
    return lambda **kw: make(**kw)[0]



def test_defaults_follow_the_paper():
    cfg = get_spec("progan").config_cls()
    assert cfg.z_dim == 512 and cfg.img_resolution == 32 and cfg.channel_max == 512
    G = create_generator("progan", z_dim=8, channel_max=16)
    assert G.num_stages == 4 and G.capabilities().progressive
    assert G.current_stage() == (3, 1.0)  # a fresh G renders at full size


def test_every_stage_renders_full_resolution_and_native_size(make_G, latents):
    G = make_G()
    z = latents(G)[0]
    assert G.num_stages == 3
    for s in range(G.num_stages):
        for alpha in (0.0, 0.5, 1.0):
            G.set_stage(s, alpha)
            with torch.no_grad():
                img = G(z)
                native = G.synthesis_at(z[:, None], s, alpha)
            assert img.shape == (2, 3, 16, 16)
            assert native.shape == (2, 3, 4 * 2 ** s, 4 * 2 ** s)
            assert img.min() >= -1 and img.max() <= 1
            # the full-size output is the native image, nearest-upsampled
            assert torch.equal(img, F.interpolate(native, size=(16, 16), mode="nearest"))


def test_fade_in_alpha_zero_is_the_previous_stage_upsampled(make_G, latents):
    G = make_G()
    z = latents(G, seed=1)[0][:, None]
    with torch.no_grad():
        for s in range(1, G.num_stages):
            faded = G.synthesis_at(z, s, 0.0)
            prev = G.synthesis_at(z, s - 1, 1.0)
            assert torch.equal(faded, F.interpolate(prev, scale_factor=2, mode="nearest"))
            # alpha moves the output away from the old stage, and alpha=1 is the new stage alone
            assert not torch.allclose(G.synthesis_at(z, s, 1.0), faded)
            half = G.synthesis_at(z, s, 0.5)
            assert not torch.equal(half, faded) and not torch.equal(half, G.synthesis_at(z, s, 1.0))


def test_stage_changes_the_rendering(make_G, latents):
    G = make_G()
    z = latents(G)[0]
    with torch.no_grad():
        G.set_stage(0)
        a = G(z)
        G.set_stage(2)
        b = G(z)
    assert not torch.equal(a, b)
    # stage 0 output is blocky: constant over 4x4 tiles
    assert torch.equal(a, a[:, :, ::4, ::4].repeat_interleave(4, 2).repeat_interleave(4, 3))


@pytest.mark.parametrize("stage, alpha, msg", [
    (3, 1.0, "stage"), (-1, 1.0, "stage"), (1.5, 1.0, "stage"), (True, 1.0, "stage"),
    (1, 1.5, "alpha"), (1, -0.1, "alpha"), (1, float("nan"), "alpha"), (1, "x", "alpha"),
])
def test_set_stage_validation(make, stage, alpha, msg, latents):
    G, D = make()
    for net in (G, D):
        with pytest.raises(ValueError, match=msg):
            net.set_stage(stage, alpha)
        assert net.current_stage() == (2, 1.0)  # unchanged after a bad call
    with pytest.raises(ValueError, match=msg):
        G.synthesis_at(latents(G)[0][:, None], stage, alpha)


def test_bad_channels_config():
    with pytest.raises(ValueError, match="one width per scale"):
        create_generator("progan", z_dim=8, img_resolution=16, channels=(8, 8))
    with pytest.raises(ValueError, match="power of two"):
        create_generator("progan", z_dim=8, img_resolution=24, channel_max=8)


def test_discriminator_stages_and_fade_in(make, latents):
    G, D = make()
    z = latents(G, n=4)[0]
    for s in range(D.num_stages):
        G.set_stage(s, 0.5)
        D.set_stage(s, 0.5)
        with torch.no_grad():
            full = G(z)
            native = G.synthesis_at(z[:, None], s, 0.5)
            a, b = D(full), D(native)
        assert a.shape == (4,) and torch.isfinite(a).all()
        assert torch.allclose(a, b, atol=1e-5)  # full-size input is pooled to the stage resolution
    # alpha=0 at stage s scores like stage s-1 on the pooled image
    img = torch.rand(4, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        D.set_stage(2, 0.0)
        faded = D(img)
        D.set_stage(1, 1.0)
        prev = D(F.avg_pool2d(img, 2))
    assert torch.allclose(faded, prev, atol=1e-5)
    with pytest.raises(ValueError, match="img must have shape"):
        D(torch.zeros(2, 3, 12, 12))


def test_grayscale_and_linear_output_variant(make_G, latents):
    G = make_G(img_channels=1, tanh_output=False)
    with torch.no_grad():
        img = G(latents(G)[0])
    assert img.shape == (2, 1, 16, 16) and img.min() >= -1 and img.max() <= 1


def test_checkpoint_round_trip_keeps_stage(make, round_trip, latents):
    G, D = make()
    G.set_stage(1, 0.25)
    D.set_stage(1, 0.25)
    z = latents(G)[0]
    with torch.no_grad():
        before = G(z)
    ck = round_trip(G, D)
    assert ck.G.current_stage() == (1, 0.25) and ck.D.current_stage() == (1, 0.25)
    with torch.no_grad():
        assert torch.equal(ck.G(z), before)


def test_train_step_reaches_only_active_layers(make_G, latents):
    G = make_G()
    G.train()
    G.set_stage(1, 0.5)
    G(latents(G)[0]).square().mean().backward()
    assert G.blocks[1].conv1.weight.grad is not None and G.to_rgb[0].weight.grad is not None
    assert G.blocks[2].conv1.weight.grad is None and G.to_rgb[2].weight.grad is None


@pytest.mark.parametrize("n, g", [(6, 3), (30, 3), (50, 2), (8, 4), (7, 1)])
def test_minibatch_stddev_uses_the_largest_group_that_divides_the_batch(n, g):
    # Batches that did not split into groups of 4 got a constant feature (g = 1: zero variance).
    from ganstudio.models._layers import MinibatchStddev
    x = torch.randn(n, 3, 2, 2)
    out = MinibatchStddev(4)(x)
    expected = x.reshape(g, -1, 3, 2, 2).var(0, unbiased=False).add(1e-8).sqrt().mean([1, 2, 3])
    assert torch.allclose(out[:, 3, 0, 0], expected.repeat(g))
