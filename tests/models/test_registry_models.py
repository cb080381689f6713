"""Every registered model, in its tiny variant: shapes, range, determinism, interface."""
import pytest
import torch

from ganstudio.models import Capabilities, create_discriminator, get_spec, list_models

MODELS = list_models()


def test_registry_has_every_family():
    families = {get_spec(n).family for n in MODELS}
    assert "dcgan" in families


@pytest.mark.parametrize("name", MODELS)
def test_forward_shape_range_finite(name, tiny_models, latents):
    G, _ = tiny_models(name)
    z, c = latents(G, n=3)
    with torch.no_grad():
        img = G(z, c, noise_mode="const")
    assert img.shape == (3, G.img_channels, G.img_resolution, G.img_resolution)
    assert torch.isfinite(img).all()
    assert img.min() >= -1 and img.max() <= 1
    assert isinstance(G.capabilities(), Capabilities)
    for attr in ("z_dim", "w_dim", "num_ws", "c_dim", "img_resolution", "img_channels"):
        assert isinstance(getattr(G, attr), int)


@pytest.mark.parametrize("name", MODELS)
def test_deterministic_with_fixed_noise(name, tiny_models, latents):
    G, _ = tiny_models(name)
    z, c = latents(G, n=3, seed=1)
    with torch.no_grad():
        a = G(z, c, noise_mode="const")
        b = G(z, c, noise_mode="const")
    assert torch.equal(a, b)


@pytest.mark.parametrize("name", MODELS)
def test_mapping_synthesis_split_equals_forward(name, tiny_models, latents):
    G, _ = tiny_models(name)
    z, c = latents(G, n=3, seed=2)
    with torch.no_grad():
        ws = G.mapping(z, c)
        assert ws.shape == (3, G.num_ws, G.w_dim)
        assert torch.equal(G.synthesis(ws, c, noise_mode="const"), G(z, c, noise_mode="const"))


@pytest.mark.parametrize("name", MODELS)
def test_discriminator_scores(name, tiny_models, latents):
    G, D = tiny_models(name)
    if D is None:
        pytest.skip(f"{name} has no discriminator")
    z, c = latents(G, n=3)
    with torch.no_grad():
        img = G(z, c)
    if D.reads == "code":  # the adversarial autoencoder's D scores the encoder's codes
        img = G.encode(img)[0]
    scores = D(img, c)
    assert scores.shape == (3,) and torch.isfinite(scores).all()
    scores2, aux = D.forward_aux(img, c)
    assert scores2.shape == (3,) and isinstance(aux, dict)


@pytest.mark.parametrize("name", MODELS)
def test_wrong_z_shape_is_a_clear_error(name, tiny_models):
    G, _ = tiny_models(name)
    with pytest.raises(ValueError, match="z"):
        G.mapping(torch.randn(2, G.z_dim + 1), None if not G.c_dim else torch.zeros(2, G.c_dim))


@pytest.mark.parametrize("norm", ["batch", "layer", "none"])
def test_dcgan_critic_norm_options(norm):
    from torch import nn
    D = create_discriminator("dcgan", **get_spec("dcgan").tiny, d_norm=norm)
    kinds = {type(m) for m in D.modules()}
    assert (nn.BatchNorm2d in kinds) == (norm == "batch") and (nn.GroupNorm in kinds) == (norm == "layer")
    # Without BatchNorm a sample's score does not depend on the rest of the batch (what GP assumes).
    x = torch.randn(4, 3, 16, 16)
    if norm != "batch":
        assert torch.allclose(D(x)[:1], D(x[:1]), atol=1e-6)
    with pytest.raises(ValueError, match="d_norm"):
        create_discriminator("dcgan", **get_spec("dcgan").tiny, d_norm="weird")
