"""Projection: find the latent whose image best matches a target image (no Qt, pure torch).

Written from the StyleGAN2 paper's description of its projector (Karras et al. 2020, sec. 5 and
appendix D), not from NVIDIA's code:

- start at the mean latent: w_avg for style models (the mean of the class's w for conditional
  ones), for z-only models the best of z = 0 and a few random z; or, given an image -> w+ encoder
  (engine/inversion_encoder.py, in-domain inversion), at the better of its guess and the mean;
- Gaussian noise added to the latent, ``noise_start`` x (spread of the latents), ramped down
  quadratically to zero over the first ``noise_ramp`` of the steps, so early steps explore;
- Adam with a learning rate ramped up (linearly over ``lr_rampup``) and down (cosine over the
  last ``lr_rampdown``);
- StyleGAN2 only, optional (``optimize_noise``): the per-layer noise maps are optimized too,
  with the paper's multi-scale autocorrelation penalty and renormalised after every step.

The loss works offline: pixel MSE on an image pyramid, plus (``feature_weight`` > 0, grey
1-channel models) the distance between the shipped Fashion-MNIST classifier's activations of
the two images, our stand-in for the paper's LPIPS/VGG term whose weights cannot be fetched.
Spaces: "z" for every family; "w" (one vector for every layer) and "w+" (one per layer) for
models with a mapping network and several style layers (``capabilities().style_layers``).
"""
from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

SPACES = ("z", "w", "w+")
# The feature weight the command line and the panel use on grey models.  Measured on fmnist-stylegan2 (w+,
# 300 steps, Fashion-MNIST test images 8-11): about the same PSNR (23.9 -> 24.3 dB), a 6x smaller
# classifier-feature distance (10.1 -> 1.6), and the reconstruction keeps the target's class 4/4 times
# instead of 2/4, for ~25 % more CPU per step.  At 1.0 the PSNR drops (24.1 -> 22.7 dB on 8 images).
GREY_FEATURES = 0.1
MAX_CLASS_TRIALS = 5  # classes optimised briefly when the class is estimated (the best by start loss)


class ProjectionError(ValueError):
    """A projection that cannot run (space, class, target); the message is one line."""


@dataclass(frozen=True)
class ProjectionSettings:
    steps: int = 300  # project()'s steps argument replaces it
    lr: float = 0.1  # Adam's peak learning rate (the paper's 0.1)
    lr_rampup: float = 0.05  # fraction of the steps over which the rate rises linearly
    lr_rampdown: float = 0.25  # fraction at the end over which it falls along a cosine
    noise_start: float = 0.05  # latent noise at step 0, in units of the latents' spread
    noise_ramp: float = 0.75  # fraction of the steps after which no noise is added
    feature_weight: float = 0.0  # weight of the classifier-feature term (1-channel models only)
    pyramid: int = 3  # pixel MSE at full, 1/2, 1/4... resolution
    optimize_noise: bool = False  # StyleGAN2: also optimise the noise maps
    noise_reg: float = 1e5  # weight of the noise maps' autocorrelation penalty (the paper's alpha)
    seed: int = 0  # the start's random z and the latent noise


@dataclass
class ProjectionResult:
    space: str
    latent: torch.Tensor  # z [z_dim] (space z) or ws [num_ws, w_dim] (w, w+): what reproduces the image
    ws: torch.Tensor  # [num_ws, w_dim]: the synthesis input
    class_idx: Optional[int]  # None for unconditional models
    image: torch.Tensor  # [C, H, W] in [-1, 1], rendered from the result without latent noise
    loss: float
    psnr: float  # of image against the target, in dB (pixels in [-1, 1] mapped to [0, 1])
    steps_done: int
    cancelled: bool = False
    noise_maps: Optional[list] = None  # optimised noise maps [1, 1, r, r] (optimize_noise only)
    losses: list = field(default_factory=list)
    start: str = "mean"  # where the optimisation started: "mean" (latent) or "encoder" (its guess)
    start_psnr: float = 0.0  # of the start's image against the target, in dB


def available_spaces(G) -> tuple[str, ...]:
    """The spaces ``G`` can be projected into, from its capabilities."""
    caps = G.capabilities()
    if getattr(caps, "code_grid", ()):
        return ()  # a VQ code grid: the latents are discrete indices, no gradient reaches them
    return SPACES if caps.style_layers and G.num_ws > 1 else ("z",)


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR in dB of two images in [-1, 1] (peak 2: the same as 1 on the [0, 1] scale)."""
    mse = float(((a.detach().float() - b.detach().float()) ** 2).mean())
    return float("inf") if mse == 0 else 10 * math.log10(4.0 / mse)


def target_tensor(target, resolution: int, channels: int) -> torch.Tensor:
    """A target as float [1, C, H, W] in [-1, 1]: a path (any size or mode: centre-cropped and resized as
    the encoder panel does), uint8 pixels [H, W, C], or a tensor already in [-1, 1]."""
    from ganstudio.engine.encoding import image_tensor, load_image
    if isinstance(target, (str,)) or hasattr(target, "__fspath__"):
        target = load_image(str(target), resolution, channels)
    if isinstance(target, np.ndarray):
        if target.dtype != np.uint8 or target.ndim != 3:
            raise ProjectionError(f"target pixels must be uint8 [H, W, C], got {target.dtype} {list(target.shape)}")
        target = image_tensor(target)
    t = torch.as_tensor(target).detach().float()
    t = t[None] if t.ndim == 3 else t
    if t.ndim != 4 or tuple(t.shape[1:]) != (channels, resolution, resolution):
        raise ProjectionError(f"target must be an image [{channels}, {resolution}, {resolution}], "
                              f"got {list(t.shape)}")
    if not torch.isfinite(t).all():
        raise ProjectionError("target holds NaN or infinite values")
    return t.clamp(-1, 1)


# -- the loss ------------------------------------------------------------------------------------

class ProjectionLoss:
    """Pixel MSE on a pyramid plus, optionally, the classifier's activations (trunk blocks and features)."""

    def __init__(self, target: torch.Tensor, settings: ProjectionSettings, classifier=None):
        self.levels = max(1, int(settings.pyramid))
        self.weight = float(settings.feature_weight) if classifier is not None else 0.0
        self.net = classifier
        self.target_pyr = self._pyramid(target)
        self.target_feats = self._features(target) if self.weight else None

    def _pyramid(self, x: torch.Tensor) -> list:
        out = [x]
        for _ in range(self.levels - 1):
            if x.shape[-1] < 8:
                break
            x = F.avg_pool2d(x, 2)
            out.append(x)
        return out

    def _features(self, x: torch.Tensor) -> list:
        # The classifier reads 32x32 grey; activations are unit-normalised per position (as LPIPS does).
        x = F.interpolate(x, size=(32, 32), mode="bilinear", align_corners=False, antialias=x.shape[-1] > 32)
        feats = []
        for layer in self.net.trunk:
            x = layer(x)
            if isinstance(layer, torch.nn.ReLU):
                feats.append(x / (x.norm(dim=1, keepdim=True) + 1e-8))
        feats.append(self.net.fc_features(self.net.pool(x).flatten(1)) / 10.0)
        return feats

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        """[N, C, H, W] -> per-image loss [N]."""
        loss = sum(((a - b) ** 2).flatten(1).mean(1) for a, b in zip(self._pyramid(img), self.target_pyr))
        loss = loss / len(self.target_pyr)
        if self.weight:
            feats = self._features(img)
            loss = loss + self.weight * sum(((a - b) ** 2).flatten(1).sum(1) / a[0].numel() * a.shape[1]
                                            for a, b in zip(feats, self.target_feats)) / len(feats)
        return loss


def feature_classifier(G, device):
    """The shipped Fashion-MNIST classifier for grey models, else None (its features mean nothing on colour)."""
    if G.img_channels != 1:
        return None
    from ganstudio.training.classifier import load_classifier
    return load_classifier(device=device).net


# -- the generator, seen as a function of the optimised latent --------------------------------------

class _Latents:
    """How the optimised variable becomes ws, the start and the spread of the latents, for one class."""

    def __init__(self, G, space: str, c: Optional[torch.Tensor], gen: torch.Generator, device,
                 guess: Optional[torch.Tensor] = None):
        self.G, self.space, self.c = G, space, c
        self.n_guess = 0  # leading candidates that are an encoder's guess
        n = 256 if space != "z" else 16
        z = torch.randn(n, G.z_dim, generator=gen).to(device)
        if space == "z":
            self.spread = 1.0  # z is standard normal
            self.candidates = torch.cat([torch.zeros(1, G.z_dim, device=device), z])
            return
        with torch.no_grad():
            w = G.mapping(z, None if c is None else c.expand(n, -1))[:, 0]
        w_avg = getattr(G, "w_avg", None)
        # The tracked w_avg is the paper's start, but it mixes classes: a class's own mean w for conditional models
        start = w.mean(0) if (c is not None or w_avg is None or not bool(w_avg.abs().sum())) else w_avg.float()
        self.spread = float(((w - start) ** 2).sum(1).mean().sqrt())
        rows = 1 if space == "w" else G.num_ws
        self.candidates = start.reshape(1, 1, -1).repeat(1, rows, 1)
        if guess is not None:  # the guess first; the mean stays a candidate for images the encoder misreads
            guess = guess.reshape(1, G.num_ws, -1).to(device).float()
            self.candidates = torch.cat([guess.mean(1, keepdim=True) if space == "w" else guess, self.candidates])
            self.n_guess = 1

    def ws(self, v: torch.Tensor) -> torch.Tensor:
        if self.space == "z":
            c = None if self.c is None else self.c.expand(len(v), -1)
            return self.G.mapping(v, c)
        return v.repeat(1, self.G.num_ws, 1) if self.space == "w" else v

    def render(self, v: torch.Tensor, noise_maps=None) -> torch.Tensor:
        c = None if self.c is None else self.c.expand(len(v), -1)
        kw = {"noise_inputs": noise_maps} if noise_maps is not None else {}
        return self.G.synthesis(self.ws(v), c, noise_mode="const", **kw)

    def best_start(self, loss_fn) -> torch.Tensor:
        """The candidate start with the lowest loss (z-space: z = 0 or one of a few samples; an encoder's
        guess or the mean); ``self.started_from`` says whether it was the encoder's guess."""
        self.started_from = "mean"
        if len(self.candidates) == 1:
            return self.candidates.clone()
        with torch.no_grad():
            losses = torch.cat([loss_fn(self.render(self.candidates[i:i + 8]))
                                for i in range(0, len(self.candidates), 8)])
        best = int(losses.argmin())
        self.started_from = "encoder" if best < self.n_guess else "mean"
        return self.candidates[best][None].clone()


def _lr_at(t: float, s: ProjectionSettings) -> float:
    ramp_down = min(1.0, (1.0 - t) / max(s.lr_rampdown, 1e-8))
    ramp_down = 0.5 - 0.5 * math.cos(ramp_down * math.pi)
    return s.lr * ramp_down * min(1.0, t / max(s.lr_rampup, 1e-8))


def _noise_penalty(maps: Sequence[torch.Tensor]) -> torch.Tensor:
    """The paper's noise regulariser: squared autocorrelation at 1-px shifts, at every scale down to 8 px."""
    reg = 0.0
    for m in maps:
        while True:
            reg = reg + (m * torch.roll(m, 1, dims=3)).mean() ** 2 + (m * torch.roll(m, 1, dims=2)).mean() ** 2
            if m.shape[-1] <= 8:
                break
            m = F.avg_pool2d(m, 2)
    return reg


def _normalize_noise(maps: Sequence[torch.Tensor]) -> None:
    with torch.no_grad():
        for m in maps:
            m -= m.mean()
            m /= m.square().mean().sqrt().clamp_min(1e-8)


def _optimize(lat: _Latents, loss_fn, s: ProjectionSettings, steps: int, gen: torch.Generator,
              progress=None, should_stop=None):
    """Run the projector from the best start for ``steps`` steps -> (latent, noise maps, losses, steps, cancelled)."""
    v = lat.best_start(loss_fn).requires_grad_(True)
    lat.start = v.detach().clone()
    params = [v]
    noise_maps = None
    if s.optimize_noise and hasattr(lat.G, "const_noise"):
        noise_maps = [n.detach().clone().float().to(v.device).requires_grad_(True) for n in lat.G.const_noise()]
        params += noise_maps
    opt = torch.optim.Adam(params, betas=(0.9, 0.999), lr=s.lr)
    losses, done = [], 0
    for step in range(steps):
        if should_stop is not None and should_stop():
            return v.detach(), noise_maps, losses, done, True
        t = step / max(steps, 1)
        for group in opt.param_groups:
            group["lr"] = _lr_at(t, s)
        scale = lat.spread * s.noise_start * max(0.0, 1.0 - t / max(s.noise_ramp, 1e-8)) ** 2
        noisy = v + torch.randn(v.shape, generator=gen).to(v.device) * scale
        img = lat.render(noisy, noise_maps)
        loss = loss_fn(img).sum()
        total = loss + (s.noise_reg * _noise_penalty(noise_maps) if noise_maps else 0.0)
        opt.zero_grad(set_to_none=True)
        total.backward()
        opt.step()
        if noise_maps:
            _normalize_noise(noise_maps)
        losses.append(float(loss.detach()))
        done = step + 1
        if progress is not None:
            progress(done, float(loss.detach()), img.detach()[0])
    return v.detach(), noise_maps, losses, done, False


# -- the entry point ---------------------------------------------------------------------------------

def project(G, target, space: str = "w+", steps: int = 300, class_idx: Optional[int] = None,
            settings: Optional[ProjectionSettings] = None,
            progress: Optional[Callable[[int, float, torch.Tensor], None]] = None,
            should_stop: Optional[Callable[[], bool]] = None, device=None, encoder=None) -> ProjectionResult:
    """Project ``target`` (a path, uint8 [H, W, C] or a tensor in [-1, 1]) into ``G``'s ``space``.

    ``encoder`` (engine/inversion_encoder.InversionEncoder for ``G``): in w and w+ the optimisation
    starts from the better (by the loss) of its guess and the mean latent; z always starts as usual.

    ``class_idx`` None on a conditional model estimates the class (each class's start scored, the
    best few optimised briefly, the best kept).  ``progress(step, loss, image [C, H, W])`` after
    each step (it may raise to abort); ``should_stop()`` true ends early with ``cancelled`` set.
    """
    s = dataclasses.replace(settings or ProjectionSettings(), steps=int(steps))  # the argument wins
    _check_args(G, space, s, class_idx)
    device = torch.device(device) if device is not None else next(G.parameters()).device
    G = _private_copy(G, device)
    tgt = target_tensor(target, G.img_resolution, G.img_channels).to(device)
    classifier = feature_classifier(G, device) if s.feature_weight > 0 else None
    loss_fn = ProjectionLoss(tgt, s, classifier)
    gen = torch.Generator().manual_seed(int(s.seed))
    if G.c_dim and class_idx is None:
        class_idx = _estimate_class(G, space, loss_fn, s, gen, device, should_stop)
    c = _onehot(class_idx, G.c_dim, device) if G.c_dim else None
    lat = _Latents(G, space, c, gen, device, _encoder_guess(encoder, G, tgt, space))
    v, noise_maps, losses, done, cancelled = _optimize(lat, loss_fn, s, s.steps, gen, progress, should_stop)
    with torch.no_grad():
        img = lat.render(v, noise_maps)
        ws = lat.ws(v)[0]
        loss = float(loss_fn(img)[0])
        start_psnr = psnr(lat.render(lat.start)[0], tgt[0])
    latent = v[0] if space == "z" else ws
    return ProjectionResult(space, latent.detach().cpu(), ws.detach().cpu(), class_idx, img[0].detach().cpu(),
                            loss, psnr(img[0], tgt[0]), done, cancelled,
                            [m.detach().cpu() for m in noise_maps] if noise_maps else None, losses,
                            lat.started_from, start_psnr)


def _encoder_guess(encoder, G, tgt: torch.Tensor, space: str) -> Optional[torch.Tensor]:
    """The encoder's w+ for the target [1, num_ws, w_dim], or None (no encoder, or space z)."""
    if encoder is None or space == "z":
        return None
    from ganstudio.engine.inversion_encoder import EncoderError, check_matches
    net = getattr(encoder, "net", encoder)  # a LoadedEncoder or the network
    try:
        check_matches(net, G)
    except EncoderError as e:
        raise ProjectionError(str(e)) from None
    if G.c_dim:
        raise ProjectionError("the encoder start is for unconditional models; start from the mean latent")
    with torch.no_grad():
        return net.to(tgt.device).float()(tgt)


def _check_args(G, space: str, s: ProjectionSettings, class_idx: Optional[int]) -> None:
    if space not in SPACES:
        raise ProjectionError(f"space must be one of {', '.join(SPACES)}, got {space!r}")
    if not available_spaces(G):
        raise ProjectionError("this model's latents are discrete codes (a code grid): projection does not apply")
    if space not in available_spaces(G):
        raise ProjectionError(f"this model has no {space} space (no mapping network with style layers); "
                              f"use {' or '.join(available_spaces(G))}")
    if s.steps < 1:
        raise ProjectionError(f"steps must be at least 1, got {s.steps}")
    if class_idx is not None:
        if not G.c_dim:
            raise ProjectionError("this model is unconditional: a class does not apply")
        if not 0 <= int(class_idx) < G.c_dim:
            raise ProjectionError(f"class {class_idx} out of range: the model has classes 0..{G.c_dim - 1}")


def _private_copy(G, device):
    # Our own float copy with frozen weights: the window's renderer may render with G meanwhile, and an
    # fp16 inference copy would make the gradients too coarse.
    G = copy.deepcopy(G).to(device).float().eval().requires_grad_(False)
    return G.to(memory_format=torch.contiguous_format)


def _onehot(k: int, c_dim: int, device) -> torch.Tensor:
    c = torch.zeros(1, c_dim, device=device)
    c[0, int(k)] = 1.0
    return c


def _estimate_class(G, space, loss_fn, s: ProjectionSettings, gen, device, should_stop) -> int:
    """Score every class's start, optimise the best few briefly (a tenth of the steps each), keep the best."""
    scores = []
    for k in range(G.c_dim):
        lat = _Latents(G, space, _onehot(k, G.c_dim, device), gen, device)
        with torch.no_grad():
            scores.append(float(loss_fn(lat.render(lat.best_start(loss_fn)))[0]))
    order = sorted(range(G.c_dim), key=scores.__getitem__)[:MAX_CLASS_TRIALS]
    brief = max(5, s.steps // 10)
    best, best_loss = order[0], float("inf")
    for k in order:
        lat = _Latents(G, space, _onehot(k, G.c_dim, device), gen, device)
        v, maps, _, _, cancelled = _optimize(lat, loss_fn, s, brief, gen, None, should_stop)
        if cancelled:
            break
        with torch.no_grad():
            loss = float(loss_fn(lat.render(v, maps))[0])
        if loss < best_loss:
            best, best_loss = k, loss
    return best


def project_model(renderer, key: str, target, use_encoder: bool = True, **kw) -> ProjectionResult:
    """:func:`project` on the model ``key`` of an engine Renderer (a private copy of its network, on its device),
    starting from the model's shipped encoder when it has one and ``use_encoder`` is true."""
    if use_encoder and kw.get("encoder") is None:
        kw["encoder"] = model_encoder(key)
    return project(renderer.generator(key), target, device=renderer.device, **kw)


def model_encoder(key: str):
    """The shipped encoder of the model ``key`` (engine/inversion_encoder.py), None if it has none.

    A shipped file that cannot be read is a ProjectionError (one line), not a silent mean start."""
    from ganstudio.engine.inversion_encoder import EncoderError, load_encoder, shipped_encoder_path
    path = shipped_encoder_path(key)
    if path is None:
        return None
    try:
        return load_encoder(path).net
    except EncoderError as e:
        raise ProjectionError(str(e)) from None


def result_state(result: ProjectionResult, base):
    """The render state that shows ``result`` on ``base``'s model: explicit z or ws, its class, const noise."""
    classes = ((result.class_idx, 1.0),) if result.class_idx is not None else ()
    clean = base.replace(edits=(), mix_sources=None, mix_seeds=(), class_weights=classes, noise=None,
                         noise_mode="const", noise_strength=1.0)
    if result.space == "z":
        return clean.replace(z=tuple(float(x) for x in result.latent), ws=None, truncation_psi=1.0,
                             truncation_cutoff=None, z_threshold=None)
    return clean.replace(ws=tuple(tuple(float(x) for x in row) for row in result.ws), z=None,
                         truncation_psi=1.0, truncation_cutoff=None)

