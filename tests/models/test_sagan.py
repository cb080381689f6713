"""SAGAN: attention maps, conditioning, unconditional variant.
(The checkpoint round trip of every family: tests/checkpoints/test_checkpoint_errors.py::test_round_trip_is_exact.)"""
import pytest
import torch

from ganstudio.models import create_generator, get_spec

TINY = get_spec("sagan").tiny


@pytest.fixture
def make(tiny_models):
    return lambda **kw: tiny_models("sagan", **kw)


@pytest.fixture
def make_G(make):
    return lambda **kw: make(**kw)[0]


def test_capabilities_and_defaults(make_G):
    cfg = get_spec("sagan").config_cls()
    assert cfg.img_resolution == 32
    G = make_G()
    caps = G.capabilities()
    assert caps.classes and caps.class_space == "embedding" and caps.attention
    assert not make_G(c_dim=0).capabilities().classes


def test_attention_maps_shape_and_rows_sum_to_one(make_G, latents):
    G = make_G()
    assert G.attention_maps() == {}
    z, c = latents(G, n=3)
    with torch.no_grad():
        G(z, c)
    maps = G.attention_maps()
    assert list(maps) == [16]
    a = maps[16]
    assert a.shape == (3, 16 * 16, 16 * 16 // 4)
    assert torch.allclose(a.sum(dim=-1), torch.ones(3, 256), atol=1e-5)
    assert (a >= 0).all()


def test_discriminator_attention_maps(make, latents):
    G, D = make()
    z, c = latents(G, n=2)
    with torch.no_grad():
        D(G(z, c), c)
    (res, a), = D.attention_maps().items()
    assert res == 16 and a.shape == (2, 256, 64)


def test_attention_resolution_is_configurable(make_G, latents):
    G = make_G(attn_res=8)
    z, c = latents(G)
    with torch.no_grad():
        G(z, c)
    assert G.attention_maps()[8].shape == (2, 64, 16)
    assert make_G(attn_res=0).attention_maps() == {} and not make_G(attn_res=0).capabilities().attention


def test_class_changes_output_and_blend_is_linear_in_c(make_G, latents):
    G = make_G()
    G.train()  # moves BN running stats away from their initial values
    for i in range(2):
        G(*latents(G, n=4, seed=10 + i))
    G.eval()
    with torch.no_grad():  # CBN starts class-independent (gain 1, bias 0); give it something to do
        for m in G.modules():
            if hasattr(m, "cbn") and m.cbn is not None:
                torch.nn.init.normal_(m.cbn.gain.weight, 0, 0.5)
        z, _ = latents(G, n=1)
        e = torch.eye(G.c_dim)
        a, b = G(z, e[:1]), G(z, e[1:2])
        assert not torch.allclose(a, b)
        pure = 1.0 * e[:1] + 0.0 * e[1:2]
        assert torch.equal(G(z, pure), a)


def test_unconditional_variant(make, latents):
    G, D = make(c_dim=0)
    z, _ = latents(G)
    with torch.no_grad():
        img = G(z)
    assert img.shape == (2, 3, 32, 32)
    assert D(img).shape == (2,)


@pytest.mark.parametrize("kw, msg", [
    (dict(img_resolution=48), "img_resolution"),
    (dict(attn_res=4), "attn_res"),
    (dict(g_ch=1), "8 channels"),
])
def test_bad_configs_are_clear_errors(kw, msg):
    with pytest.raises(ValueError, match=msg):
        create_generator("sagan", **{**TINY, **kw})


def test_missing_or_bad_c_is_a_clear_error(make, latents):
    G, D = make()
    z, c = latents(G)
    with pytest.raises(ValueError, match="class-conditional"):
        G(z)
    with pytest.raises(ValueError, match="c must have shape"):
        G(z, torch.zeros(2, G.c_dim + 1))
    with pytest.raises(ValueError, match="class-conditional"):
        D(torch.zeros(2, 3, 32, 32))
    with pytest.raises(ValueError, match="img must have shape"):
        D(torch.zeros(2, 3, 16, 16), c)

