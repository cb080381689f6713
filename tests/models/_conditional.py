"""Checks every class-conditional family shares: class blending is linear in c."""
import torch

from ganstudio.models import one_hot


def check_blend_weight_one_equals_pure_class(G, k_class: int, j_class: int) -> None:
    """Weight 1 on class k renders exactly class k; a 50/50 blend differs from both pure classes."""
    z = torch.randn(2, G.z_dim)
    k, j = one_hot(torch.tensor([k_class] * 2), G.c_dim), one_hot(torch.tensor([j_class] * 2), G.c_dim)
    with torch.no_grad():
        pure_k, pure_j = G(z, k), G(z, j)
        assert torch.equal(G(z, 1.0 * k + 0.0 * j), pure_k)
        mid = G(z, 0.5 * k + 0.5 * j)
    assert not torch.equal(mid, pure_k) and not torch.equal(mid, pure_j)
