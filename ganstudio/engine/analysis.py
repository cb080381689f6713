"""Direction scoring: what each latent direction changes, measured against the known factors of ``shapes``.

A model trained on ``shapes`` (or ``shapes-upright``) draws images whose seven generative factors
the factor probe (training/factor_probe.py) reads back.  For every direction and every seed we walk
a path through the latent space, read the factors of each image and measure how fast each factor
changes per unit step.  Definitions (all numbers in the report follow them):

Paths.  A direction with a vector v moves the seed's latent (z, or ws on the direction's layers) to
``latent + t v`` for ``steps`` values of t evenly spaced in [-span, span]; neighbouring points are
one pair each, ``|t_i+1 - t_i|`` apart.  An InfoGAN continuous code is *set* to ``steps`` values
evenly spaced over its own range [-1, 1]; the categorical code visits every category (all pairs,
one unit apart: one switch of category is one step).

Change of a factor between two images, in units of the factor's range in the model's data variant:
shape: total-variation distance of the probe's class probabilities (0 same, 1 certain switch);
hues: the circular difference in turns (range 1); rotation: the difference modulo the square's 90
degree period over the range's 90 degrees, weighted by how sure the probe is that neither image is a
circle (a circle has no angle); scale, x, y: the absolute difference over the range's width.

Response matrix.  ``R[d, f]``, per seed: along an ordered walk, the absolute least-squares slope of
the factor's reading over t (circular readings unwrapped along the walk), in range units per unit
step; for the shape, half the summed absolute slopes of the four class probabilities (a total-
variation rate); for the categorical code, the mean change over its pairs.  ``R`` is the root mean square over seeds of these rates, less the
slopes' own noise variance (estimated from each fit's residuals); ``spread`` is the rates' standard
deviation over seeds.  (A slope, not the mean |change| between neighbours, and the noise taken out:
the probe's small reading errors would otherwise add up to a floor of fake change in every factor.)  Only factors that vary in the
model's data are scored (``shapes-upright`` has no rotation).

Per direction d (over the scored factors F):
  strength[d] = sum_f R[d, f];  purity p[d, f] = R[d, f] / strength[d]
  main factor = argmax_f p[d, f];  share[d] = max_f p[d, f]   (how much of d's effect goes to its main
  factor: 1 = only one factor moves; 1/|F| = all move alike)
  disentanglement[d] = 1 - H(p[d, :]) / log |F|   (DCI's D_i, Eastwood & Williams 2018)
Per factor f (over the directions D):
  q[d, f] = R[d, f] / sum_d R[d, f];  completeness[f] = 1 - H(q[:, f]) / log |D|   (DCI's C_j)
  directions_needed[f] = exp(H(q[:, f]))   (the effective number of directions that move f)
  score[d, f] = p[d, f] * R[d, f] / max_d' R[d', f]   (d moves f purely *and* as much as the best does)
  best direction for f = argmax_d score[d, f]; MIG-style gap[f] = (top R - second R) / top R
Overall: score = mean_f of the best score[f] (1 = one clean direction per factor);
  disentanglement = sum_d D_d strength[d] / sum strength (DCI's weighted D); completeness = mean_f C_f.
A direction that changes nothing has strength 0, purity 0 and weight 0.
"""
from __future__ import annotations

import math
from typing import Callable, NamedTuple, Optional, Sequence

import numpy as np
import torch

from ganstudio.training.shapes import (FACTOR_NAMES, SHAPE_NAMES, VARIANT_RANGES, is_shapes_spec, render_shapes,
                                       shapes_variant)

FORMAT = "ganstudio-direction-analysis"
FORMAT_VERSION = 1
METHODS = ("pca", "sefa", "raw", "w", "info")  # plus a saved direction file (H5's library)
METHOD_LABELS = {"pca": "PCA (GANSpace)", "sefa": "SeFa", "raw": "raw z dimensions", "w": "raw w dimensions",
                 "info": "InfoGAN codes"}
K_DIRECTIONS = 20  # the first 20 of the renderer's PCA / SeFa set (64 cost three times the renders)
DEFAULT_SEEDS, DEFAULT_STEPS, DEFAULT_SPAN = 32, 5, 2.0
MAX_SEEDS, MAX_STEPS, MAX_DIRECTIONS = 10_000, 33, 512
_RENDER_CHUNK = 256  # images per render call


class AnalysisError(ValueError):
    """Why a model or direction set cannot be scored, in one line."""


class Direction(NamedTuple):
    """One direction to score (see the module docstring for how each kind is walked)."""
    name: str
    space: str  # "z" or "w"
    vector: Optional[np.ndarray]  # [z_dim] or [w_dim]; a step of 1 is one vector as given (None: categorical code)
    layers: Optional[tuple[int, int]] = None  # [first, end) ws layers of a w direction; None = all
    code: Optional[tuple[int, int]] = None  # InfoGAN (first z index, count): count 1 continuous, > 1 categorical


class Scores(NamedTuple):
    """The scores defined in the module docstring (numpy arrays over directions / factors)."""
    strength: np.ndarray  # [D]
    purity: np.ndarray  # [D, F]
    share: np.ndarray  # [D]
    main_factor: np.ndarray  # [D] index into the scored factors
    disentanglement: np.ndarray  # [D]
    completeness: np.ndarray  # [F]
    directions_needed: np.ndarray  # [F]
    score: np.ndarray  # [D, F]
    best: np.ndarray  # [F] index into the directions
    gap: np.ndarray  # [F]
    overall: float
    overall_disentanglement: float
    overall_completeness: float


def scored_factors(variant: str) -> list[str]:
    """The factors that vary in a shapes variant (shapes-upright has no rotation)."""
    ranges = VARIANT_RANGES[variant]
    return [f for f in FACTOR_NAMES if f == "shape" or ranges[f][1] > ranges[f][0]]


def data_variant(meta: dict) -> Optional[str]:
    """The shapes variant a model was trained on (from its checkpoint metadata), or None."""
    data = (meta.get("training") or {}).get("data") if isinstance(meta, dict) else None
    if isinstance(data, str) and is_shapes_spec(data):
        try:
            return shapes_variant(data)
        except ValueError:
            return data.strip().lower().split(":")[0]
    return None


# -- factor changes ---------------------------------------------------------------------------------

def factor_changes(probs_a: np.ndarray, fa: np.ndarray, probs_b: np.ndarray, fb: np.ndarray,
                   variant: str) -> np.ndarray:
    """Change of every factor between predictions a and b ([N, 4] probabilities, [N, 7] factors) -> [N, 7],
    each in units of the factor's range in ``variant`` (see the module docstring)."""
    ranges = VARIANT_RANGES[variant]
    out = np.zeros(fa.shape)
    out[:, 0] = 0.5 * np.abs(probs_a - probs_b).sum(1)
    for j, name in enumerate(FACTOR_NAMES[1:], start=1):
        d = fb[:, j] - fa[:, j]
        if name.endswith("hue"):
            out[:, j] = np.abs((d + 0.5) % 1.0 - 0.5)
        elif name == "rotation":
            circle = SHAPE_NAMES.index("circle")
            sure = np.minimum(1.0 - probs_a[:, circle], 1.0 - probs_b[:, circle])
            out[:, j] = np.abs((d + 45.0) % 90.0 - 45.0) / 90.0 * sure
        else:
            lo, hi = ranges[name]
            out[:, j] = np.abs(d) / (hi - lo) if hi > lo else 0.0
    return out


# -- image sources ----------------------------------------------------------------------------------

class ImageSource:
    """What the analysis renders through: base latents of seeds, and images of latents (uint8 [N, H, W, 3]).

    Subclasses: RendererSource (any model, through the Renderer or the GUI's RenderService) and
    FactorGenerator (the known-answer generator)."""
    z_dim: int
    w_dim: int
    num_ws: int
    style: bool  # has a mapping network: w differs from z
    info_codes: tuple[int, int] = (0, 0)  # InfoGAN (categories, continuous codes) at the end of z
    variant: str
    label: str

    def base_latents(self, seeds: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def render(self, space: str, latents: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def directions(self, method: str, k: int) -> np.ndarray:
        raise AnalysisError(f"{self.label} has no {METHOD_LABELS.get(method, method)} directions")


class RendererSource(ImageSource):
    """A model opened by a Renderer (the command line) or the window's RenderService (a panel's job)."""

    def __init__(self, render, key: str, info):
        self.render_service, self.key, self.info = render, key, info
        self.z_dim, self.w_dim, self.num_ws = info.z_dim, info.w_dim, info.num_ws
        self.style = bool(info.capabilities.style_layers)
        self.label = info.label or key
        self.variant = data_variant(info.meta)
        if self.variant is None:
            data = (info.meta.get("training") or {}).get("data") if isinstance(info.meta, dict) else None
            why = f"trained on {data}" if isinstance(data, str) and data else "no training data recorded"
            raise AnalysisError(f"{self.label} was not trained on shapes data ({why}): the factor probe only reads "
                                "shapes and shapes-upright images")
        if info.channels != 3:
            raise AnalysisError(f"{self.label} draws {info.channels}-channel images; the factor probe reads RGB shapes")
        if info.c_dim:
            raise AnalysisError(f"{self.label} is class-conditional; scoring supports unconditional shapes models")
        self.info_codes = tuple(int(n) for n in getattr(info, "code_sizes", (0, 0)))

    def base_latents(self, seeds):
        from ganstudio.engine.state import RenderState
        from ganstudio.latent.sampling import seeded_z
        z = seeded_z(list(seeds), self.z_dim)
        if any(self.info_codes):  # the codes a seed renders with in the window (a one-hot category, uniform codes)
            from ganstudio.latent.codes import codes_from_normal, layout_of
            z = codes_from_normal(z, layout_of(self.info))
        z = z.double().numpy()
        if not self.style:
            return z, z[:, None, :].copy()
        ws = []
        for row in z:
            _, _, w = self.render_service.latents(RenderState(model=self.key, z=tuple(float(v) for v in row)))
            ws.append(w[0].double().numpy())
        return z, np.stack(ws)

    def render(self, space, latents):
        from ganstudio.engine.state import RenderState
        if space == "z":
            states = [RenderState(model=self.key, z=tuple(map(float, row))) for row in latents]
        else:
            states = [RenderState(model=self.key, ws=tuple(tuple(map(float, w)) for w in row)) for row in latents]
        res = self.render_service.render_batch(states)
        if res.image is None:
            raise AnalysisError(f"rendering {self.label} failed: {res.error}")
        return np.asarray(res.image)

    def directions(self, method, k):
        # The renderer's own set (its default count), so a row is the direction an Edit of that index moves along.
        d = self.render_service.directions(self.key, method)[:k]
        return d.detach().to("cpu", torch.float64).numpy()


class FactorGenerator(ImageSource):
    """The known-answer generator: z [7] drives the shapes renderer's seven factors one to one.

    Factor i is the i-th entry of ``rotation @ z`` pushed through the normal CDF onto the factor's
    range in the ``shapes`` variant (so z ~ N(0, I) draws factors as the data set does; the shape is
    the CDF's quarter).  With ``rotation=None`` every z dimension is one factor: raw z directions then
    score (near-)perfectly.  ``rotated(seed)`` mixes the dimensions by a random orthogonal matrix, so
    every z dimension moves every factor: the same generator scored worse.
    """
    z_dim = w_dim = len(FACTOR_NAMES)
    num_ws, style, variant = 1, False, "shapes"

    def __init__(self, rotation: Optional[np.ndarray] = None, resolution: int = 32, label: str = "known-answer"):
        self.rotation = None if rotation is None else np.asarray(rotation, dtype=np.float64)
        self.resolution, self.label = resolution, label

    @classmethod
    def rotated(cls, seed: int = 0, resolution: int = 32) -> "FactorGenerator":
        rng = np.random.Generator(np.random.PCG64(seed))
        q, r = np.linalg.qr(rng.standard_normal((cls.z_dim, cls.z_dim)))
        return cls(q * np.sign(np.diag(r)), resolution, label="known-answer, z rotated")

    def factors(self, z: np.ndarray) -> np.ndarray:
        """z [N, 7] -> factors [N, 7] (FACTOR_NAMES order)."""
        z = np.asarray(z, dtype=np.float64)
        if self.rotation is not None:
            z = z @ self.rotation.T
        u = 0.5 * (1.0 + np.vectorize(math.erf)(z / math.sqrt(2.0)))  # the normal CDF
        out = np.empty_like(u)
        out[:, 0] = np.minimum(np.floor(u[:, 0] * len(SHAPE_NAMES)), len(SHAPE_NAMES) - 1)
        for j, name in enumerate(FACTOR_NAMES[1:], start=1):
            lo, hi = VARIANT_RANGES[self.variant][name]
            out[:, j] = lo + (hi - lo) * u[:, j]
        return out

    def base_latents(self, seeds):
        from ganstudio.latent.sampling import seeded_z
        z = seeded_z(list(seeds), self.z_dim).double().numpy()
        return z, z[:, None, :].copy()

    def render(self, space, latents):
        z = latents if space == "z" else latents[:, 0]
        return render_shapes(self.factors(z), self.resolution).transpose(0, 2, 3, 1)


KNOWN_ANSWER_MODELS = {"known-answer": FactorGenerator, "known-answer-rotated": FactorGenerator.rotated}


# -- direction sets ---------------------------------------------------------------------------------

def _unit_rows(names, space, dim):
    return [Direction(n, space, np.eye(dim)[i]) for i, n in enumerate(names)]


def info_directions(source: ImageSource) -> list[Direction]:
    """The InfoGAN codes of a model: the categorical code (one row), then each continuous code."""
    cat, cont = source.info_codes
    if not cat and not cont:
        raise AnalysisError(f"{source.label} has no InfoGAN codes (only InfoGAN models have them)")
    start = source.z_dim - cat - cont
    out = [Direction("category", "z", None, code=(start, cat))] if cat else []
    for i in range(cont):
        out.append(Direction(f"code {i + 1}", "z", np.eye(source.z_dim)[start + cat + i], code=(start + cat + i, 1)))
    return out


def direction_set(source: ImageSource, method: str, k: int = K_DIRECTIONS) -> list[Direction]:
    """The directions of ``method`` (pca, sefa, raw, w, info) for a source."""
    if method == "raw":
        return _unit_rows([f"z{i}" for i in range(source.z_dim)], "z", source.z_dim)
    if method == "w":
        if not source.style:
            raise AnalysisError(f"{source.label} has no mapping network: its w is z (use --directions raw)")
        return _unit_rows([f"w{i}" for i in range(source.w_dim)], "w", source.w_dim)
    if method == "info":
        return info_directions(source)
    if method in ("pca", "sefa"):
        vectors = source.directions(method, k)
        space = "w" if source.style else "z"
        return [Direction(f"{method} {i}", space, v) for i, v in enumerate(vectors)]
    raise AnalysisError(f"unknown direction set {method!r} (choose {', '.join(METHODS)} or a direction file)")


def directions_from_file(path, source: "RendererSource") -> list[Direction]:
    """Saved user directions (latent/library.py's JSON), refused when the file is for another model."""
    from ganstudio.latent.library import LibraryError, load_library, model_identity
    try:
        lib = load_library(path, model_identity(source.key, source.info))
    except LibraryError as e:
        raise AnalysisError(str(e)) from None
    out = [Direction(d.name, d.space, np.asarray(d.vector, dtype=np.float64),
                     None if d.layers is None else (int(d.layers[0]), int(d.layers[1]))) for d in lib.directions]
    if not out:
        raise AnalysisError(f"{path}: the direction file holds no directions")
    return out


MAX_DIRECTION_VALUE = 1e6  # latents are O(1); a larger entry only renders garbage or overflows float32


def check_directions(source: ImageSource, directions: Sequence[Direction]) -> None:
    """Raise AnalysisError (one line) when a direction does not fit the source's latent spaces."""
    if not directions:
        raise AnalysisError("no directions to score")
    if len(directions) > MAX_DIRECTIONS:
        raise AnalysisError(f"{len(directions)} directions; at most {MAX_DIRECTIONS} are scored at once")
    for d in directions:
        if d.space not in ("z", "w"):
            raise AnalysisError(f"direction {d.name!r}: space must be z or w, got {d.space!r}")
        if d.vector is not None:
            dim = source.z_dim if d.space == "z" else source.w_dim
            v = np.asarray(d.vector)
            if v.shape != (dim,) or not np.all(np.isfinite(v)):
                raise AnalysisError(f"direction {d.name!r}: needs {dim} finite values in {d.space}, "
                                    f"got shape {list(v.shape)}")
            if np.abs(v).max(initial=0.0) > MAX_DIRECTION_VALUE:  # a float32 latent would overflow to inf
                raise AnalysisError(f"direction {d.name!r}: a value of {np.abs(v).max():.3g}; a direction's "
                                    f"values must stay within +-{MAX_DIRECTION_VALUE:g}")
        if d.layers is not None and not 0 <= d.layers[0] < d.layers[1] <= source.num_ws:
            raise AnalysisError(f"direction {d.name!r}: layers {d.layers} outside 0..{source.num_ws}")


# -- paths ------------------------------------------------------------------------------------------

class Path(NamedTuple):
    """One direction's walk for every seed: latents [S, P, ...]; ``t`` [P], the positions of an ordered walk,
    or None for the categorical code, whose ``pairs`` (i, j, distance) are compared instead."""
    space: str
    latents: np.ndarray
    t: Optional[np.ndarray]
    pairs: tuple = ()


def direction_path(d: Direction, z: np.ndarray, ws: np.ndarray, span: float, steps: int) -> Path:
    """The points a direction visits from each seed's (z [S, z_dim], ws [S, L, w_dim])."""
    if d.code is not None and d.code[1] > 1:  # categorical: every category, all pairs one switch apart
        start, k = d.code
        lat = np.repeat(z[:, None], k, 1)
        lat[:, :, start:start + k] = np.eye(k)[None]
        return Path("z", lat, None, tuple((i, j, 1.0) for i in range(k) for j in range(i + 1, k)))
    if d.code is not None:  # a continuous code: set over its range
        t = np.linspace(-1.0, 1.0, steps)
        lat = np.repeat(z[:, None], steps, 1)
        lat[:, :, d.code[0]] = t[None]
    else:
        t = np.linspace(-span, span, steps)
        v = np.asarray(d.vector, dtype=np.float64)
        if d.space == "z":
            lat = z[:, None] + t[None, :, None] * v
        else:
            lat = np.repeat(ws[:, None], steps, 1)
            first, end = d.layers if d.layers is not None else (0, ws.shape[1])
            lat[:, :, first:end] += t[None, :, None, None] * v
    return Path(d.space, lat, t)


# -- measuring --------------------------------------------------------------------------------------

class Response(NamedTuple):
    """The response matrix of a direction set (see the module docstring)."""
    directions: list  # [D] Direction
    factors: list  # [F] scored factor names
    mean: np.ndarray  # [D, F]
    spread: np.ndarray  # [D, F] standard deviation over seeds
    seeds: int


def _render_all(source: ImageSource, space: str, latents: np.ndarray, cancelled) -> np.ndarray:
    flat = latents.reshape(-1, *latents.shape[2:])
    parts = []
    for i in range(0, len(flat), _RENDER_CHUNK):
        if cancelled():
            from ganstudio.engine.jobs import JobCancelled
            raise JobCancelled("cancelled")
        parts.append(source.render(space, flat[i:i + _RENDER_CHUNK]))
    return np.concatenate(parts)


def _slope(u: np.ndarray, tc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares slopes of readings u [..., P] over centred positions tc [P], and each slope's variance
    estimated from the residuals (0 with two points)."""
    ss = (tc * tc).sum()
    slope = (u * tc).sum(-1) / ss
    if len(tc) <= 2:
        return slope, np.zeros_like(slope)
    resid = u - u.mean(-1, keepdims=True) - slope[..., None] * tc
    return slope, (resid ** 2).sum(-1) / (len(tc) - 2) / ss


def path_slopes(probs: np.ndarray, factors: np.ndarray, t: np.ndarray, variant: str) -> tuple[np.ndarray, np.ndarray]:
    """Readings along ordered walks (probabilities [S, P, 4], factors [S, P, 7] at positions t [P]) ->
    (rates [S, 7], their noise variance [S, 7]): shape, half the summed absolute least-squares slopes of
    the four class probabilities over t; every other factor, the absolute slope of its reading over t (hues
    and rotation unwrapped along the walk) over the factor's range; each with its variance from the fit's
    residuals; rotation times the mean certainty that the image is not a circle."""
    ranges = VARIANT_RANGES[variant]
    out = np.zeros(factors.shape[:1] + (len(FACTOR_NAMES),))
    noise = np.zeros_like(out)
    tc = t - t.mean()
    # shape: half the summed |slope| of the class probabilities (a total-variation rate), noise likewise
    slopes, var = _slope(probs.transpose(0, 2, 1), tc)
    out[:, 0], noise[:, 0] = 0.5 * np.abs(slopes).sum(1), 0.25 * var.sum(1)
    for j, name in enumerate(FACTOR_NAMES[1:], start=1):
        u = factors[:, :, j]
        period = 1.0 if name.endswith("hue") else 90.0 if name == "rotation" else None
        width = period or ranges[name][1] - ranges[name][0]
        if width <= 0:
            continue
        if period:  # unwrap: each neighbour step is the shortest way round
            d = (np.diff(u, axis=1) + period / 2) % period - period / 2
            u = np.concatenate([u[:, :1], u[:, :1] + np.cumsum(d, 1)], 1)
        slope, var = _slope(u, tc)
        out[:, j], noise[:, j] = np.abs(slope) / width, var / width ** 2
    sure = (1.0 - probs[:, :, SHAPE_NAMES.index("circle")]).mean(1)
    out[:, FACTOR_NAMES.index("rotation")] *= sure
    noise[:, FACTOR_NAMES.index("rotation")] *= sure ** 2
    return out, noise


def direction_rates(source: ImageSource, probe, d: Direction, z: np.ndarray, ws: np.ndarray, span: float,
                    steps: int, cancelled=lambda: False) -> tuple[np.ndarray, np.ndarray]:
    """Per seed, the change per unit step of every factor along ``d`` and its noise variance -> [S, 7] each."""
    path = direction_path(d, z, ws, span, steps)
    n_seeds, n_points = path.latents.shape[:2]
    pred = probe.predict(_render_all(source, path.space, path.latents, cancelled))
    probs = pred.shape_probs.reshape(n_seeds, n_points, -1)
    factors = pred.factors.reshape(n_seeds, n_points, -1)
    if path.t is not None:
        return path_slopes(probs, factors, path.t, source.variant)
    rates = np.zeros((n_seeds, len(FACTOR_NAMES)))
    for i, j, dist in path.pairs:
        rates += factor_changes(probs[:, i], factors[:, i], probs[:, j], factors[:, j], source.variant) / abs(dist)
    rates = rates / len(path.pairs)
    return rates, np.zeros_like(rates)


def measure(source: ImageSource, directions: Sequence[Direction], probe, seeds: int = DEFAULT_SEEDS, seed: int = 0,
            span: float = DEFAULT_SPAN, steps: int = DEFAULT_STEPS,
            progress: Optional[Callable[[float], None]] = None, cancelled=lambda: False) -> Response:
    """The response matrix of ``directions`` over seeds ``seed .. seed + seeds - 1``."""
    if not 2 <= seeds <= MAX_SEEDS:
        raise AnalysisError(f"seeds must be in 2..{MAX_SEEDS}, got {seeds}")
    if not 2 <= steps <= MAX_STEPS:
        raise AnalysisError(f"steps must be in 2..{MAX_STEPS}, got {steps}")
    if not (math.isfinite(span) and 0 < span <= 100):
        raise AnalysisError(f"span must be in (0, 100], got {span}")
    check_directions(source, directions)
    factors = scored_factors(source.variant)
    cols = [FACTOR_NAMES.index(f) for f in factors]
    z, ws = source.base_latents(range(seed, seed + seeds))
    mean, spread = np.zeros((len(directions), len(factors))), np.zeros((len(directions), len(factors)))
    for k, d in enumerate(directions):
        rates, noise = direction_rates(source, probe, d, z, ws, span, steps, cancelled)
        rates, noise = rates[:, cols], noise[:, cols]
        # RMS over seeds with the fits' own noise variance taken out: reading noise averages to zero in a
        # slope but not in its magnitude, and would otherwise show as a small change of every factor.
        mean[k] = np.sqrt(np.maximum(0.0, (rates ** 2 - noise).mean(0)))
        spread[k] = rates.std(0, ddof=1)
        if progress is not None:
            progress((k + 1) / len(directions))
    return Response(list(directions), factors, mean, spread, seeds)


def _entropy(p: np.ndarray, axis: int) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.where(p > 0, p * np.log(p), 0.0).sum(axis)


def score(R: np.ndarray) -> Scores:
    """The scores of a response matrix R [D, F] (module docstring)."""
    R = np.clip(np.asarray(R, dtype=np.float64), 0.0, None)
    n_dirs, n_factors = R.shape
    strength = R.sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        purity = np.where(strength[:, None] > 0, R / strength[:, None], 0.0)
        col = R.sum(0)
        q = np.where(col[None] > 0, R / col[None], 0.0)
        top = R.max(0)
        relative = np.where(top[None] > 0, R / top[None], 0.0)
    disent = np.where(strength > 0, 1.0 - _entropy(purity, 1) / math.log(n_factors) if n_factors > 1 else 1.0, 0.0)
    h_q = _entropy(q, 0)
    completeness = np.where(col > 0, 1.0 - h_q / math.log(n_dirs) if n_dirs > 1 else 1.0, 0.0)
    needed = np.where(col > 0, np.exp(h_q), 0.0)
    sc = purity * relative
    best = sc.argmax(0)
    ordered = np.sort(R, 0)[::-1]
    second = ordered[1] if n_dirs > 1 else np.zeros(n_factors)
    gap = np.where(top > 0, (top - second) / np.where(top > 0, top, 1.0), 0.0)
    weight = strength / strength.sum() if strength.sum() > 0 else np.zeros(n_dirs)
    return Scores(strength, purity, purity.max(1), purity.argmax(1), disent, completeness, needed, sc, best, gap,
                  float(sc.max(0).mean()), float((weight * disent).sum()), float(completeness.mean()))


# -- the report -------------------------------------------------------------------------------------

def _direction_entry(d: Direction) -> dict:
    entry: dict = {"name": d.name, "space": d.space}
    if d.layers is not None:
        entry["layers"] = list(d.layers)
    if d.code is not None:
        entry["code"] = list(d.code)
    return entry


def build_report(response: Response, scores: Scores, about: dict) -> dict:
    """The JSON report: ``about`` (model, method, seeds, ...) plus the matrix and the scores."""
    names = [d.name for d in response.directions]
    f = response.factors
    return {
        "format": FORMAT, "format_version": FORMAT_VERSION, **about, "seeds": response.seeds,
        "factors": f, "directions": [_direction_entry(d) for d in response.directions],
        "units": "change of the probe's reading per unit step, as a fraction of the factor's range in the model's "
                 "data (shape: total-variation distance of the class probabilities); see ganstudio/engine/analysis.py",
        "response": response.mean.tolist(), "spread": response.spread.tolist(),
        "per_direction": [{"name": names[i], "main_factor": f[int(scores.main_factor[i])],
                           "share": float(scores.share[i]), "disentanglement": float(scores.disentanglement[i]),
                           "strength": float(scores.strength[i])} for i in range(len(names))],
        "per_factor": [{"factor": f[j], "best_direction": names[int(scores.best[j])],
                        "best_score": float(scores.score[scores.best[j], j]),
                        "completeness": float(scores.completeness[j]),
                        "directions_needed": float(scores.directions_needed[j]), "gap": float(scores.gap[j])}
                       for j in range(len(f))],
        "overall": {"score": scores.overall, "disentanglement": scores.overall_disentanglement,
                    "completeness": scores.overall_completeness},
    }


def analyze(source: ImageSource, directions: Sequence[Direction], probe, about: dict, **kw) -> dict:
    """Measure, score and report in one call (``kw``: measure's seeds, seed, span, steps, progress, cancelled)."""
    response = measure(source, directions, probe, **kw)
    about = {"model": source.label, "data": source.variant, "span": kw.get("span", DEFAULT_SPAN),
             "steps": kw.get("steps", DEFAULT_STEPS), "seed": kw.get("seed", 0), **about}
    return build_report(response, score(response.mean), about)


# -- the heat map -----------------------------------------------------------------------------------

# A perceptually ordered dark-blue -> teal -> yellow ramp (viridis-like), sampled at 5 stops.
_RAMP = np.array([[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]], dtype=np.float64)


def ramp_color(value: float) -> tuple[int, int, int]:
    """A value in [0, 1] -> RGB on the heat map's colour ramp."""
    x = min(max(float(value), 0.0), 1.0) * (len(_RAMP) - 1)
    i = min(int(x), len(_RAMP) - 2)
    c = _RAMP[i] + (x - i) * (_RAMP[i + 1] - _RAMP[i])
    return int(c[0] + 0.5), int(c[1] + 0.5), int(c[2] + 0.5)


def relative_matrix(report: dict) -> np.ndarray:
    """The response with each factor's column scaled to its largest entry (what the heat map colours)."""
    R = np.asarray(report["response"], dtype=np.float64)
    top = R.max(0, initial=0.0)
    return np.divide(R, top, out=np.zeros_like(R), where=top > 0)


def heatmap_image(report: dict, cell: int = 44) -> np.ndarray:
    """The report's matrix as an RGB image (uint8 [H, W, 3]): colour = response relative to the factor's
    strongest direction, text = the response; right column: each direction's share and main factor."""
    from PIL import Image, ImageDraw, ImageFont
    R, rel = np.asarray(report["response"]), relative_matrix(report)
    rows = [d["name"] for d in report["directions"]]
    cols = report["factors"]
    font = ImageFont.load_default()
    left, top, right = 96, 40, 130
    img = Image.new("RGB", (left + cell * len(cols) + right, top + cell // 2 * len(rows) + 44), "white")
    draw = ImageDraw.Draw(img)
    h = cell // 2
    for j, name in enumerate(cols):
        draw.text((left + j * cell + 2, 4 + (j % 2) * 14), name[:10], fill="black", font=font)
    for i, name in enumerate(rows):
        y = top + i * h
        draw.text((4, y + 4), name[:14], fill="black", font=font)
        for j in range(len(cols)):
            color = ramp_color(rel[i, j])
            draw.rectangle([left + j * cell, y, left + (j + 1) * cell - 1, y + h - 1], fill=color)
            ink = "black" if rel[i, j] > 0.55 else "white"
            draw.text((left + j * cell + 3, y + 4), f"{R[i, j]:.3f}"[:6], fill=ink, font=font)
        p = report["per_direction"][i]
        draw.text((left + len(cols) * cell + 6, y + 4), f"{p['share']:.2f} {p['main_factor']}", fill="black", font=font)
    o = report["overall"]
    draw.text((4, top + len(rows) * h + 6), f"{report.get('model', '')} / {report.get('method', '')}: overall "
              f"{o['score']:.3f}, D {o['disentanglement']:.3f}, C {o['completeness']:.3f}", fill="black", font=font)
    draw.text((4, top + len(rows) * h + 24), "colour: response / factor's max; right: share, main factor",
              fill="black", font=font)
    return np.asarray(img)
