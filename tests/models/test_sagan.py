"""SAGAN: attention maps, conditioning, unconditional variant, checkpoint round trip."""
import pytest
import torch

from ganstudio.checkpoints._format import load_checkpoint, save_checkpoint
from ganstudio.models import create_discriminator, create_generator, get_spec, one_hot

TINY = get_spec("sagan").tiny


def _G(**kw):
    torch.manual_seed(0)
    return create_generator("sagan", **{**TINY, **kw}).eval()


def _inputs(G, n=2, seed=0):
    z = torch.randn(n, G.z_dim, generator=torch.Generator().manual_seed(seed))
    c = one_hot(torch.arange(n) % G.c_dim, G.c_dim) if G.c_dim else None
    return z, c


def _train_a_little(G, D=None, steps=2):
    # Moves BN running stats and spectral-norm vectors away from their initial values.
    G.train()
    for i in range(steps):
        z, c = _inputs(G, n=4, seed=10 + i)
        img = G(z, c)
        if D is not None:
            D.train()
            D(img.detach(), c)
    G.eval()


def test_capabilities_and_defaults():
    cfg = get_spec("sagan").config_cls()
    assert cfg.img_resolution == 32
    G = _G()
    caps = G.capabilities()
    assert caps.classes and caps.class_space == "embedding" and caps.attention
    assert not _G(c_dim=0).capabilities().classes


def test_attention_maps_shape_and_rows_sum_to_one():
    G = _G()
    assert G.attention_maps() == {}
    z, c = _inputs(G, n=3)
    with torch.no_grad():
        G(z, c)
    maps = G.attention_maps()
    assert list(maps) == [16]
    a = maps[16]
    assert a.shape == (3, 16 * 16, 16 * 16 // 4)
    assert torch.allclose(a.sum(dim=-1), torch.ones(3, 256), atol=1e-5)
    assert (a >= 0).all()


def test_discriminator_attention_maps():
    torch.manual_seed(0)
    D = create_discriminator("sagan", **TINY).eval()
    G = _G()
    z, c = _inputs(G, n=2)
    with torch.no_grad():
        D(G(z, c), c)
    (res, a), = D.attention_maps().items()
    assert res == 16 and a.shape == (2, 256, 64)


def test_attention_resolution_is_configurable():
    G = _G(attn_res=8)
    z, c = _inputs(G)
    with torch.no_grad():
        G(z, c)
    assert G.attention_maps()[8].shape == (2, 64, 16)
    assert _G(attn_res=0).attention_maps() == {} and not _G(attn_res=0).capabilities().attention


def test_class_changes_output_and_blend_is_linear_in_c():
    G = _G()
    _train_a_little(G)  # CBN starts class-independent (gain 1, bias 0); give it something to do
    with torch.no_grad():
        for m in G.modules():
            if hasattr(m, "cbn") and m.cbn is not None:
                torch.nn.init.normal_(m.cbn.gain.weight, 0, 0.5)
        z, _ = _inputs(G, n=1)
        e = torch.eye(G.c_dim)
        a, b = G(z, e[:1]), G(z, e[1:2])
        assert not torch.allclose(a, b)
        pure = 1.0 * e[:1] + 0.0 * e[1:2]
        assert torch.equal(G(z, pure), a)


def test_unconditional_variant():
    G = _G(c_dim=0)
    torch.manual_seed(0)
    D = create_discriminator("sagan", **{**TINY, "c_dim": 0})
    z, _ = _inputs(G)
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


def test_missing_or_bad_c_is_a_clear_error():
    G = _G()
    torch.manual_seed(0)
    D = create_discriminator("sagan", **TINY)
    z, c = _inputs(G)
    with pytest.raises(ValueError, match="class-conditional"):
        G(z)
    with pytest.raises(ValueError, match="c must have shape"):
        G(z, torch.zeros(2, G.c_dim + 1))
    with pytest.raises(ValueError, match="class-conditional"):
        D(torch.zeros(2, 3, 32, 32))
    with pytest.raises(ValueError, match="img must have shape"):
        D(torch.zeros(2, 3, 16, 16), c)


def test_checkpoint_round_trip_bit_exact(tmp_path):
    G = _G()
    torch.manual_seed(0)
    D = create_discriminator("sagan", **TINY)
    _train_a_little(G, D)
    D.eval()
    z, c = _inputs(G)
    img = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        before, d_before = G(z, c), D(img, c)
        assert torch.equal(G(z, c), before)  # eval mode: spectral norm does not update u
    path = save_checkpoint(tmp_path / "s.safetensors", G, D=D)
    ck = load_checkpoint(path, load_D=True)
    ck.D.eval()
    with torch.no_grad():
        assert torch.equal(ck.G(z, c), before)
        assert torch.equal(ck.D(img, c), d_before)
