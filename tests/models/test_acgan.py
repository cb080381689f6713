"""AC-GAN: class blending in G, an unconditional D with an auxiliary classifier.
(Shapes, range and the checkpoint round trip of every family: tests/models/test_registry_models.py and
tests/checkpoints/test_checkpoint_errors.py::test_round_trip_is_exact.)"""
import pytest
import torch

from ganstudio.models import one_hot
from _conditional import check_blend_weight_one_equals_pure_class


def test_capabilities(tiny_models):
    caps = tiny_models("acgan")[0].capabilities()
    assert caps.classes and caps.class_space == "embedding"


def test_blend_weight_one_equals_pure_class(tiny_models):
    check_blend_weight_one_equals_pure_class(tiny_models("acgan")[0], 0, 2)


def test_wrong_c_is_a_clear_error(tiny_models):
    G, _ = tiny_models("acgan")
    z = torch.randn(2, G.z_dim)
    for bad in (torch.zeros(2, G.c_dim + 1), torch.zeros(1, G.c_dim), None):
        with pytest.raises(ValueError, match="c"):
            G(z, bad)


def test_aux_head_shape_and_d_ignores_c(tiny_models):
    G, D = tiny_models("acgan")
    img = torch.rand(3, G.img_channels, G.img_resolution, G.img_resolution) * 2 - 1
    a, b = one_hot(torch.tensor([0, 1, 2]), G.c_dim), one_hot(torch.tensor([3, 3, 3]), G.c_dim)
    with torch.no_grad():
        scores, aux = D.forward_aux(img, a)
        assert scores.shape == (3,)
        assert aux["class_logits"].shape == (3, G.c_dim)
        assert torch.equal(D(img, a), scores)
        assert torch.equal(D(img, a), D(img, b)) and torch.equal(D(img, None), scores)
        assert torch.equal(D.forward_aux(img, b)[1]["class_logits"], aux["class_logits"])


@pytest.mark.parametrize("res,ch", [(8, 3), (32, 1)])
def test_resolutions_and_channels(tiny_models, res, ch):
    G, D = tiny_models("acgan", img_resolution=res, img_channels=ch)
    c = one_hot(torch.tensor([0, 1]), G.c_dim)
    with torch.no_grad():
        img = G(torch.randn(2, G.z_dim), c)
        assert img.shape == (2, ch, res, res) and img.abs().max() <= 1
        assert D.forward_aux(img)[1]["class_logits"].shape == (2, G.c_dim)
