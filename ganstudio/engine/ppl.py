"""Perceptual path length (Karras et al. 2019, "A Style-Based Generator Architecture for GANs", section 3.1).

PPL asks how much the image changes, perceptually, for a tiny step along an interpolation path in a
latent space: for pairs of latents (z0, z1), a position t on the path and a step eps,

    d = |phi(G(path(t))) - phi(G(path(t + eps)))|^2 / eps^2

averaged over pairs, after dropping the values below the 1st and above the 99th percentile (the
paper's reference code does this: a few pairs fold the image through a bad region and dominate a
plain mean).  ``phi`` is a feature network; the paper uses VGG16 through LPIPS.  No ImageNet network
can be fetched offline, so GAN Studio measures in the 128-d penultimate features of its own shipped
Fashion-MNIST classifier (training/classifier.py), on a 32 px grey conversion for colour models, or,
for RGB models of the shapes data, in the hidden layer of the shapes factor probe (``probe_features``).

- space "z": spherical interpolation (``latent.slerp``, the Interpolation panel's path) between two
  normal draws, mapped and rendered; space "w" (models with a mapping network): linear
  interpolation between their mapped w's, every layer given the same w.
- sampling "full": t uniform in [0, 1]; "end": t = 0 (the path's end-points only).
Class-conditional models draw one class per pair; an InfoGAN's end-points get their codes from the codes'
priors (one-hot category, uniform continuous codes: ``metrics.prior_z``) and the path interpolates them
with the noise; noise inputs are held constant.  Qt-free.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np
import torch

from ganstudio import latent

EPSILON = 1e-4  # the paper's step
SPACES = ("z", "w")
SAMPLINGS = ("full", "end")
LOW_PERCENTILE, HIGH_PERCENTILE = 1, 99  # the paper's filtering
MAX_N = 200_000  # pairs: each costs two generator and two classifier passes


class PPLCancelled(Exception):
    """The caller asked the measurement to stop."""


@dataclass
class FeatureNet:
    """What the distances are measured in: ``fn(images [N, C, H, W] in [-1, 1]) -> [N, D]``."""
    fn: Callable[[torch.Tensor], torch.Tensor]
    name: str
    note: str = ""


@dataclass
class PPLResult:
    space: str
    sampling: str
    eps: float
    n: int  # pairs drawn
    n_kept: int  # pairs between the 1st and the 99th percentile
    zero_fraction: float  # pairs whose step changed the features not at all (piecewise-constant generators)
    mean: float  # PPL: the mean of the kept distances
    std: float  # their standard deviation (ddof 1)
    ci_low: float  # bootstrap interval of the mean
    ci_high: float
    ci_level: float
    bootstrap: int
    cut_low: float  # the percentile values the filter kept between
    cut_high: float
    seconds: float
    distances: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))  # all n, before filtering
    t: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))  # each pair's t

    def to_dict(self) -> dict:
        """The numbers (not the per-pair arrays), JSON-ready."""
        keys = ("space", "sampling", "eps", "n", "n_kept", "zero_fraction", "mean", "std", "ci_low", "ci_high",
                "ci_level", "bootstrap", "cut_low", "cut_high", "seconds")
        return {k: getattr(self, k) for k in keys}


def spaces_of(G) -> tuple[str, ...]:
    """("z", "w") for a model with a mapping network (its w differs from z), else ("z",)."""
    return SPACES if G.capabilities().style_layers else ("z",)


def classifier_features(G, path=None, device="cpu") -> FeatureNet:
    """A classifier's 128-d features (the shipped Fashion-MNIST one unless ``path`` names another, such as the
    emoji group classifier), with a note saying how they apply to ``G``."""
    from ganstudio.training.classifier import load_classifier
    from ganstudio.training.metrics import to_classifier_input
    clf = load_classifier(path, device=device)
    res, ch = clf.net.cfg.resolution, clf.net.cfg.in_channels
    emoji = (clf.meta or {}).get("data") == "emoji"
    conv = []
    if G.img_channels == 3 and ch == 1:
        conv.append("converted to grey (luma)")
    if G.img_resolution != res:
        conv.append(f"resized to {res} px")
    note = "images " + " and ".join(conv) + " for the classifier" if conv else ""
    if G.img_channels != 1 and not emoji:
        note += ("; the classifier was trained on Fashion-MNIST, not on this model's data: compare these "
                 "numbers between models of the same data only")
    name = ("emoji group classifier, 128-d penultimate features" if emoji
            else "Fashion-MNIST classifier, 128-d penultimate features")
    return FeatureNet(lambda x: clf.net.features(to_classifier_input(x, res, ch)), name, note)


def probe_features(G, path=None, device="cpu") -> FeatureNet:
    """The shapes factor probe's 256-d hidden layer (training/factor_probe.py), for RGB models of shapes data:
    a feature space trained on this data, where the classifier's is not."""
    from ganstudio.training.factor_probe import ProbeError, images_to_input, load_probe
    if G.img_channels != 3:
        raise ProbeError(f"the factor probe reads RGB images (shapes data); this model makes {G.img_channels}-channel ones")
    net = load_probe(path).net
    if next(net.parameters()).device != torch.device(device):
        import copy
        net = copy.deepcopy(net).to(device)  # the loaded probe is cached and shared: leave it where it is
    hidden = net.fc[:3]  # flatten, linear, ReLU: the layer before the factor outputs
    note = "" if G.img_resolution == net.cfg.resolution else f"images resized to {net.cfg.resolution} px for the probe"
    return FeatureNet(lambda x: hidden(net.trunk(images_to_input(x, net.cfg.resolution))),
                      "shapes factor probe, 256-d hidden layer", note)


FEATURES = {"classifier": classifier_features, "probe": probe_features}


def draw_pairs(G, n: int, sampling: str, seed: int, device="cpu"):
    """Seeded (z0, z1, t, c) for n pairs: the same seed gives the same pairs in every space and sampling."""
    from ganstudio.training.metrics import prior_z  # InfoGAN: codes from their priors, as eval draws them
    gen = torch.Generator().manual_seed(int(seed))
    z0 = prior_z(torch.randn(n, G.z_dim, generator=gen), G)
    z1 = prior_z(torch.randn(n, G.z_dim, generator=gen), G)
    t = torch.rand(n, generator=gen, dtype=torch.float64) * (1.0 if sampling == "full" else 0.0)
    c = None
    if G.c_dim:
        from ganstudio.models._base import one_hot
        c = one_hot(torch.randint(0, G.c_dim, (n,), generator=gen), G.c_dim).to(device)
    return z0.to(device), z1.to(device), t.to(device), c


def _latents_at(G, z0, z1, t, c, space: str) -> torch.Tensor:
    """ws [N, num_ws, w_dim] on the path at t."""
    if space == "z":
        return G.mapping(latent.slerp(z0.double(), z1.double(), t).to(z0.dtype), c)
    w0, w1 = G.mapping(z0, c)[:, :1], G.mapping(z1, c)[:, :1]
    # lerp in float64: (w(t + eps) - w(t)) must not lose eps to float32 rounding of w itself
    w = torch.lerp(w0.double(), w1.double(), t.view(-1, 1, 1)).to(w0.dtype)
    return w.repeat(1, G.num_ws, 1)


def path_distances(G, features: FeatureNet, z0, z1, t, c=None, space: str = "z",
                   eps: float = EPSILON) -> torch.Tensor:
    """The squared feature distance between the images at t and t + eps, over eps^2, per pair [N]."""
    if space not in SPACES:
        raise ValueError(f"unknown space {space!r} (one of {', '.join(SPACES)})")
    if space == "w" and "w" not in spaces_of(G):
        raise ValueError("this model has no mapping network: its w is z (measure space z)")
    t = t.to(torch.float64)
    with torch.no_grad():
        ws = torch.cat([_latents_at(G, z0, z1, t, c, space), _latents_at(G, z0, z1, t + eps, c, space)])
        cc = None if c is None else torch.cat([c, c])
        img = G.synthesis(ws, cc, noise_mode="const")
        f = features.fn(img if img.dtype == torch.float64 else img.float()).double()
    f0, f1 = f.chunk(2)
    return (f1 - f0).square().sum(1) / (eps * eps)


def filtered_stats(d: np.ndarray, bootstrap: int = 1000, level: float = 0.95, seed: int = 0) -> dict:
    """Mean, std and a bootstrap interval of the distances between the 1st and the 99th percentile."""
    d = np.asarray(d, dtype=np.float64)
    if d.size == 0:
        raise ValueError("no distances to summarise")
    if not np.isfinite(d).all():
        raise ValueError(f"{int((~np.isfinite(d)).sum())} of {d.size} distances are NaN or infinite "
                         "(the generator or the features produced non-finite values)")
    lo = float(np.percentile(d, LOW_PERCENTILE, method="lower"))
    hi = float(np.percentile(d, HIGH_PERCENTILE, method="higher"))
    kept = d[(d >= lo) & (d <= hi)]
    out = {"n": int(d.size), "n_kept": int(kept.size), "zero_fraction": float((d == 0).mean()),
           "mean": float(kept.mean()),
           "std": float(kept.std(ddof=1)) if kept.size > 1 else 0.0, "cut_low": lo, "cut_high": hi,
           "ci_level": level, "bootstrap": int(bootstrap)}
    if bootstrap > 0 and kept.size > 1:
        rng = np.random.default_rng(seed)
        means = np.empty(bootstrap)
        for i in range(0, bootstrap, 100):  # in chunks: n x 100 indices at most at once
            k = min(100, bootstrap - i)
            means[i:i + k] = kept[rng.integers(0, kept.size, (k, kept.size))].mean(1)
        a = (1 - level) / 2
        out["ci_low"], out["ci_high"] = float(np.quantile(means, a)), float(np.quantile(means, 1 - a))
    else:
        out["ci_low"] = out["ci_high"] = out["mean"]
    return out


PIECEWISE_CONSTANT = 0.5  # zero_fraction above which the PPL counts jumps between codes, not smoothness


def piecewise_note(result: PPLResult) -> str:
    """A warning when most steps changed nothing: the image is piecewise constant along the path (a generator
    whose latent picks discrete codes, e.g. a VQ-VAE), so the mean counts how often an eps step crosses a
    code boundary times the jump / eps^2, not how smooth the image changes; "" otherwise."""
    if result.zero_fraction <= PIECEWISE_CONSTANT:
        return ""
    return (f"{result.zero_fraction:.0%} of the steps changed nothing: the image is piecewise constant along "
            f"{result.space} paths (discrete codes), so this PPL counts code jumps, not smoothness")


def perceptual_path_length(G, *, space: str = "z", sampling: str = "full", n: int = 1000,
                           eps: float = EPSILON, batch: int = 100, seed: int = 0,
                           features: Optional[FeatureNet] = None, bootstrap: int = 1000,
                           progress: Optional[Callable[[int, int], None]] = None,
                           should_stop: Optional[Callable[[], bool]] = None) -> PPLResult:
    """PPL of generator ``G`` (eval mode, on its device) in ``space`` with ``sampling``; see the module text.

    ``progress(done, total)`` after each batch; ``should_stop()`` True raises PPLCancelled."""
    if space not in SPACES:
        raise ValueError(f"unknown space {space!r} (one of {', '.join(SPACES)})")
    if sampling not in SAMPLINGS:
        raise ValueError(f"unknown sampling {sampling!r} (one of {', '.join(SAMPLINGS)})")
    if not 2 <= n <= MAX_N:
        raise ValueError(f"n must be between 2 and {MAX_N} pairs, got {n}")
    if not 0 < eps < 1:
        raise ValueError(f"eps must be between 0 and 1 (the paper uses 1e-4), got {eps}")
    if batch < 1:
        raise ValueError(f"batch must be positive, got {batch}")
    if space == "w" and "w" not in spaces_of(G):
        raise ValueError("this model has no mapping network: its w is z (measure space z)")
    device = next((p.device for p in G.parameters()), torch.device("cpu"))
    features = features or classifier_features(G, device=device)
    t0 = time.perf_counter()
    z0, z1, t, c = draw_pairs(G, n, sampling, seed, device)
    parts = []
    for i in range(0, n, batch):
        if should_stop is not None and should_stop():
            raise PPLCancelled(f"cancelled after {i} of {n} pairs")
        s = slice(i, min(n, i + batch))
        parts.append(path_distances(G, features, z0[s], z1[s], t[s], None if c is None else c[s], space, eps).cpu())
        if progress is not None:
            progress(s.stop, n)
    d = torch.cat(parts).numpy()
    stats = filtered_stats(d, bootstrap, seed=seed)
    return PPLResult(space=space, sampling=sampling, eps=eps, seconds=round(time.perf_counter() - t0, 2),
                     distances=d, t=t.cpu().numpy(), **stats)


def measure_model(key: str, *, space: str = "z", sampling: str = "full", n: int = 1000, device="cpu",
                  seed: int = 0, features: str = "classifier", progress=None,
                  should_stop=None) -> tuple[PPLResult, FeatureNet]:
    """PPL of the model a key names (a shipped name, a file, ``registry:NAME[:tiny]``) on a private copy of
    its generator (the renderer's cached one is never touched); -> (result, the features used)."""
    from ganstudio.engine.renderer import load_model
    G, _ = load_model(key, torch.device(device), prepare=False)
    G = G.float()
    if features not in FEATURES:
        raise ValueError(f"unknown features {features!r} (one of {', '.join(FEATURES)})")
    net = FEATURES[features](G, device=device)
    result = perceptual_path_length(G, space=space, sampling=sampling, n=n, seed=seed, features=net,
                                    progress=progress, should_stop=should_stop)
    return result, net
