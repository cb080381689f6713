"""Conditional GAN: class blending in G, c-dependent D, clear c errors.
(The checkpoint round trip of every family: tests/checkpoints/test_checkpoint_errors.py::test_round_trip_is_exact.)"""
import pytest
import torch

from ganstudio.models import create_generator, get_spec, one_hot
from _conditional import check_blend_weight_one_equals_pure_class


def test_capabilities_and_defaults(tiny_models):
    G, _ = tiny_models("cgan")
    caps = G.capabilities()
    assert caps.classes and caps.class_space == "onehot"
    cfg = get_spec("cgan").config_cls()
    assert (cfg.z_dim, cfg.c_dim, cfg.img_resolution) == (100, 10, 32)


def test_blend_weight_one_equals_pure_class(tiny_models):
    check_blend_weight_one_equals_pure_class(tiny_models("cgan")[0], 1, 3)


def test_wrong_c_is_a_clear_error(tiny_models):
    G, D = tiny_models("cgan")
    z = torch.randn(2, G.z_dim)
    for bad in (torch.zeros(2, G.c_dim + 1), torch.zeros(3, G.c_dim), None):
        with pytest.raises(ValueError, match="c"):
            G(z, bad)
        with pytest.raises(ValueError, match="c"):
            D(torch.zeros(2, G.img_channels, G.img_resolution, G.img_resolution), bad)


def test_discriminator_depends_on_c(tiny_models):
    G, D = tiny_models("cgan")
    img = torch.rand(2, G.img_channels, G.img_resolution, G.img_resolution) * 2 - 1
    a, b = one_hot(torch.tensor([0, 0]), G.c_dim), one_hot(torch.tensor([2, 2]), G.c_dim)
    with torch.no_grad():
        assert not torch.equal(D(img, a), D(img, b))


@pytest.mark.parametrize("res,ch", [(8, 1), (32, 3)])
def test_resolutions_and_channels(tiny_models, res, ch):
    G, D = tiny_models("cgan", img_resolution=res, img_channels=ch)
    c = one_hot(torch.tensor([0, 1]), G.c_dim)
    with torch.no_grad():
        img = G(torch.randn(2, G.z_dim), c)
    assert img.shape == (2, ch, res, res) and img.abs().max() <= 1
    assert D(img, c).shape == (2,)


def test_non_power_of_two_resolution_is_rejected():
    with pytest.raises(ValueError, match="resolution"):
        create_generator("cgan", **{**get_spec("cgan").tiny, "img_resolution": 24})
