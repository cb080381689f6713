import pytest
import torch

from ganstudio.latent import apply_direction, pca_directions, sefa_directions
from ganstudio.models import create_generator, tiny_config


@pytest.fixture(scope="module")
def G():
    torch.manual_seed(0)
    return create_generator("dcgan", tiny_config("dcgan")).eval()


def _orthonormal(d):
    return torch.allclose(d @ d.T, torch.eye(d.shape[0]), atol=1e-5)


@pytest.mark.parametrize("space", ["w", "z"])
def test_pca_directions(G, space):
    d, var = pca_directions(G, n_samples=600, k=5, space=space, seed=0)
    assert d.shape == (5, G.z_dim) and var.shape == (5,)
    assert _orthonormal(d)
    assert (var[:-1] >= var[1:]).all() and (var > 0).all()
    d2, var2 = pca_directions(G, n_samples=600, k=5, space=space, seed=0)
    assert torch.equal(d, d2) and torch.equal(var, var2)
    # Variance along each direction of fresh samples matches the reported one (standard normal z: about 1).
    assert torch.allclose(var, torch.ones(5), atol=0.3)


def test_pca_directions_clamps_k_and_checks_args(G):
    d, _ = pca_directions(G, n_samples=100, k=50, space="z")
    assert d.shape == (G.z_dim, G.z_dim) and _orthonormal(d)
    with pytest.raises(ValueError):
        pca_directions(G, space="q")
    with pytest.raises(ValueError):
        pca_directions(G, n_samples=1)


def test_sefa_generic_dcgan(G):
    d, eig = sefa_directions(G, k=4)
    assert d.shape == (4, G.w_dim) and eig.shape == (4,)
    assert _orthonormal(d)
    assert (eig[:-1] >= eig[1:]).all()
    W = G.main[0].weight.detach().reshape(G.z_dim, -1).T  # ConvTranspose2d [z, C, 4, 4] as a linear map
    # Each direction is an eigenvector of W^T W with its eigenvalue.
    assert torch.allclose(W.T @ W @ d.T, d.T * eig, atol=1e-5)
    assert torch.allclose(eig[0], torch.linalg.matrix_norm(W, 2) ** 2, rtol=1e-4)


@pytest.mark.parametrize("name, kw", [("cgan", {}), ("acgan", {}), ("mlp-gan", {"c_dim": 3}), ("vae", {}),
                                      ("progan", {}), ("sagan", {}), ("sngan-projection", {}), ("dcgan", {}),
                                      ("biggan-deep", {})])
def test_sefa_factorizes_the_map_from_z_to_the_first_layer(name, kw):
    # A conditional first layer reads [z, c]: A is its z columns.  The old search took the first layer
    # with z_dim inputs anywhere (cGAN: the last, feature-to-RGB conv).  Checked by the layer's response:
    # A @ dz is how the first layer's output moves when its z input moves by dz, whatever c is.
    from ganstudio.models import get_spec
    torch.manual_seed(0)
    G = create_generator(name, **{**get_spec(name).tiny, **kw}).eval()
    A = G.sefa_weight().detach()
    layer = next(m for m in G.get_submodule(G.latent_layer).modules()
                 if isinstance(getattr(m, "weight", None), torch.Tensor))
    seen = []  # (input, output) of the first layer, flattened (clones: an in-place ReLU follows)
    hook = layer.register_forward_hook(lambda m, i, o: seen.append((i[0].detach().flatten(1).clone(),
                                                                    o.detach().flatten(1).clone())))
    c = torch.nn.functional.one_hot(torch.tensor([1]), G.c_dim).float() if G.c_dim else None
    with torch.no_grad():
        for z in torch.randn(2, 1, G.z_dim):
            G.synthesis(G.mapping(z, c), c)
    hook.remove()
    (x0, y0), (x1, y1) = seen
    assert torch.equal(x0[:, G.z_dim:], x1[:, G.z_dim:])  # only z's columns moved (class inputs come after)
    assert A.shape[1] == G.z_dim and torch.allclose(y1 - y0, (x1 - x0)[:, :G.z_dim] @ A.T, atol=1e-4)
    d, eig = sefa_directions(G, k=3)
    assert torch.allclose(A.double().T @ A.double() @ d.double().T, d.double().T * eig.double(), rtol=1e-3, atol=1e-4)


def test_sefa_uses_sefa_weight_when_defined(G):
    class WithWeight(torch.nn.Module):
        w_dim = 3

        def sefa_weight(self, layers):
            self.asked = layers
            return torch.diag(torch.tensor([1.0, 3.0, 2.0]))

    g = WithWeight()
    d, eig = sefa_directions(g, k=2, layers=[1])
    assert g.asked == [1]
    assert torch.allclose(eig, torch.tensor([9.0, 4.0]))
    assert torch.allclose(d, torch.tensor([[0.0, 1, 0], [0, 0, 1]]))
    with pytest.raises(ValueError):
        sefa_directions(G, layers=[0])


def test_apply_direction():
    d = torch.tensor([1.0, 0.0])
    z = torch.zeros(3, 2)
    assert torch.equal(apply_direction(z, d, 2.0), torch.tensor([[2.0, 0]] * 3))
    ws = torch.zeros(2, 4, 2)
    out = apply_direction(ws, d, -1.0, layers=[1, 2])
    assert out[:, [1, 2], 0].eq(-1).all() and out[:, [0, 3]].eq(0).all()
    per = apply_direction(z, d, torch.tensor([0.0, 1.0, 2.0]))
    assert per[:, 0].tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(ValueError):
        apply_direction(z, torch.zeros(3), 1.0)
    with pytest.raises(ValueError):
        apply_direction(z, d, 1.0, layers=[0])
