"""AC-GAN: class blending in G, an unconditional D with an auxiliary classifier, round trip."""
import pytest
import torch

from ganstudio.checkpoints._format import load_checkpoint, save_checkpoint
from ganstudio.models import create_discriminator, create_generator, get_spec, one_hot
from _conditional import check_blend_weight_one_equals_pure_class

TINY = get_spec("acgan").tiny


def _models(**kw):
    torch.manual_seed(0)
    cfg = {**TINY, **kw}
    return create_generator("acgan", **cfg).eval(), create_discriminator("acgan", **cfg).eval()


def test_capabilities():
    caps = _models()[0].capabilities()
    assert caps.classes and caps.class_space == "embedding"


def test_blend_weight_one_equals_pure_class():
    check_blend_weight_one_equals_pure_class(_models()[0], 0, 2)


def test_wrong_c_is_a_clear_error():
    G, _ = _models()
    z = torch.randn(2, G.z_dim)
    for bad in (torch.zeros(2, G.c_dim + 1), torch.zeros(1, G.c_dim), None):
        with pytest.raises(ValueError, match="c"):
            G(z, bad)


def test_aux_head_shape_and_d_ignores_c():
    G, D = _models()
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
def test_resolutions_and_channels(res, ch):
    G, D = _models(img_resolution=res, img_channels=ch)
    c = one_hot(torch.tensor([0, 1]), G.c_dim)
    with torch.no_grad():
        img = G(torch.randn(2, G.z_dim), c)
        assert img.shape == (2, ch, res, res) and img.abs().max() <= 1
        assert D.forward_aux(img)[1]["class_logits"].shape == (2, G.c_dim)


def test_checkpoint_round_trip(tmp_ckpt):
    G, D = _models()
    z, c = torch.randn(2, G.z_dim), one_hot(torch.tensor([0, 3]), G.c_dim)
    save_checkpoint(tmp_ckpt, G, D=D)
    ck = load_checkpoint(tmp_ckpt, load_D=True)
    ck.D.eval()
    with torch.no_grad():
        img = G(z, c)
        assert torch.equal(ck.G(z, c), img)
        s, aux = D.forward_aux(img)
        s2, aux2 = ck.D.forward_aux(img)
        assert torch.equal(s, s2) and torch.equal(aux["class_logits"], aux2["class_logits"])
