import pytest
import torch

from ganstudio.latent import class_blend, class_vector, lerp, slerp, vector_arithmetic


def test_exact_endpoints():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(5, 512, generator=g), torch.randn(5, 512, generator=g) * 3
    for f in (lerp, slerp):
        assert torch.equal(f(a, b, 0.0), a)
        assert torch.equal(f(a, b, 1.0), b)
        assert torch.equal(f(a, b, torch.tensor([0.0, 1.0, 0.0, 1.0, 0.0]))[1], b[1])
        assert torch.equal(f(a, b, torch.tensor([0.0, 1.0, 0.0, 1.0, 0.0]))[0], a[0])


def test_slerp_keeps_unit_norm_and_differs_from_lerp():
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(4, 64, generator=g), torch.randn(4, 64, generator=g)
    a, b = a / a.norm(dim=-1, keepdim=True), b / b.norm(dim=-1, keepdim=True)
    for t in (0.1, 0.3, 0.5, 0.9):
        s = slerp(a, b, t)
        assert torch.allclose(s.norm(dim=-1), torch.ones(4), atol=1e-5)
    assert lerp(a, b, 0.5).norm(dim=-1).max() < 0.95  # lerp cuts the chord; slerp stays on the sphere


def test_slerp_parallel_falls_back_to_lerp():
    a = torch.tensor([[1.0, 2.0, 3.0]])
    s = slerp(a, 2 * a, 0.5)
    assert torch.isfinite(s).all()
    assert torch.allclose(s, 1.5 * a)


def test_slerp_of_opposite_latents_stays_on_the_sphere():
    # z and -z: the lerp fallback went through the origin (|out| = 0 at t = 0.5, a blank image).
    g = torch.Generator().manual_seed(2)
    a = torch.randn(3, 128, generator=g)
    near = -a + 1e-4 * torch.randn(3, 128, generator=g)  # float32 lost this one too
    near = near / near.norm(dim=-1, keepdim=True) * a.norm(dim=-1, keepdim=True)
    for b in (-a, near):
        for t in (0.25, 0.5, 0.75):
            s = slerp(a, b, t)
            assert torch.allclose(s.norm(dim=-1), a.norm(dim=-1), rtol=1e-3)
        assert torch.equal(slerp(a, b, 0.0), a) and torch.equal(slerp(a, b, 1.0), b)
    mid = slerp(a, -a, 0.5)
    assert (mid * a).sum(-1).abs().max() < 1e-3 * a.norm(dim=-1).max() ** 2  # a quarter turn: orthogonal to a
    assert torch.equal(mid, slerp(a, -a, 0.5))  # the same path every time
    assert torch.allclose(slerp(a, -2 * a, 0.5).norm(dim=-1), 1.5 * a.norm(dim=-1))  # the norm goes linearly


def test_interpolation_shape_mismatch():
    with pytest.raises(ValueError):
        lerp(torch.zeros(3), torch.zeros(4), 0.5)
    with pytest.raises(ValueError):
        slerp(torch.zeros(2, 3), torch.zeros(3, 3), 0.5)


def test_class_vector_and_blend():
    assert torch.equal(class_vector(2, 5), torch.tensor([0.0, 0, 1, 0, 0]))
    assert torch.equal(class_blend({3: 1.0}, 10), class_vector(3, 10))
    assert torch.equal(class_blend({3: 7.0}, 10), class_vector(3, 10))  # normalized
    c = class_blend({1: 1.0, 4: 3.0}, 5)
    assert torch.allclose(c, torch.tensor([0.0, 0.25, 0, 0, 0.75]))
    assert torch.isclose(c.sum(), torch.tensor(1.0))
    assert torch.allclose(class_blend([0.0, 2.0, 2.0], 3), torch.tensor([0.0, 0.5, 0.5]))
    assert torch.allclose(class_blend(torch.tensor([1.0, 3.0]), 2, normalize=False), torch.tensor([1.0, 3.0]))
    assert c.dtype == torch.float32


@pytest.mark.parametrize("weights", [{0: -1.0, 1: 2.0}, {0: 0.0}, [0.0, 0.0, 0.0], {5: 1.0}, [1.0, 1.0],
                                     {0: float("nan")}, {"a": 1.0}])
def test_class_blend_errors(weights):
    with pytest.raises(ValueError):
        class_blend(weights, 3)


def test_class_vector_errors():
    with pytest.raises(ValueError):
        class_vector(3, 3)
    with pytest.raises(ValueError):
        class_vector(0, 0)


def test_vector_arithmetic():
    g = torch.Generator().manual_seed(2)
    A, B, C = (torch.randn(n, 6, generator=g) for n in (3, 4, 5))
    assert torch.equal(vector_arithmetic(A, A, C), C.mean(0))
    assert torch.allclose(vector_arithmetic(A, B, C), A.mean(0) - B.mean(0) + C.mean(0))
    ws = torch.randn(3, 4, 6, generator=g)
    assert vector_arithmetic(ws, ws[:1], ws[1:]).shape == (4, 6)
    with pytest.raises(ValueError):
        vector_arithmetic(A, torch.zeros(0, 6), C)
    with pytest.raises(ValueError):
        vector_arithmetic(A, torch.zeros(2, 5), C)


def test_norm_blend_keeps_the_norm_inside_a_blend_of_four_seeds():
    # The blend pad's centre: a plain weighted sum of four 100-d seeds has about half their norm.
    from ganstudio.latent import norm_blend, seeded_z
    z4 = seeded_z([1, 2, 3, 4], 100)
    w = torch.tensor([0.25, 0.25, 0.25, 0.25])
    linear = (w[:, None] * z4).sum(0)
    out = norm_blend(z4, w)
    assert linear.norm() < 0.7 * z4.norm(dim=1).mean()
    assert torch.isclose(out.norm(), z4.norm(dim=1).mean(), rtol=1e-5)
    assert torch.allclose(out / out.norm(), linear / linear.norm(), atol=1e-6)
    for k in range(4):  # a corner is that seed bitwise
        assert torch.equal(norm_blend(z4, [float(i == k) for i in range(4)]), z4[k])
    z = z4[0]
    assert torch.equal(norm_blend(torch.stack([z, -z]), [0.5, 0.5]), torch.zeros_like(z))  # no direction: as is
    with pytest.raises(ValueError):
        norm_blend(z4, [1.0, 0.0])
