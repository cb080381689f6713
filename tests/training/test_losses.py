"""Losses and regularizers: each one trains GAN Lab's 8-Gaussian ring; penalties match finite differences."""
import math

import pytest
import torch
from torch import nn

from ganstudio.training import losses as L
from ganstudio.training.ema import make_ema, update_ema

MODES = torch.tensor([[2 * math.cos(i * math.pi / 4), 2 * math.sin(i * math.pi / 4)] for i in range(8)])


def ring(n, g):
    k = torch.randint(0, 8, (n,), generator=g)
    return MODES[k] + 0.05 * torch.randn(n, 2, generator=g)


def mode_distance(x):
    """Mean distance of samples to their nearest mode of the ring."""
    return torch.cdist(x, MODES).min(1).values.mean().item()


def mlp(i, o, h=32):
    return nn.Sequential(nn.Linear(i, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(), nn.Linear(h, o))


class Critic(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = mlp(2, 1)

    def forward(self, x, c=None):
        return self.net(x).flatten()


CASES = {
    "non-saturating": dict(loss="ns"),
    "minimax": dict(loss="minimax"),
    "lsgan": dict(loss="lsgan"),
    "wgan-clip": dict(loss="wgan", clip=0.05, k=3, opt="rmsprop", lr=5e-4),
    "wgan-gp": dict(loss="wgan", gp=10.0, k=3),
    "hinge": dict(loss="hinge"),
    "ns+r1": dict(loss="ns", r1=1.0),
    "ns+dragan": dict(loss="ns", dragan=10.0),
}


def train_toy(loss, steps=200, gp=0.0, r1=0.0, dragan=0.0, clip=0.0, k=1, opt="adam", lr=1e-3):
    torch.manual_seed(0)
    G, D = mlp(4, 2), Critic()
    g = torch.Generator().manual_seed(1)

    def make(params):
        if opt == "rmsprop":
            return torch.optim.RMSprop(params, lr=lr)
        return torch.optim.Adam(params, lr=lr, betas=(0.5, 0.999))

    opt_G, opt_D = make(G.parameters()), make(D.parameters())
    z_fixed = torch.randn(2000, 4, generator=g)
    before = mode_distance(G(z_fixed).detach())
    for _ in range(steps):
        for _ in range(k):
            real, fake = ring(64, g), G(torch.randn(64, 4, generator=g)).detach()
            loss_d = L.d_loss(loss, D(real), D(fake))
            if gp:
                loss_d = loss_d + gp * L.gradient_penalty(D, real, fake, generator=g)
            if r1:
                loss_d = loss_d + r1 / 2 * L.r1_penalty(D, real)
            if dragan:
                loss_d = loss_d + dragan * L.dragan_penalty(D, real, generator=g)
            opt_D.zero_grad()
            loss_d.backward()
            opt_D.step()
            if clip:
                L.clip_weights_(D, clip)
                assert all(p.abs().max() <= clip for p in D.parameters())
        D.requires_grad_(False)
        loss_g = L.g_loss(loss, D(G(torch.randn(64, 4, generator=g))))
        opt_G.zero_grad()
        loss_g.backward()
        opt_G.step()
        D.requires_grad_(True)
    return before, mode_distance(G(z_fixed).detach())


@pytest.mark.parametrize("case", list(CASES))
def test_each_loss_moves_samples_to_the_ring(case):
    before, after = train_toy(**CASES[case])
    # G starts near the origin, ~1.8 from every mode; every loss must bring it clearly closer.
    assert after < 0.8 * before, f"{case}: mean distance to nearest mode {before:.3f} -> {after:.3f}"


def test_losses_have_their_textbook_values():
    s = torch.tensor([0.0, 2.0])
    f = torch.tensor([-1.0, 1.0])
    assert torch.allclose(L.d_loss("ns", s, f), torch.nn.functional.softplus(-s).mean() + torch.nn.functional.softplus(f).mean())
    assert torch.allclose(L.g_loss("ns", f), -torch.log(torch.sigmoid(f)).mean())
    assert torch.allclose(L.g_loss("minimax", f), torch.log(1 - torch.sigmoid(f)).mean())
    assert torch.allclose(L.d_loss("lsgan", s, f), 0.5 * ((s - 1) ** 2).mean() + 0.5 * (f ** 2).mean())
    assert torch.allclose(L.d_loss("wgan", s, f), f.mean() - s.mean())
    assert torch.allclose(L.d_loss("hinge", s, f), torch.relu(1 - s).mean() + torch.relu(1 + f).mean())
    assert torch.allclose(L.g_loss("hinge", f), -f.mean())
    # One-sided label smoothing changes only the real term.
    smooth = L.d_loss("ns", s, f, real_target=0.9)
    assert not torch.allclose(smooth, L.d_loss("ns", s, f))
    with pytest.raises(ValueError, match="unknown loss"):
        L.d_loss("bogus", s, f)


def test_weight_clipping_bounds_every_critic_weight():
    torch.manual_seed(0)
    D = Critic()
    with torch.no_grad():
        for p in D.parameters():
            p.mul_(100)
    L.clip_weights_(D, 0.01)
    for p in D.parameters():
        assert p.min() >= -0.01 and p.max() <= 0.01
    assert any((p.abs() == 0.01).any() for p in D.parameters())  # clipped, not rescaled


def _fd_grad_norms(D, x, eps=1e-6):
    """Central finite-difference gradient norm of D at every row of x (float64)."""
    norms = []
    for i in range(x.shape[0]):
        g = torch.zeros(x.shape[1:], dtype=torch.float64).flatten()
        for j in range(g.numel()):
            e = torch.zeros_like(g)
            e[j] = eps
            xp = (x[i].flatten() + e).view(1, *x.shape[1:])
            xm = (x[i].flatten() - e).view(1, *x.shape[1:])
            g[j] = (D(xp) - D(xm)).item() / (2 * eps)
        norms.append(g.norm())
    return torch.stack(norms)


def _smooth_critic():
    torch.manual_seed(3)
    D = nn.Sequential(nn.Flatten(), nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 1), nn.Flatten(0)).double()
    return D


def test_gradient_penalty_matches_finite_differences():
    D = _smooth_critic()
    g0 = torch.Generator().manual_seed(5)
    real = torch.randn(4, 1, 2, 3, generator=g0, dtype=torch.float64)
    fake = torch.randn(4, 1, 2, 3, generator=g0, dtype=torch.float64)
    gp = L.gradient_penalty(D, real, fake, generator=torch.Generator().manual_seed(7))
    alpha = torch.rand(4, generator=torch.Generator().manual_seed(7)).double().view(-1, 1, 1, 1)
    x_hat = real + alpha * (fake - real)
    expected = ((_fd_grad_norms(D, x_hat) - 1) ** 2).mean()
    assert torch.allclose(gp, expected, rtol=1e-6, atol=1e-9)
    assert gp.requires_grad  # differentiable: it must train D


def test_r1_matches_finite_differences():
    D = _smooth_critic()
    real = torch.randn(3, 1, 2, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    expected = (_fd_grad_norms(D, real) ** 2).mean()
    assert torch.allclose(L.r1_penalty(D, real), expected, rtol=1e-6, atol=1e-9)


def test_ema_update_is_exact():
    torch.manual_seed(0)
    G = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    G_ema = make_ema(G)
    with torch.no_grad():
        for p in G.parameters():
            p.add_(torch.randn_like(p))
    G.train()(torch.randn(8, 3))  # move the BatchNorm statistics
    old = [p.clone() for p in G_ema.parameters()]
    update_ema(G_ema, G, 0.9)
    for e, o, p in zip(G_ema.parameters(), old, G.parameters()):
        assert torch.equal(e, 0.9 * o + (1 - 0.9) * p.detach())
    for be, b in zip(G_ema.buffers(), G.buffers()):
        assert torch.equal(be, b)
    assert not any(p.requires_grad for p in G_ema.parameters())


def test_auxiliary_losses():
    logits = torch.tensor([[5.0, -5.0], [-5.0, 5.0]])
    assert L.class_loss(logits, torch.tensor([0, 1])) < 0.01
    assert L.class_loss(logits, torch.tensor([1, 0])) > 5
    # InfoGAN: a Q that predicts the codes exactly beats one that does not.
    cat, cont = torch.tensor([1, 0]), torch.tensor([[0.5], [-0.5]])
    good = torch.tensor([[-9.0, 9.0, 0.5, -3.0], [9.0, -9.0, -0.5, -3.0]])
    bad = torch.tensor([[9.0, -9.0, -0.5, -3.0], [-9.0, 9.0, 0.5, -3.0]])
    assert L.info_loss(good, cat, cont, 2, 1) < L.info_loss(bad, cat, cont, 2, 1)
    # Gaussian NLL of the continuous code: log std + 0.5 z^2 + 0.5 log 2pi.
    out = torch.tensor([[0.0, 0.0]])
    assert torch.allclose(L.info_loss(out, None, torch.tensor([[1.0]]), 0, 1),
                          torch.tensor(0.5 + 0.5 * math.log(2 * math.pi)))


def test_vae_loss_terms():
    x = torch.zeros(2, 1, 2, 2)
    mu, logvar = torch.zeros(2, 3), torch.zeros(2, 3)
    loss, rec, kl = L.vae_loss(x + 1, x, mu, logvar, beta=4.0)
    assert torch.allclose(rec, torch.tensor(2.0)) and torch.allclose(kl, torch.tensor(0.0))
    loss, rec, kl = L.vae_loss(x, x, torch.ones(2, 3), logvar, beta=4.0)
    assert torch.allclose(kl, torch.tensor(1.5)) and torch.allclose(loss, torch.tensor(6.0))


def test_orthogonal_reg_is_zero_for_orthogonal_weights():
    lin = nn.Linear(4, 4, bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.linalg.qr(torch.randn(4, 4))[0])
    assert L.orthogonal_reg(nn.Sequential(lin)) < 1e-5
    with torch.no_grad():
        lin.weight.fill_(1.0)
    assert L.orthogonal_reg(nn.Sequential(lin)) > 1


class _StyleG(nn.Module):
    num_ws, w_dim = 4, 2

    def mapping(self, z, c=None):
        return z[:, None, :].repeat(1, self.num_ws, 1)


def test_style_mixing_takes_late_layers_from_the_second_latent():
    G = _StyleG()
    z1, z2 = torch.zeros(64, 2), torch.ones(64, 2)
    ws = L.style_mix(G, z1, z2, None, 1.0, generator=torch.Generator().manual_seed(0))
    src = ws[:, :, 0]  # 0 = from z1, 1 = from z2
    assert (src[:, 0] == 0).all()  # the crossover is at layer >= 1
    assert (src[:, 1:] >= src[:, :-1]).all()  # one crossover: z1's layers, then z2's
    assert (src[:, -1] == 1).all()
    cut = (src == 0).sum(1)
    assert set(cut.tolist()) == {1, 2, 3}
    none = L.style_mix(G, z1, z2, None, 0.0, generator=torch.Generator().manual_seed(0))
    assert (none == 0).all()



def test_path_lengths_match_the_analytic_jacobian():
    # img = sum over layers of ws[:, l] @ M_l: J_w^T y for layer l is M_l y, so the length is
    # sqrt(mean_l ||M_l y||^2) with y ~ N(0, I) / sqrt(H W) drawn from the same generator.
    N, Lyr, D, C, H, W = 3, 4, 5, 2, 3, 3
    g = torch.Generator().manual_seed(0)
    M = torch.randn(Lyr, D, C * H * W, generator=g, dtype=torch.float64)
    ws = torch.randn(N, Lyr, D, generator=g, dtype=torch.float64, requires_grad=True)
    img = torch.einsum("nld,ldk->nk", ws, M).reshape(N, C, H, W)
    lengths = L.path_lengths(img, ws, generator=torch.Generator().manual_seed(7))
    y = torch.randn(img.shape, generator=torch.Generator().manual_seed(7)).double() / math.sqrt(H * W)
    jty = torch.einsum("ldk,nk->nld", M, y.reshape(N, -1))
    expected = jty.square().sum(2).mean(1).sqrt()
    assert torch.allclose(lengths.double(), expected, rtol=1e-5)
    pen = L.path_length_penalty(lengths, torch.tensor(0.5))
    assert torch.allclose(pen.double(), ((expected - 0.5) ** 2).mean(), rtol=1e-5)
    # The graph is kept: through a nonlinear map the penalty has a gradient for the weights.
    M.requires_grad_(True)
    img = torch.tanh(torch.einsum("nld,ldk->nk", ws, M)).reshape(N, C, H, W)
    L.path_length_penalty(L.path_lengths(img, ws), torch.tensor(0.5)).backward()
    assert M.grad is not None and torch.isfinite(M.grad).all() and M.grad.abs().sum() > 0
