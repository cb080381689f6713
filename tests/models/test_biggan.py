"""BigGAN: class blending, skip-z, orthogonal regularization, attention, SeFa over z's chunks.
(The checkpoint round trip of every family: tests/checkpoints/test_checkpoint_errors.py::test_round_trip_is_exact.)"""
import pytest
import torch
from torch import nn

from ganstudio.models import create_generator, get_spec, one_hot
from ganstudio.models.biggan import ortho_reg

TINY = get_spec("biggan").tiny


@pytest.fixture
def make(tiny_models):
    return lambda **kw: tiny_models("biggan", **kw)


@pytest.fixture
def make_G(make):
    return lambda **kw: make(**kw)[0]



def test_capabilities_and_defaults(make_G):
    cfg = get_spec("biggan").config_cls()
    assert cfg.img_resolution == 32 and cfg.z_dim % 4 == 0
    caps = make_G().capabilities()
    assert caps.truncation == "z" and caps.classes and caps.class_space == "embedding" and caps.attention


@pytest.mark.parametrize("res, chunks", [(32, 4), (64, 5), (128, 6)])
def test_resolutions(make, res, chunks, latents):
    G, D = make(img_resolution=res, z_dim=chunks * 2, attn_res=0, g_ch=1, d_ch=1)
    assert G.num_chunks == chunks
    with torch.no_grad():
        img = G(latents(G, n=1)[0], one_hot(torch.tensor([0]), G.c_dim))
        assert img.shape == (1, 3, res, res)
        assert D(img, one_hot(torch.tensor([0]), G.c_dim)).shape == (1,)  # D accepts the same size


def test_class_blend_weight_one_equals_the_class(make_G, latents):
    G = make_G()
    z = latents(G, n=1)[0]
    e = torch.eye(G.c_dim)
    with torch.no_grad():
        pure = G(z, e[1:2])
        for other in (0, 2):
            blend = 1.0 * e[1:2] + 0.0 * e[other:other + 1]
            assert torch.equal(G(z, blend), pure)
        assert not torch.allclose(G(z, e[0:1]), pure)
        half = G(z, 0.5 * e[0:1] + 0.5 * e[1:2])
        assert not torch.allclose(half, pure) and not torch.allclose(half, G(z, e[0:1]))


def test_shared_embedding_is_linear_in_c(make_G):
    G = make_G()
    e = torch.eye(G.c_dim)
    blend = 0.3 * e[0:1] + 0.7 * e[2:3]
    assert torch.allclose(G.shared(blend), 0.3 * G.shared(e[0:1]) + 0.7 * G.shared(e[2:3]), atol=1e-6)


def test_each_z_chunk_reaches_the_output(make_G, latents):
    G = make_G()
    z = latents(G, n=1)[0]
    c = one_hot(torch.tensor([0]), G.c_dim)
    assert G.num_chunks == 4 and G.chunk == 4
    with torch.no_grad():
        base = G(z, c)
        for i in range(G.num_chunks):
            z2 = z.clone()
            z2[:, i * G.chunk:(i + 1) * G.chunk] += 1.0
            assert not torch.allclose(G(z2, c), base), f"z chunk {i} has no effect"


def test_ortho_reg_zero_for_orthogonal_positive_otherwise():
    lin = nn.Linear(6, 4, bias=True)
    with torch.no_grad():
        lin.weight.copy_(torch.eye(6)[:4] * 3.0)  # orthogonal rows (scale does not matter off the diagonal)
    assert ortho_reg(lin).item() == 0.0
    nn.init.orthogonal_(lin.weight)
    assert ortho_reg(lin).item() < 1e-15
    with torch.no_grad():
        lin.weight.copy_(torch.ones(4, 6))
    # each off-diagonal entry of W W^T is 6; 12 of them
    assert ortho_reg(lin, beta=1.0).item() == pytest.approx(12 * 36)
    assert ortho_reg(lin, beta=1e-4).item() == pytest.approx(12 * 36 * 1e-4)


def test_ortho_reg_on_the_generator_skips_embeddings_and_is_differentiable(make_G):
    G = make_G()
    G.train()
    loss = ortho_reg(G)
    assert loss.item() > 0
    loss.backward()
    assert G.shared.weight.grad is None  # blacklisted
    assert G.blocks[0].norm1.cbn.gain.parametrizations.weight.original.grad is None
    assert G.blocks[0].conv1.parametrizations.weight.original.grad is not None
    # a blacklist of tensors works too; blacklisting everything is a clear error
    lin = nn.Linear(3, 3)
    with pytest.raises(ValueError, match="no weight"):
        ortho_reg(lin, blacklist=[lin.weight])


def test_bad_configs_are_clear_errors():
    with pytest.raises(ValueError, match="equal chunks"):
        create_generator("biggan", **{**TINY, "z_dim": 15})
    with pytest.raises(ValueError, match="c_dim"):
        create_generator("biggan", **{**TINY, "c_dim": 0})
    with pytest.raises(ValueError, match="img_resolution"):
        create_generator("biggan", **{**TINY, "img_resolution": 16})


def test_attention_maps(make_G, latents):
    G = make_G()
    with torch.no_grad():
        G(latents(G, n=2)[0], one_hot(torch.tensor([0, 1]), G.c_dim))
    a = G.attention_maps()[16]
    assert a.shape == (2, 256, 64)
    assert torch.allclose(a.sum(-1), torch.ones(2, 256), atol=1e-5)


def test_sefa_covers_every_z_chunk(make_G):
    from ganstudio.latent import sefa_directions
    G = make_G()
    W = G.sefa_weight()
    assert W.shape[1] == G.z_dim
    # every chunk of z is read by some row
    for i in range(G.num_chunks):
        assert W[:, i * G.chunk:(i + 1) * G.chunk].abs().sum() > 0
    d, ev = sefa_directions(G, k=4)
    assert d.shape == (4, G.z_dim)
    assert torch.allclose(d @ d.T, torch.eye(4), atol=1e-5)
