"""VAE: encoder shapes, seeded reparameterization, decoder range, no D.
(The checkpoint round trip, encoder included: tests/checkpoints/test_checkpoint_errors.py::test_round_trip_is_exact.)"""
import pytest
import torch

from ganstudio.models import create_discriminator, get_spec


@pytest.fixture
def make_G(tiny_models):
    return lambda **kw: tiny_models("vae", **kw)[0]


def test_no_discriminator_and_encoder_capability(tiny_models):
    G, D = tiny_models("vae")
    assert D is None and create_discriminator("vae", **get_spec("vae").tiny) is None
    assert G.capabilities().encoder and isinstance(G.encoder, torch.nn.Module)
    cfg = get_spec("vae").config_cls()
    assert (cfg.z_dim, cfg.img_resolution, cfg.img_channels) == (32, 32, 1)


@pytest.mark.parametrize("res,ch", [(28, 1), (32, 3)])
def test_encode_shapes_and_decode_range(make_G, res, ch):
    G = make_G(img_resolution=res, img_channels=ch)
    img = torch.rand(3, ch, res, res) * 2 - 1
    with torch.no_grad():
        mu, logvar = G.encode(img)
        assert mu.shape == logvar.shape == (3, G.z_dim)
        out = G(G.reparameterize(mu, logvar) * 10)  # far-out latents still decode into [-1, 1]
    assert out.shape == (3, ch, res, res)
    assert torch.isfinite(out).all() and out.min() >= -1 and out.max() <= 1


def test_reparameterize_is_seeded(make_G):
    G = make_G()
    mu, logvar = torch.randn(2, G.z_dim), torch.randn(2, G.z_dim)
    a = G.reparameterize(mu, logvar, generator=torch.Generator().manual_seed(5))
    b = G.reparameterize(mu, logvar, generator=torch.Generator().manual_seed(5))
    c = G.reparameterize(mu, logvar, generator=torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)
    eps = torch.randn(2, G.z_dim, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(a, mu + torch.exp(0.5 * logvar) * eps)
    # Zero variance collapses onto the mean.
    assert torch.equal(G.reparameterize(mu, torch.full_like(mu, -torch.inf)), mu)


def test_bad_inputs_are_clear_errors(make_G):
    G = make_G()
    with pytest.raises(ValueError, match="img"):
        G.encode(torch.zeros(2, 3, G.img_resolution, G.img_resolution))
    with pytest.raises(ValueError, match="logvar"):
        G.reparameterize(torch.zeros(2, G.z_dim), torch.zeros(3, G.z_dim))

