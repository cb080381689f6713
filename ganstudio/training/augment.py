"""Augmenting the discriminator's inputs, for training on a few hundred or thousand images.

Two methods, both differentiable so that G's gradient passes through them:

* DiffAugment (Zhao et al. 2020): colour (brightness, saturation, contrast), translation by up to
  1/8 of the image and a cutout of half its side, on every real and every fake image D sees,
  in D's step and in G's.
* Adaptive discriminator augmentation, ADA (Karras et al. 2020): a pipeline of geometric and colour
  transforms, each applied to an image with probability p; p follows the overfitting heuristic
  r_t = E[sign(D(real))], rising while r_t is above a target (0.6) and falling below it, by a step
  that would take p from 0 to 1 in ``ada_kimg`` thousand images.

Images are NCHW in [-1, 1].  Every random draw takes an explicit generator, so a run that uses
them still resumes bit for bit.  No Qt, no I/O.
"""
from __future__ import annotations

import math
from typing import NamedTuple, Optional

import torch
import torch.nn.functional as F

AUGMENTS = ("none", "diffaugment", "ada")
DIFFAUGMENT_OPS = ("color", "translation", "cutout")
AUGMENT_HELP = {
    "none": "D sees the images as they are",
    "diffaugment": "DiffAugment (Zhao et al. 2020): the same differentiable colour/translation/cutout on reals and "
                   "fakes, in D's and G's steps",
    "ada": "adaptive discriminator augmentation (Karras et al. 2020): transforms applied with a probability p "
           "that rises while D overfits",
}


def check_policy(policy: str) -> tuple[str, ...]:
    """'color,translation' -> ('color', 'translation'); ValueError naming an unknown operation."""
    ops = tuple(op.strip() for op in policy.split(",") if op.strip())
    unknown = [op for op in ops if op not in DIFFAUGMENT_OPS]
    if unknown:
        raise ValueError(f"unknown DiffAugment operation {unknown[0]!r} in {policy!r}; "
                         f"known: {', '.join(DIFFAUGMENT_OPS)}")
    return ops


def _uniform(n: int, x: torch.Tensor, generator) -> torch.Tensor:
    return torch.rand(n, generator=generator, device=x.device).to(x.dtype)


def _normal(n: int, x: torch.Tensor, generator) -> torch.Tensor:
    return torch.randn(n, generator=generator, device=x.device).to(x.dtype)


def _per_image(v: torch.Tensor) -> torch.Tensor:
    return v.view(-1, 1, 1, 1)


# -- DiffAugment ---------------------------------------------------------------------------------

def diff_color(x: torch.Tensor, generator=None) -> torch.Tensor:
    """Brightness shifted by U(-0.5, 0.5), saturation scaled by U(0, 2), contrast by U(0.5, 1.5)."""
    n = x.shape[0]
    x = x + _per_image(_uniform(n, x, generator) - 0.5)
    grey = x.mean(dim=1, keepdim=True)
    x = (x - grey) * _per_image(_uniform(n, x, generator) * 2) + grey
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * _per_image(_uniform(n, x, generator) + 0.5) + mean


def diff_translation(x: torch.Tensor, generator=None, ratio: float = 0.125) -> torch.Tensor:
    """Each image moved by whole pixels, up to ``ratio`` of its size each way; the uncovered border is 0 (grey)."""
    n, c, h, w = x.shape
    sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-sy, sy + 1, (n, 1), generator=generator, device=x.device)
    dx = torch.randint(-sx, sx + 1, (n, 1), generator=generator, device=x.device)
    rows = torch.arange(h, device=x.device).view(1, h) - dy  # the source row of each output row
    cols = torch.arange(w, device=x.device).view(1, w) - dx
    inside = ((rows >= 0) & (rows < h)).view(n, h, 1) & ((cols >= 0) & (cols < w)).view(n, 1, w)
    index = rows.clamp(0, h - 1).view(n, h, 1) * w + cols.clamp(0, w - 1).view(n, 1, w)
    moved = x.flatten(2).gather(2, index.view(n, 1, h * w).expand(n, c, h * w)).view(n, c, h, w)
    return moved * inside.unsqueeze(1).to(x.dtype)


def diff_cutout(x: torch.Tensor, generator=None, ratio: float = 0.5) -> torch.Tensor:
    """A square of ``ratio`` of the side set to 0, centred anywhere (it may hang over the edge)."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + (1 - ch % 2), (n, 1, 1), generator=generator, device=x.device)
    cx = torch.randint(0, w + (1 - cw % 2), (n, 1, 1), generator=generator, device=x.device)
    ys = torch.arange(h, device=x.device).view(1, h, 1) - (cy - ch // 2)
    xs = torch.arange(w, device=x.device).view(1, 1, w) - (cx - cw // 2)
    hole = (ys >= 0) & (ys < ch) & (xs >= 0) & (xs < cw)
    return x * (~hole).unsqueeze(1).to(x.dtype)


_DIFF_OPS = {"color": diff_color, "translation": diff_translation, "cutout": diff_cutout}


def diff_augment(x: torch.Tensor, policy=DIFFAUGMENT_OPS, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """DiffAugment's operations in ``policy`` order (a tuple or a comma-separated string)."""
    ops = check_policy(policy) if isinstance(policy, str) else tuple(policy)
    for op in ops:
        x = _DIFF_OPS[op](x, generator)
    return x


# -- ADA's pipeline ------------------------------------------------------------------------------

def _gate(value: torch.Tensor, identity: float, p: float, generator) -> torch.Tensor:
    """``value`` where a Bernoulli(p) draw says apply, ``identity`` elsewhere (one draw per image)."""
    apply = torch.rand(value.shape[0], generator=generator, device=value.device) < p
    return torch.where(apply, value, torch.full_like(value, identity))


def _gate2(xy: torch.Tensor, p: float, generator) -> torch.Tensor:
    """[n, 2] translations kept where one Bernoulli(p) draw per image says apply, 0 elsewhere: a translation
    is one transform, applied with probability p (gating x and y apart would move an image with 1 - (1 - p)^2)."""
    apply = torch.rand(xy.shape[0], 1, generator=generator, device=xy.device) < p
    return torch.where(apply, xy, torch.zeros_like(xy))


def _eye(n: int, size: int, x: torch.Tensor) -> torch.Tensor:
    return torch.eye(size, device=x.device, dtype=torch.float32).expand(n, size, size).clone()


def _scale2d(sx: torch.Tensor, sy: torch.Tensor) -> torch.Tensor:
    m = _eye(len(sx), 3, sx)
    m[:, 0, 0], m[:, 1, 1] = sx, sy
    return m


def _translate2d(tx: torch.Tensor, ty: torch.Tensor) -> torch.Tensor:
    m = _eye(len(tx), 3, tx)
    m[:, 0, 2], m[:, 1, 2] = tx, ty
    return m


def _rotate2d(theta: torch.Tensor) -> torch.Tensor:
    m = _eye(len(theta), 3, theta)
    cos, sin = theta.cos(), theta.sin()
    m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1] = cos, -sin, sin, cos
    return m


def geometric_matrix(n: int, size: int, p: float, x: torch.Tensor, generator=None) -> torch.Tensor:
    """[n, 3, 3] maps from output to input coordinates (grid_sample's [-1, 1]), each transform gated by p.

    The paper's order and strengths: x-flip, 90-degree rotation, integer translation (1/8 of the
    image), isotropic scaling (log2 std 0.2), rotation, anisotropic scaling (log2 std 0.2), rotation
    (each rotation with 1 - sqrt(1 - p), so that some rotation happens with p), fractional translation
    (std 1/8 of the image)."""
    f32 = torch.float32
    u = lambda: torch.rand(n, generator=generator, device=x.device, dtype=f32)  # noqa: E731
    g = lambda: torch.randn(n, generator=generator, device=x.device, dtype=f32)  # noqa: E731
    m = _eye(n, 3, x)
    flip = _gate(torch.floor(u() * 2), 0.0, p, generator)
    m = m @ _scale2d(1 - 2 * flip, torch.ones_like(flip))
    quarter = _gate(torch.floor(u() * 4), 0.0, p, generator)
    m = m @ _rotate2d(quarter * (math.pi / 2))
    # Whole pixels: the normalized coordinates span 2 over ``size`` pixels.  One gate moves both axes.
    shift = _gate2(torch.round((torch.stack([u(), u()], 1) * 2 - 1) * 0.125 * size), p, generator)
    m = m @ _translate2d(shift[:, 0] * 2 / size, shift[:, 1] * 2 / size)
    iso = _gate(torch.exp2(g() * 0.2), 1.0, p, generator)
    m = m @ _scale2d(iso, iso)
    p_rot = 1 - math.sqrt(max(0.0, 1 - p))
    m = m @ _rotate2d(_gate((u() * 2 - 1) * math.pi, 0.0, p_rot, generator))
    aniso = _gate(torch.exp2(g() * 0.2), 1.0, p, generator)
    m = m @ _scale2d(aniso, 1 / aniso)
    m = m @ _rotate2d(_gate((u() * 2 - 1) * math.pi, 0.0, p_rot, generator))
    frac = _gate2(torch.stack([g(), g()], 1) * 0.125, p, generator)
    return m @ _translate2d(frac[:, 0] * 2, frac[:, 1] * 2)


class ColorParams(NamedTuple):
    """One draw of ADA's colour transforms per image (identity values where a transform is off)."""
    brightness: torch.Tensor  # added, std 0.2
    contrast: torch.Tensor  # multiplied, log2 std 0.5
    luma_flip: torch.Tensor  # 0 or 1: mirror along the luma axis
    hue: torch.Tensor  # rotation about the luma axis, U(-pi, pi)
    saturation: torch.Tensor  # scale off the luma axis, log2 std 1


def color_params(n: int, p: float, x: torch.Tensor, generator=None) -> ColorParams:
    """The draws of :func:`color_matrix`, each transform gated by p, in a fixed order."""
    f32 = torch.float32
    u = lambda: torch.rand(n, generator=generator, device=x.device, dtype=f32)  # noqa: E731
    g = lambda: torch.randn(n, generator=generator, device=x.device, dtype=f32)  # noqa: E731
    return ColorParams(_gate(g() * 0.2, 0.0, p, generator), _gate(torch.exp2(g() * 0.5), 1.0, p, generator),
                       _gate(torch.floor(u() * 2), 0.0, p, generator),
                       _gate((u() * 2 - 1) * math.pi, 0.0, p, generator), _gate(torch.exp2(g()), 1.0, p, generator))


def color_matrix(cp: ColorParams) -> torch.Tensor:
    """[n, 4, 4] on homogeneous RGB: brightness, contrast, luma flip, hue rotation, saturation, in that
    order; the luma axis is the paper's (1, 1, 1) / sqrt(3)."""
    n, dev = len(cp.brightness), cp.brightness.device
    eye = torch.eye(4, device=dev).expand(n, 4, 4)
    v = torch.tensor([1.0, 1.0, 1.0, 0.0], device=dev) / math.sqrt(3)
    vv = torch.outer(v, v).expand(n, 4, 4)
    m = eye.clone()
    m[:, :3, 3] = cp.brightness.view(n, 1)
    m = torch.diag_embed(torch.stack([cp.contrast] * 3 + [torch.ones_like(cp.contrast)], 1)) @ m
    m = (eye - 2 * vv * cp.luma_flip.view(n, 1, 1)) @ m
    cross = torch.zeros(4, 4, device=dev)  # [v]_x: the cross product with the luma axis
    cross[0, 1], cross[0, 2], cross[1, 2] = -v[2], v[1], -v[0]
    cross = cross - cross.T
    cos, sin = cp.hue.cos().view(n, 1, 1), cp.hue.sin().view(n, 1, 1)
    rgb = torch.diag(torch.tensor([1.0, 1.0, 1.0, 0.0], device=dev))
    m = (eye + sin * cross + (1 - cos) * (vv - rgb)) @ m  # Rodrigues' rotation about v
    return (vv + (eye - vv - (eye - rgb)) * cp.saturation.view(n, 1, 1) + (eye - rgb)) @ m


def ada_augment(x: torch.Tensor, p: float, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """ADA's pipeline at probability ``p``: geometry through one bilinear grid sample (reflected at the
    border), then colour (brightness and contrast only for grey images).  ``x`` unchanged at p = 0."""
    if p <= 0:
        return x
    n, c, h, w = x.shape
    geo = geometric_matrix(n, min(h, w), p, x, generator)
    grid = F.affine_grid(geo[:, :2, :].to(x.dtype), [n, c, h, w], align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    cp = color_params(n, p, x, generator)  # drawn for grey images too: the random sequence is the same
    if c == 3:
        m = color_matrix(cp).to(x.dtype)
        return (m[:, :3, :3] @ x.reshape(n, 3, h * w) + m[:, :3, 3:]).reshape(n, c, h, w)
    # Luma flip, hue and saturation need three channels.
    return (x + _per_image(cp.brightness.to(x.dtype))) * _per_image(cp.contrast.to(x.dtype))


# -- the training side ---------------------------------------------------------------------------

class Augmenter:
    """What a trainer's loss calls on every image D sees; for ADA also the p controller and its state.

    ``observe(real_scores)`` after each D step accumulates sign(D(real)); ``adjust(images)`` every
    ``interval`` D steps moves p by sign(r_t - target) * images / (kimg * 1000), kept in [0, 1]."""

    def __init__(self, kind: str = "none", policy: str = ",".join(DIFFAUGMENT_OPS), *, target: float = 0.6,
                 kimg: float = 100.0, interval: int = 4, p: float = 0.0, device="cpu"):
        if kind not in AUGMENTS:
            raise ValueError(f"unknown augment {kind!r}; known: {', '.join(AUGMENTS)}")
        self.kind, self.policy = kind, check_policy(policy)
        self.target, self.kimg, self.interval = float(target), float(kimg), int(interval)
        self.p = float(p)
        self.rt: Optional[float] = None  # the last r_t measured (None before the first adjustment)
        self.sign_sum = torch.zeros([], device=device)
        self.sign_n = torch.zeros([], device=device)

    @property
    def adaptive(self) -> bool:
        return self.kind == "ada"

    def __call__(self, x: torch.Tensor, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        if self.kind == "diffaugment":
            return diff_augment(x, self.policy, generator)
        if self.kind == "ada":
            return ada_augment(x, self.p, generator)
        return x

    def observe(self, real_scores: torch.Tensor) -> None:
        """Add D's raw outputs on (augmented) reals to the running r_t."""
        if self.adaptive:
            s = real_scores.detach().float()
            self.sign_sum += s.sign().sum()
            self.sign_n += s.numel()

    def adjust(self, images: int, mean=lambda t: t) -> None:
        """Move p after ``images`` images (the global batch times the interval); ``mean`` averages over ranks."""
        if not self.adaptive:
            return
        rt = float(mean(self.sign_sum / self.sign_n.clamp(min=1)))
        step = images / (self.kimg * 1000.0)
        self.p = min(1.0, max(0.0, self.p + math.copysign(step, rt - self.target) if rt != self.target else self.p))
        self.rt = rt
        self.sign_sum.zero_()
        self.sign_n.zero_()

    def state(self) -> dict:
        """What a checkpoint keeps (JSON): p, the last r_t and the partial window."""
        return {"kind": self.kind, "p": self.p, "rt": self.rt, "sign_sum": float(self.sign_sum),
                "sign_n": float(self.sign_n)}

    def load_state(self, state: Optional[dict]) -> None:
        if not state:
            return  # a run written before augmentation existed (or without it): p starts at 0
        self.p = float(state.get("p", 0.0))
        self.rt = state.get("rt")
        self.sign_sum.fill_(float(state.get("sign_sum", 0.0)))
        self.sign_n.fill_(float(state.get("sign_n", 0.0)))


def make_augmenter(cfg, has_D: bool, device="cpu") -> Augmenter:
    """The augmenter a TrainConfig asks for; refuses augmentation on a model without a discriminator."""
    if cfg.augment != "none" and not has_D:
        raise ValueError(f"augment={cfg.augment} augments a discriminator's inputs; {cfg.model} has no discriminator")
    return Augmenter(cfg.augment, cfg.diffaugment, target=cfg.ada_target, kimg=cfg.ada_kimg,
                     interval=cfg.ada_interval, device=device)
