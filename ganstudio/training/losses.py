"""GAN losses and regularizers, as plain functions of scores and networks.

Adversarial losses take D's raw outputs (logits for the probabilistic losses, critic values
for WGAN) and return scalars to *minimize*.  Regularizers return the unweighted penalty;
the caller multiplies by its weight.  Every random draw takes an explicit ``generator`` so
that a training run is reproducible and resumable bit for bit.
"""
from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

LOSSES = ("ns", "minimax", "lsgan", "wgan", "hinge", "ebgan", "began")
ENERGY_LOSSES = ("ebgan", "began")  # D's scores are energies: an autoencoder's reconstruction error
SMOOTHABLE_LOSSES = ("ns", "minimax", "lsgan")  # the losses with a real target for label smoothing to lower
LOSS_HELP = {
    "ns": "non-saturating GAN loss (Goodfellow et al. 2014, sec. 3): G maximizes log D(G(z))",
    "minimax": "the saturating minimax loss: G minimizes log(1 - D(G(z)))",
    "lsgan": "least squares (Mao et al. 2017), targets a=0 (fake), b=1 (real), c=1 (G)",
    "wgan": "Wasserstein critic loss (Arjovsky et al. 2017); pair with weight clipping or a gradient penalty",
    "hinge": "hinge loss (Lim & Ye 2017; Miyato et al. 2018)",
    "ebgan": "energy-based (Zhao et al. 2017): D minimizes D(x) + max(0, m - D(G(z))), G minimizes D(G(z))",
    "began": "boundary equilibrium (Berthelot et al. 2017): D minimizes L(x) - k_t L(G(z)), G minimizes L(G(z))",
}


def check_loss(kind: str) -> str:
    if kind not in LOSSES:
        raise ValueError(f"unknown loss {kind!r}; known: {', '.join(LOSSES)}")
    return kind


def d_loss(kind: str, real_scores: torch.Tensor, fake_scores: torch.Tensor, real_target: float = 1.0, *,
           margin: float = 1.0, k=0.0) -> torch.Tensor:
    """D's adversarial loss; ``real_target`` < 1 is one-sided label smoothing (ns, minimax, lsgan).

    For the energy losses the scores are energies: ``margin`` is EBGAN's m, ``k`` BEGAN's k_t."""
    real_scores, fake_scores = real_scores.float(), fake_scores.float()
    if kind in ("ns", "minimax"):
        # D is the same binary classifier in both; only G's objective differs.
        real = F.binary_cross_entropy_with_logits(real_scores, torch.full_like(real_scores, real_target))
        return real + F.softplus(fake_scores).mean()
    if kind == "lsgan":
        return 0.5 * ((real_scores - real_target) ** 2).mean() + 0.5 * (fake_scores ** 2).mean()
    if kind == "wgan":
        return fake_scores.mean() - real_scores.mean()
    if kind == "hinge":
        return F.relu(1.0 - real_scores).mean() + F.relu(1.0 + fake_scores).mean()
    if kind == "ebgan":
        return real_scores.mean() + F.relu(margin - fake_scores).mean()
    if kind == "began":
        return real_scores.mean() - k * fake_scores.mean()
    check_loss(kind)
    raise AssertionError


def g_loss(kind: str, fake_scores: torch.Tensor) -> torch.Tensor:
    """G's adversarial loss on D's scores of generated images."""
    fake_scores = fake_scores.float()
    if kind == "ns":
        return F.softplus(-fake_scores).mean()  # -log sigmoid(D(G(z)))
    if kind == "minimax":
        return -F.softplus(fake_scores).mean()  # log(1 - sigmoid(D(G(z)))) = -softplus(D(G(z)))
    if kind == "lsgan":
        return 0.5 * ((fake_scores - 1.0) ** 2).mean()
    if kind in ("wgan", "hinge"):
        return -fake_scores.mean()
    if kind in ENERGY_LOSSES:
        return fake_scores.mean()  # G lowers the energy of its samples
    check_loss(kind)
    raise AssertionError


def pulling_away(codes: torch.Tensor) -> torch.Tensor:
    """EBGAN's pulling-away term (Zhao et al. 2017, eq. 6): the mean squared cosine similarity of every
    pair of distinct codes in the batch; 0 for orthogonal codes, 1 for equal ones (unweighted)."""
    n = codes.shape[0]
    if n < 2:
        return codes.new_zeros((), dtype=torch.float32)
    s = F.normalize(codes.float().flatten(1), dim=1)
    sim = (s @ s.T).square()
    return (sim.sum() - sim.diagonal().sum()) / (n * (n - 1))


def began_k_update(k: torch.Tensor, loss_real: torch.Tensor, loss_fake: torch.Tensor, gamma: float,
                   lambda_k: float) -> torch.Tensor:
    """BEGAN's proportional control (Berthelot et al. 2017, eq. 4): k + lambda_k (gamma L(x) - L(G(z))) in [0, 1]."""
    return (k + lambda_k * (gamma * loss_real.detach().float() - loss_fake.detach().float())).clamp(0.0, 1.0)


def began_convergence(loss_real: torch.Tensor, loss_fake: torch.Tensor, gamma: float) -> torch.Tensor:
    """BEGAN's convergence measure M_global = L(x) + |gamma L(x) - L(G(z))| (sec. 3.4.1)."""
    loss_real, loss_fake = loss_real.detach().float(), loss_fake.detach().float()
    return loss_real + (gamma * loss_real - loss_fake).abs()


# -- regularizers ------------------------------------------------------------------------------

def _scores(D, x: torch.Tensor, c: Optional[torch.Tensor]) -> torch.Tensor:
    return D(x) if c is None else D(x, c)


def _grad_norm(D, x: torch.Tensor, c: Optional[torch.Tensor]) -> torch.Tensor:
    x = x.detach().requires_grad_(True)
    scores = _scores(D, x, c)
    (grad,) = torch.autograd.grad(scores.sum(), x, create_graph=True)
    if grad.dtype in (torch.float16, torch.bfloat16):
        grad = grad.float()  # norms of half-precision gradients lose too much
    return grad.flatten(1).norm(2, dim=1)


def gradient_penalty(D, real: torch.Tensor, fake: torch.Tensor, c: Optional[torch.Tensor] = None, *,
                     generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al. 2017): E[(||grad D(x_hat)|| - 1)^2] at random interpolates x_hat."""
    alpha = torch.rand(real.shape[0], generator=generator, device=real.device).to(real.dtype)
    alpha = alpha.reshape([-1] + [1] * (real.ndim - 1))
    x_hat = real.detach() + alpha * (fake.detach() - real.detach())
    return ((_grad_norm(D, x_hat, c) - 1.0) ** 2).mean()


def r1_penalty(D, real: torch.Tensor, c: Optional[torch.Tensor] = None) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): E[||grad D(x)||^2] on real data; weight it by gamma / 2."""
    return (_grad_norm(D, real, c) ** 2).mean()


# Karras et al. 2020, B: the running mean path length a decays by 0.01 per regularization step,
# and the regularization pass uses half the minibatch.
PL_DECAY = 0.01
PL_BATCH_SHRINK = 2


def path_lengths(img: torch.Tensor, ws: torch.Tensor, *, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Per-sample ||J_w^T y||_2 with y ~ N(0, I) / sqrt(H W) (Karras et al. 2020, eq. 4), keeping the graph.

    The gradient is taken with respect to ws [N, L, w_dim] (the output of the mapping network,
    mixed or not); the squared norm is summed over w_dim and averaged over the L layers.
    """
    y = torch.randn(img.shape, generator=generator, device=img.device).to(img.dtype)
    y = y / math.sqrt(img.shape[2] * img.shape[3])
    (grad,) = torch.autograd.grad((img * y).sum(), ws, create_graph=True)
    return grad.float().square().sum(2).mean(1).sqrt()


def path_length_penalty(lengths: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """E[(||J_w^T y|| - a)^2]: lengths from path_lengths, a the running mean (a constant here)."""
    return (lengths - target.detach()).square().mean()


def dragan_penalty(D, real: torch.Tensor, c: Optional[torch.Tensor] = None, *, perturb: float = 0.5,
                   generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """DRAGAN (Kodali et al. 2017): the gradient penalty around perturbed real data.

    x_p = x + perturb * std(x) * U[0, 1); the penalty is taken at random points between x and x_p.
    """
    real = real.detach()
    noise = torch.rand(real.shape, generator=generator, device=real.device).to(real.dtype)
    x_p = real + perturb * real.std() * noise
    alpha = torch.rand(real.shape[0], generator=generator, device=real.device).to(real.dtype)
    alpha = alpha.reshape([-1] + [1] * (real.ndim - 1))
    x_hat = real + alpha * (x_p - real)
    return ((_grad_norm(D, x_hat, c) - 1.0) ** 2).mean()


def drift_penalty(real_scores: torch.Tensor) -> torch.Tensor:
    """ProGAN's epsilon-drift term E[D(x)^2] that keeps critic values near zero (Karras et al. 2018, A.1)."""
    return (real_scores.float() ** 2).mean()


@torch.no_grad()
def clip_weights_(D: nn.Module, c: float) -> None:
    """WGAN weight clipping: every parameter of the critic into [-c, c] (Arjovsky et al. 2017, Alg. 1)."""
    for p in D.parameters():
        p.clamp_(-c, c)


# -- auxiliary losses ---------------------------------------------------------------------------

def class_loss(class_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """ACGAN's auxiliary classifier loss (Odena et al. 2017): cross-entropy on the class logits."""
    return F.cross_entropy(class_logits.float(), labels.long())


def info_loss(code_out: torch.Tensor, cat: Optional[torch.Tensor], cont: Optional[torch.Tensor],
              info_cat: int, info_cont: int, cont_weight: float = 1.0) -> torch.Tensor:
    """InfoGAN's mutual-information lower bound, as a loss (Chen et al. 2016, eq. 5).

    ``code_out`` holds ``info_cat`` categorical logits, then the mean and the log-std of each of
    the ``info_cont`` continuous codes (a factored Gaussian Q(c|x)); ``cat`` are the sampled
    category indices, ``cont`` the sampled continuous codes.  Constants of the entropy H(c) are
    dropped, so the value is the negative log-likelihood of the codes under Q.
    """
    code_out = code_out.float()
    loss = code_out.new_zeros(())
    if info_cat:
        loss = loss + F.cross_entropy(code_out[:, :info_cat], cat.long())
    if info_cont:
        mean = code_out[:, info_cat:info_cat + info_cont]
        log_std = code_out[:, info_cat + info_cont:info_cat + 2 * info_cont].clamp(-5.0, 5.0)
        nll = log_std + 0.5 * ((cont.float() - mean) * torch.exp(-log_std)) ** 2 + 0.5 * math.log(2 * math.pi)
        loss = loss + cont_weight * nll.sum(dim=1).mean()
    return loss


def vae_loss(recon: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
             beta: float = 1.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Negative ELBO per image (Kingma & Welling 2014), with beta weighting the KL term (Higgins et al. 2017).

    The decoder is a Gaussian with unit variance, so the reconstruction term is half the summed
    squared error.  Returns (loss, reconstruction term, KL term).
    """
    n = x.shape[0]
    recon_term = 0.5 * F.mse_loss(recon.float(), x.float(), reduction="sum") / n
    kl = -0.5 * torch.sum(1.0 + logvar.float() - mu.float() ** 2 - logvar.float().exp()) / n
    return recon_term + beta * kl, recon_term, kl


def orthogonal_reg(G: nn.Module) -> torch.Tensor:
    """BigGAN's orthogonal regularization ||W^T W * (1 - I)||_F^2, summed over G's weights (unweighted).

    The BigGAN family's own ``ortho_reg`` (with its list of exempt layers), at weight 1.
    """
    from ganstudio.models.biggan import ortho_reg
    return ortho_reg(G, 1.0)


def style_mix(G, z: torch.Tensor, z2: torch.Tensor, c: Optional[torch.Tensor], prob: float, *,
              generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """StyleGAN's mixing regularization: ws from z, with layers from a crossover point on taken from z2.

    Each sample mixes with probability ``prob``; the crossover layer is drawn uniformly in
    [1, num_ws) (Karras et al. 2019, sec. 3.1).
    """
    ws = G.mapping(z, c)
    if prob <= 0 or G.num_ws < 2:
        return ws
    n = ws.shape[0]
    cutoff = torch.randint(1, G.num_ws, (n,), generator=generator)
    use = torch.rand(n, generator=generator) < prob
    cutoff = torch.where(use, cutoff, torch.full_like(cutoff, G.num_ws)).to(ws.device)
    ws2 = G.mapping(z2, c)
    layer = torch.arange(G.num_ws, device=ws.device)[None, :, None]
    return torch.where(layer < cutoff[:, None, None], ws, ws2)
