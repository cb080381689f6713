"""The 2-D playground (GAN Lab's lesson): an MLP GAN learning a distribution of points in the plane.

G maps a 2-D Gaussian z to a point, D maps a point to one score.  :class:`Playground` owns both
networks, their optimizers and the data; :meth:`Playground.step` makes one update (D then G) and
:meth:`Playground.frame` returns what the window draws: the real points, the generated points of a
fixed z, D's output over a grid of the plane and the descent direction of G's loss on each generated
point.  Loss and learning rates may change between any two steps; nothing here knows about Qt.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import NamedTuple, Optional, Sequence

import torch
from torch import nn

from ganstudio.training import losses

DISTRIBUTIONS = ("ring", "grid", "spiral", "moons", "drawn")
DISTRIBUTION_NAMES = {"ring": "ring of 8 Gaussians", "grid": "grid of 5 x 5 Gaussians", "spiral": "spiral",
                      "moons": "two moons", "drawn": "drawn by hand"}
# The playground's losses -> (the adversarial loss of training/losses.py, with a gradient penalty?)
LOSSES = {"ns": ("ns", False), "minimax": ("minimax", False), "wgan-gp": ("wgan", True),
          "hinge": ("hinge", False), "lsgan": ("lsgan", False)}
LOSS_NAMES = {"ns": "non-saturating", "minimax": "minimax", "wgan-gp": "WGAN-GP", "hinge": "hinge",
              "lsgan": "least squares"}
BOUNDS = (-2.5, 2.5)  # the plotted square; every built-in distribution lies well inside it
MAX_DRAWN = 5000  # points a user may draw (a drag adds one per mouse move)
DRAWN_JITTER = 0.04  # a drawn point is a small Gaussian, so the real set is not a few exact atoms
GP_WEIGHT = 1.0  # WGAN-GP's lambda; 10 (the paper's, for images) over-smooths a 2-D critic of this size


@dataclass(frozen=True)
class PlaygroundConfig:
    distribution: str = "ring"
    loss: str = "ns"
    lr_g: float = 1e-3  # Adam, betas (0.5, 0.9) for both networks
    lr_d: float = 1e-3
    batch: int = 256  # real and fake points per update
    hidden: int = 64  # width of every hidden layer
    layers: int = 3  # hidden layers of G and of D
    seed: int = 0
    n_shown: int = 512  # real and generated points drawn per frame


class StepStats(NamedTuple):
    step: int
    d_loss: float
    g_loss: float


class Frame(NamedTuple):
    """What the window draws after a step (numpy-free tensors on the CPU)."""
    real: torch.Tensor  # [n, 2]
    fake: torch.Tensor  # [n, 2] generated from the playground's fixed z
    heat: torch.Tensor  # [res, res] D's output on a grid over BOUNDS; row = y, column = x
    heat_levels: tuple[float, float]  # (0, 1) for D's probability (ns, minimax); else the grid's range
    grad: torch.Tensor  # [n, 2] minus G's loss gradient at each fake point: where G pushes it


def check_config(cfg: PlaygroundConfig) -> PlaygroundConfig:
    if cfg.distribution not in DISTRIBUTIONS:
        raise ValueError(f"unknown distribution {cfg.distribution!r}; known: {', '.join(DISTRIBUTIONS)}")
    if cfg.loss not in LOSSES:
        raise ValueError(f"unknown playground loss {cfg.loss!r}; known: {', '.join(LOSSES)}")
    for name in ("lr_g", "lr_d"):
        v = getattr(cfg, name)
        if not (isinstance(v, (int, float)) and math.isfinite(v) and 0 < v <= 1):
            raise ValueError(f"{name} must be a number in (0, 1], got {v!r}")
    if not (2 <= cfg.batch <= 8192 and 1 <= cfg.hidden <= 1024 and 1 <= cfg.layers <= 8 and 1 <= cfg.n_shown <= 8192):
        raise ValueError("batch must be in [2, 8192], hidden in [1, 1024], layers in [1, 8], n_shown in [1, 8192]")
    if not 0 <= cfg.seed < 2 ** 63:
        raise ValueError(f"seed must be a non-negative integer, got {cfg.seed!r}")
    return cfg


def check_points(points) -> torch.Tensor:
    """A user's points as a float tensor [n, 2]; raises ValueError naming what is wrong."""
    pts = torch.as_tensor(points, dtype=torch.float32)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"drawn points must be a list of (x, y) pairs, got shape {list(pts.shape)}")
    if len(pts) > MAX_DRAWN:
        raise ValueError(f"at most {MAX_DRAWN} drawn points, got {len(pts)}")
    if not torch.isfinite(pts).all():
        raise ValueError("drawn points must be finite numbers")
    return pts


def sample_distribution(name: str, n: int, generator: torch.Generator,
                        points: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``n`` points [n, 2] of the named distribution; ``drawn`` needs ``points`` (at least one)."""
    g = generator
    if name == "ring":  # 8 Gaussians on a circle (Metz et al. 2017's unrolled-GAN toy)
        k = torch.randint(0, 8, (n,), generator=g).float()
        angle = k * (2 * math.pi / 8)
        centers = torch.stack([torch.cos(angle), torch.sin(angle)], 1) * 1.6
        return centers + 0.06 * torch.randn(n, 2, generator=g)
    if name == "grid":  # 25 Gaussians at (-1.6 .. 1.6)^2
        idx = torch.randint(0, 5, (n, 2), generator=g).float()
        return (idx - 2) * 0.8 + 0.05 * torch.randn(n, 2, generator=g)
    if name == "spiral":  # one arm, radius growing with the angle
        t = torch.rand(n, generator=g).sqrt()
        angle = t * 3 * math.pi
        r = 0.2 + 1.7 * t
        pts = torch.stack([r * torch.cos(angle), r * torch.sin(angle)], 1)
        return pts + 0.05 * torch.randn(n, 2, generator=g)
    if name == "moons":  # two interleaved half circles, centred on the origin
        upper = torch.rand(n, generator=g) < 0.5
        angle = torch.rand(n, generator=g) * math.pi
        x = torch.where(upper, torch.cos(angle), 1 - torch.cos(angle)) - 0.5
        y = torch.where(upper, torch.sin(angle), 0.5 - torch.sin(angle)) - 0.25
        return torch.stack([x, y], 1) * 1.1 + 0.06 * torch.randn(n, 2, generator=g)
    if name == "drawn":
        if points is None or len(points) == 0:
            raise ValueError("the drawn distribution has no points yet: click or drag on the plot to add some")
        pts = check_points(points)
        pick = torch.randint(0, len(pts), (n,), generator=g)
        return pts[pick] + DRAWN_JITTER * torch.randn(n, 2, generator=g)
    raise ValueError(f"unknown distribution {name!r}; known: {', '.join(DISTRIBUTIONS)}")


def mlp(n_in: int, n_out: int, hidden: int, layers: int) -> nn.Sequential:
    """``layers`` hidden layers of ``hidden`` units with LeakyReLU(0.2), then a linear output."""
    mods: list[nn.Module] = []
    width = n_in
    for _ in range(layers):
        mods += [nn.Linear(width, hidden), nn.LeakyReLU(0.2)]
        width = hidden
    mods.append(nn.Linear(width, n_out))
    return nn.Sequential(*mods)


class Playground:
    """An MLP GAN on a 2-D distribution, stepped one update at a time."""

    def __init__(self, config: PlaygroundConfig = PlaygroundConfig(), drawn: Sequence = ()):
        self.config = check_config(config)
        self.drawn = check_points(drawn) if len(drawn) else torch.zeros(0, 2)
        self.history: list[StepStats] = []
        self.reset()

    # -- setup -------------------------------------------------------------------------------------
    def reset(self, seed: Optional[int] = None) -> None:
        """New networks, optimizers and fixed z from ``seed`` (default: the config's); the history is cleared."""
        if seed is not None:
            self.config = check_config(replace(self.config, seed=int(seed)))
        cfg = self.config
        torch.manual_seed(cfg.seed)
        self.G = mlp(2, 2, cfg.hidden, cfg.layers)
        self.D = mlp(2, 1, cfg.hidden, cfg.layers)
        # fused: one kernel per step for all the weights, ~3x faster than foreach on these tiny networks
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=cfg.lr_g, betas=(0.5, 0.9), fused=True)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=cfg.lr_d, betas=(0.5, 0.9), fused=True)
        self.rng = torch.Generator().manual_seed(cfg.seed)
        self.z_shown = torch.randn(cfg.n_shown, 2, generator=self.rng)
        self.history = []
        self._resample_shown()

    def _resample_shown(self) -> None:
        if self.config.distribution == "drawn" and len(self.drawn) == 0:
            self.real_shown = torch.zeros(0, 2)
        else:
            shown = torch.Generator().manual_seed(self.config.seed + 1)
            self.real_shown = sample_distribution(self.config.distribution, self.config.n_shown, shown, self.drawn)

    def set_distribution(self, name: str) -> None:
        """Train on another distribution from the next step on (the networks are kept)."""
        self.config = check_config(replace(self.config, distribution=name))
        self._resample_shown()

    def set_drawn(self, points: Sequence) -> None:
        """Replace the user-drawn set (an empty list clears it)."""
        self.drawn = check_points(points) if len(points) else torch.zeros(0, 2)
        if self.config.distribution == "drawn":
            self._resample_shown()

    def add_drawn(self, x: float, y: float) -> None:
        self.set_drawn(torch.cat([self.drawn, torch.tensor([[float(x), float(y)]])]))

    def set_loss(self, loss: str) -> None:
        """Switch the loss; the optimizers' state is kept (the next step uses the new loss)."""
        self.config = check_config(replace(self.config, loss=loss))

    def set_lr(self, lr_g: Optional[float] = None, lr_d: Optional[float] = None) -> None:
        cfg = check_config(replace(self.config, lr_g=self.config.lr_g if lr_g is None else float(lr_g),
                                   lr_d=self.config.lr_d if lr_d is None else float(lr_d)))
        self.config = cfg
        for opt, lr in ((self.opt_g, cfg.lr_g), (self.opt_d, cfg.lr_d)):
            for group in opt.param_groups:
                group["lr"] = lr

    @property
    def ready(self) -> bool:
        """False while the drawn distribution is chosen and has no points (step() would refuse)."""
        return not (self.config.distribution == "drawn" and len(self.drawn) == 0)

    # -- training ----------------------------------------------------------------------------------
    def step(self) -> StepStats:
        """One update of D, then one of G, on a fresh batch; returns the losses."""
        cfg = self.config
        kind, penalty = LOSSES[cfg.loss]
        real = sample_distribution(cfg.distribution, cfg.batch, self.rng, self.drawn)
        z = torch.randn(cfg.batch, 2, generator=self.rng)
        fake = self.G(z)
        d_real, d_fake = self.D(torch.cat([real, fake.detach()])).split([len(real), len(fake)])  # one D call
        d_loss = losses.d_loss(kind, d_real, d_fake)
        if penalty:
            d_loss = d_loss + GP_WEIGHT * losses.gradient_penalty(self.D, real, fake, generator=self.rng)
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()
        g_loss = losses.g_loss(kind, self.D(fake))
        g_params = list(self.G.parameters())
        for p, grad in zip(g_params, torch.autograd.grad(g_loss, g_params)):  # no gradient for D's weights
            p.grad = grad
        self.opt_g.step()
        stats = StepStats(len(self.history) + 1, float(d_loss.detach()), float(g_loss.detach()))
        self.history.append(stats)
        return stats

    def frame(self, res: int = 64) -> Frame:
        """The real and generated points, D's output on a ``res`` x ``res`` grid, G's push on each fake point."""
        kind, _ = LOSSES[self.config.loss]
        with torch.no_grad():
            ticks = torch.linspace(BOUNDS[0], BOUNDS[1], res)
            yy, xx = torch.meshgrid(ticks, ticks, indexing="ij")
            heat = self.D(torch.stack([xx.reshape(-1), yy.reshape(-1)], 1)).reshape(res, res)
            fake = self.G(self.z_shown)
        if kind in ("ns", "minimax"):
            heat, levels = torch.sigmoid(heat), (0.0, 1.0)
        else:
            lo, hi = float(heat.min()), float(heat.max())
            levels = (lo, hi if hi > lo else lo + 1e-6)
        x = fake.clone().requires_grad_(True)
        # The sum, not the mean: each point's own gradient, independent of how many are shown.
        loss = losses.g_loss(kind, self.D(x)) * len(x)
        (grad,) = torch.autograd.grad(loss, x)
        return Frame(self.real_shown, fake, heat, levels, -grad)


def nearest_distance(points: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean distance from each of ``points`` to its nearest neighbour among ``targets``."""
    return torch.cdist(points, targets).min(1).values.mean()
