"""SN-GAN projection: conditional BN blends, spectral norm in D, projection depends on c.
(The checkpoint round trip of every family: tests/checkpoints/test_checkpoint_errors.py::test_round_trip_is_exact.)"""
import pytest
import torch

from ganstudio.models import create_discriminator, create_generator, get_spec, one_hot
from ganstudio.models._layers import ConditionalBatchNorm2d
from _conditional import check_blend_weight_one_equals_pure_class

NAME = "sngan-projection"
TINY = get_spec(NAME).tiny


@pytest.fixture
def models(tiny_models):
    def make(**kw):
        G, D = tiny_models(NAME, **kw)
        # CBN starts class-neutral (gain 1, bias 0 for every class); give the classes their own
        # gains and biases, as training would, so that class effects are visible.
        with torch.no_grad():
            for m in G.modules():
                if isinstance(m, ConditionalBatchNorm2d):
                    m.gain.weight.normal_(0, 0.5)
                    m.bias.weight.normal_(0, 0.5)
        img = torch.rand(4, G.img_channels, G.img_resolution, G.img_resolution) * 2 - 1
        D.train()(img, one_hot(torch.arange(4) % G.c_dim, G.c_dim))  # a train-mode call runs SN's power iteration
        return G, D.eval()
    return make


def test_capabilities_and_defaults(models):
    caps = models()[0].capabilities()
    assert caps.classes and caps.class_space == "embedding"
    cfg = get_spec(NAME).config_cls()
    assert (cfg.c_dim, cfg.img_resolution) == (10, 32)


def test_fresh_generator_is_class_neutral():
    torch.manual_seed(0)
    G = create_generator(NAME, **TINY).eval()
    z = torch.randn(1, G.z_dim)
    with torch.no_grad():
        assert torch.equal(G(z, one_hot(torch.tensor([0]), G.c_dim)), G(z, one_hot(torch.tensor([1]), G.c_dim)))


def test_blend_weight_one_equals_pure_class(models):
    check_blend_weight_one_equals_pure_class(models()[0], 1, 2)


def test_wrong_c_is_a_clear_error(models):
    G, D = models()
    z = torch.randn(2, G.z_dim)
    img = torch.zeros(2, G.img_channels, G.img_resolution, G.img_resolution)
    for bad in (torch.zeros(2, G.c_dim + 1), torch.zeros(3, G.c_dim), None):
        with pytest.raises(ValueError, match="c"):
            G(z, bad)
        with pytest.raises(ValueError, match="c"):
            D(img, bad)


def test_projection_score_is_linear_in_c(models):
    G, D = models()
    img = torch.rand(2, G.img_channels, G.img_resolution, G.img_resolution) * 2 - 1
    a, b = one_hot(torch.tensor([0, 0]), G.c_dim), one_hot(torch.tensor([3, 3]), G.c_dim)
    with torch.no_grad():
        sa, sb, smid = D(img, a), D(img, b), D(img, 0.5 * a + 0.5 * b)
    assert not torch.allclose(sa, sb)
    torch.testing.assert_close(smid, 0.5 * (sa + sb))


def test_discriminator_is_spectrally_normalized():
    D = create_discriminator(NAME, **TINY)
    weights = [n for n, _ in D.named_parameters() if "weight" in n]
    assert weights and all(n.endswith("parametrizations.weight.original") for n in weights)
    D_plain = create_discriminator(NAME, **TINY, use_sn=False)
    assert any(n.endswith(".weight") for n, _ in D_plain.named_parameters())


@pytest.mark.parametrize("res,ch", [(8, 1), (32, 3)])
def test_resolutions_and_channels(models, res, ch):
    G, D = models(img_resolution=res, img_channels=ch)
    c = one_hot(torch.tensor([0, 1]), G.c_dim)
    with torch.no_grad():
        img = G(torch.randn(2, G.z_dim), c)
        assert img.shape == (2, ch, res, res) and img.abs().max() <= 1
        assert D(img, c).shape == (2,)

