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
