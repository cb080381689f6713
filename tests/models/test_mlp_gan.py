"""MLP GAN: shapes at MNIST-like sizes, optional class conditioning, the conditional variant's round trip
(the unconditional tiny variant's: tests/checkpoints/test_checkpoint_errors.py::test_round_trip_is_exact)."""
import pytest
import torch

from ganstudio.models import create_generator, get_spec, one_hot


@pytest.fixture
def models(tiny_models):
    return lambda **kw: tiny_models("mlp-gan", **kw)


@pytest.mark.parametrize("res,ch", [(28, 1), (32, 3)])
def test_any_resolution_and_channels(models, res, ch):
    G, D = models(img_resolution=res, img_channels=ch)
    z = torch.randn(2, G.z_dim)
    with torch.no_grad():
        img = G(z)
    assert img.shape == (2, ch, res, res) and img.abs().max() <= 1
    assert D(img).shape == (2,)
    assert not G.capabilities().classes


def test_wrong_image_shape_is_a_clear_error(models):
    _, D = models()
    with pytest.raises(ValueError, match="img"):
        D(torch.zeros(2, 1, 9, 9))


def test_conditional_blend_and_errors(models):
    G, D = models(c_dim=3)
    assert G.capabilities().classes and G.capabilities().class_space == "onehot"
    z = torch.randn(1, G.z_dim)
    a, b = one_hot(torch.tensor([0]), 3), one_hot(torch.tensor([2]), 3)
    with torch.no_grad():
        assert torch.equal(G(z, 1.0 * a + 0.0 * b), G(z, a))
        mid = G(z, 0.5 * a + 0.5 * b)
        assert not torch.equal(mid, G(z, a)) and not torch.equal(mid, G(z, b))
        with pytest.raises(ValueError, match="c"):
            G(z, torch.zeros(1, 4))
        with pytest.raises(ValueError, match="c"):
            G(z, None)
        with pytest.raises(ValueError, match="c"):
            D(G(z, a), torch.zeros(1, 2))
        assert not torch.equal(D(G(z, a), a), D(G(z, a), b))


def test_bad_config_is_a_clear_error():
    with pytest.raises(ValueError, match="img_channels"):
        create_generator("mlp-gan", **get_spec("mlp-gan").tiny, img_channels=2)


def test_conditional_checkpoint_round_trip(models, round_trip):
    G, D = models(c_dim=3)
    z, c = torch.randn(2, G.z_dim), one_hot(torch.tensor([0, 1]), 3)
    ck = round_trip(G, D)
    with torch.no_grad():
        img = G(z, c)
        assert torch.equal(ck.G(z, c), img)
        assert torch.equal(ck.D(img, c), D(img, c))
