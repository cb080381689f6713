import pytest
import torch

from ganstudio.latent import apply_direction, pca_directions, sefa_directions
from ganstudio.models import create_generator, get_spec, list_models, tiny_config


def _dcgan(seed):
    torch.manual_seed(seed)
    return create_generator("dcgan", tiny_config("dcgan")).eval()


@pytest.fixture(scope="module")
def G():
    return _dcgan(0)


def _orthonormal(d):
    return torch.allclose(d @ d.T, torch.eye(d.shape[0]), atol=1e-5)


def _unit_rows(d):
    return torch.isfinite(d).all() and torch.allclose(d.norm(dim=1), torch.ones(len(d)), atol=1e-5)


def _toy():
    # An MLP GAN whose first layer is y = A z with A = Q diag(s) R^T: y's principal axes are Q's
    # columns with variance s^2, and the z direction that moves along the i-th one is R's i-th column.
    G = create_generator("mlp-gan", **get_spec("mlp-gan").tiny).eval()
    gen = torch.Generator().manual_seed(1)
    layer = G.latent_module()
    q, _ = torch.linalg.qr(torch.randn(layer.out_features, G.z_dim, generator=gen))
    r, _ = torch.linalg.qr(torch.randn(G.z_dim, G.z_dim, generator=gen))
    s = torch.tensor([10.0, 3.0, 1.0, 0.5, 0.3, 0.2, 0.1, 0.05])[:G.z_dim]
    with torch.no_grad():
        layer.weight.copy_(q @ torch.diag(s) @ r.T)
    return G, r.T, s ** 2


def test_pca_in_w_is_the_principal_axes_of_w(tiny_models):
    G, _ = tiny_models("stylegan2")
    d, var = pca_directions(G, n_samples=600, k=5, seed=0)  # style layers: space "w" by default
    assert d.shape == (5, G.w_dim) and var.shape == (5,)
    assert _orthonormal(d)
    assert (var[:-1] >= var[1:]).all() and (var > 0).all()
    d2, var2 = pca_directions(G, n_samples=600, k=5, space="w", seed=0)
    assert torch.equal(d, d2) and torch.equal(var, var2)
    w = G.mapping(torch.randn(600, G.z_dim, generator=torch.Generator().manual_seed(0)))[:, 0].detach()
    assert torch.allclose(((w - w.mean(0)) @ d.T).var(0), var, rtol=1e-4)  # the same samples (seed 0)


def test_pca_in_z_recovers_the_first_layers_principal_axes():
    # Fails for the PCA of z itself: z ~ N(0, I) has no principal axes (every variance about 1).
    G, axes, variances = _toy()
    d, var = pca_directions(G, n_samples=2000, k=G.z_dim, seed=0)
    assert d.shape == (G.z_dim, G.z_dim) and _unit_rows(d)
    assert (var[:-1] >= var[1:]).all()
    assert torch.allclose(var, variances, rtol=0.15)
    cos = (d * axes).sum(1).abs()
    assert (cos[:4] > 0.99).all(), cos  # the well-separated ones


def test_pca_in_z_is_deterministic_and_stable_across_seeds():
    G, axes, _ = _toy()
    d, var = pca_directions(G, n_samples=2000, k=3, seed=5)
    d2, var2 = pca_directions(G, n_samples=2000, k=3, seed=5)
    assert torch.equal(d, d2) and torch.equal(var, var2)
    # The same axes, with the same (canonical) sign, up to the regression's sampling noise of about
    # sqrt(z_dim / n_samples) per direction.
    other, _ = pca_directions(G, n_samples=2000, k=3, seed=6)
    assert ((d * other).sum(1) > 0.98).all()


def test_pca_in_z_depends_on_the_weights():
    # The PCA of raw z gave every generator the same directions.
    d0, _ = pca_directions(_dcgan(0), n_samples=1000, k=3)
    d1, _ = pca_directions(_dcgan(1), n_samples=1000, k=3)
    assert (d0 * d1).sum(1).abs().max() < 0.9


def test_pca_in_z_of_a_linear_first_layer_matches_sefa(G):
    # For y = A z with isotropic z, y's covariance is A A^T: its top axis, moved back to z, is A's top
    # right singular vector, SeFa's top direction.
    d, _ = pca_directions(G, n_samples=2000, k=2)
    s, _ = sefa_directions(G, k=2)
    assert ((d * s).sum(1).abs() > 0.95).all()


def test_pca_directions_clamps_k_and_checks_args(G):
    d, _ = pca_directions(G, n_samples=100, k=50)
    assert d.shape == (G.z_dim, G.z_dim) and _unit_rows(d)
    assert pca_directions(G, n_samples=3, k=50)[0].shape == (2, G.z_dim)
    with pytest.raises(ValueError, match="space"):
        pca_directions(G, space="q")
    with pytest.raises(ValueError, match="mapping network"):
        pca_directions(G, space="w")  # w is z here: the old, meaningless PCA of z
    with pytest.raises(ValueError):
        pca_directions(G, n_samples=1)
    style = create_generator("stylegan2", **get_spec("stylegan2").tiny)
    with pytest.raises(ValueError, match="no layer"):
        pca_directions(style, space="z")
    assert style.training


@pytest.mark.parametrize("name", list_models())
def test_pca_directions_for_every_family(name, tiny_models):
    G, _ = tiny_models(name)
    if G.capabilities().code_grid:  # discrete codes (VQ-VAE): refused in one line, naming the reason
        for find in (lambda: pca_directions(G, n_samples=300, k=5), lambda: sefa_directions(G, k=5)):
            with pytest.raises(ValueError, match="grid of discrete codes"):
                find()
        return
    dim = G.w_dim if G.capabilities().style_layers else G.z_dim
    for c in [None, torch.eye(G.c_dim)[-1]] if G.c_dim else [None]:
        d, var = pca_directions(G, n_samples=300, k=5, c=c)
        assert 1 <= len(d) <= 5 and d.shape[1] == dim and var.shape == (len(d),), d.shape
        assert _unit_rows(d) and torch.isfinite(var).all() and (var > 0).all()
        if G.latent_layer:
            assert not G.latent_module()._forward_hooks


def test_pca_in_z_of_biggan_carries_the_chunk_its_first_layer_reads(tiny_models):
    # BigGAN's linear reads z's first chunk only: its activations have that rank, and the directions,
    # regressed onto all of z, lie in that chunk up to sampling noise.
    G, _ = tiny_models("biggan")
    d, _ = pca_directions(G, n_samples=2000, k=20, c=torch.eye(G.c_dim)[0])
    assert d.shape == (G.chunk, G.z_dim)
    assert (d[:, G.chunk:].norm(dim=1) < 0.2).all()


def test_pca_sampling_leaves_the_model_as_it_was():
    # A forward in training mode would run spectral norm's power iteration; the hook always goes.
    torch.manual_seed(0)
    G = create_generator("sagan", **get_spec("sagan").tiny).train()
    G.blocks[0].eval()
    before = {k: v.clone() for k, v in G.state_dict().items()}
    pca_directions(G, n_samples=50, k=2)
    assert all(torch.equal(before[k], v) for k, v in G.state_dict().items())
    assert G.training and not G.blocks[0].training and G.blocks[1].training
    assert not G.latent_module()._forward_hooks
    with pytest.raises(ValueError, match="c must"):
        pca_directions(G, n_samples=50, c=torch.ones(G.c_dim + 1))
    G.synthesis = lambda ws, c=None: (_ for _ in ()).throw(RuntimeError("boom"))  # fails before the layer
    with pytest.raises(RuntimeError, match="boom"):
        pca_directions(G, n_samples=50)
    assert not G.latent_module()._forward_hooks and G.training and not G.blocks[0].training


def test_renderer_pca_directions_are_ganspace_in_z():
    from ganstudio.engine.renderer import Renderer
    r = Renderer("cpu")
    d = r.directions("registry:dcgan:tiny", "pca", k=5)
    assert d.shape == (5, 8) and _unit_rows(d)
    G = r.generator("registry:dcgan:tiny")
    assert torch.equal(d, pca_directions(G, n_samples=2000, k=5, seed=0)[0])
    # Fails for the PCA of raw z: its axes have nothing to do with G's first layer.
    assert (d[0] @ sefa_directions(G, k=1)[0][0]).abs() > 0.95


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
def test_sefa_factorizes_the_map_from_z_to_the_first_layer(name, kw, tiny_models):
    # A conditional first layer reads [z, c]: A is its z columns.  The old search took the first layer
    # with z_dim inputs anywhere (cGAN: the last, feature-to-RGB conv).  Checked by the layer's response:
    # A @ dz is how the first layer's output moves when its z input moves by dz, whatever c is.
    G, _ = tiny_models(name, **kw)
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
