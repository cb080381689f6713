"""The factor probe: a small CNN that reads the seven ``shapes`` factors back from an image.

Direction scoring (engine/analysis.py) needs to know what a latent step changed; the probe is
its measuring instrument.  One probe serves both variants: it is trained on an even mix of
``shapes`` and ``shapes-upright`` images (32 px RGB in [-1, 1]) drawn fresh from the procedural
renderer every epoch, so it never sees the same image twice.  Outputs, one head each:

  shape           4 logits (cross-entropy)
  object_hue      (sin, cos) of 2 pi hue      hue is a circle: 0.99 and 0.01 are neighbours
  background_hue  (sin, cos) of 2 pi hue
  scale           scaled to [0, 1] over [0.15, 0.36] (both variants' ranges)
  rotation        (sin, cos) of 4 theta       a square repeats every 90 degrees, and [-45, 45) is
                                              exactly one such period; circles carry no angle and
                                              are left out of this loss
  x, y            scaled to [0, 1] over [0.35, 0.65]

Rebuild the shipped file (deterministic from the seed on one CPU thread) with

    python -m ganstudio.training.factor_probe --out pretrained/shapes_factor_probe.safetensors

It prints and stores the held-out accuracy per variant: R² per continuous factor (for the
circular ones on their (sin, cos) pair, rotation without circles) and accuracy for the shape.
File format: safetensors tensors ``net.*``, JSON metadata under the key ``ganstudio_factor_probe``.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NamedTuple, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ganstudio.pretrained import PRETRAINED_DIR
from ganstudio.training.shapes import FACTOR_NAMES, SHAPE_NAMES, VARIANT_RANGES, render_shapes, sample_factors

DEFAULT_PATH = PRETRAINED_DIR / "shapes_factor_probe.safetensors"
META_KEY = "ganstudio_factor_probe"
FORMAT = "ganstudio-factor-probe"
FORMAT_VERSION = 1
VARIANTS = tuple(VARIANT_RANGES)  # ("shapes", "shapes-upright")
# Linear factors are scaled over the union of both variants' ranges.
LINEAR_RANGES = {"scale": (0.15, 0.36), "x": (0.35, 0.65), "y": (0.35, 0.65)}
CIRCLE = SHAPE_NAMES.index("circle")
ROTATION_PERIOD = 90.0  # degrees: the square's symmetry, and the width of the rotation range
# Output columns after the shape logits: name -> slice into the regression block.
_REG = {"object_hue": slice(0, 2), "background_hue": slice(2, 4), "scale": slice(4, 5), "rotation": slice(5, 7),
        "x": slice(7, 8), "y": slice(8, 9)}
_REG_DIM = 9


class ProbeError(ValueError):
    """The probe file is missing or not one of ours, or the images do not suit it."""


@dataclass
class ProbeConfig:
    resolution: int = 32  # images of other sizes are resized (area / bilinear) before the probe
    widths: tuple = (32, 64, 128)  # stride-2 3x3 conv blocks (a full-resolution stem cost 3x the time)
    hidden: int = 256  # the fully connected layer (a flatten keeps where things are: x and y need it)


class FactorProbe(nn.Module):
    """three stride-2 conv blocks (BN, ReLU), flatten, linear 256, linear to 4 + 9 outputs."""

    def __init__(self, cfg: ProbeConfig = ProbeConfig()):
        super().__init__()
        self.cfg = cfg
        layers: list[nn.Module] = []
        ch = 3
        for w in cfg.widths:
            layers += [nn.Conv2d(ch, w, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True)]
            ch = w
        self.trunk = nn.Sequential(*layers)
        side = cfg.resolution // 2 ** len(cfg.widths)
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(ch * side * side, cfg.hidden), nn.ReLU(inplace=True),
                                nn.Linear(cfg.hidden, len(SHAPE_NAMES) + _REG_DIM))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[N, 3, R, R] in [-1, 1] -> [N, 13]: shape logits, then the regression block."""
        return self.fc(self.trunk(x))


class Prediction(NamedTuple):
    """What the probe reads from N images (numpy, float64)."""
    shape_probs: np.ndarray  # [N, 4]
    factors: np.ndarray  # [N, 7] in FACTOR_NAMES order and units (shape = the most likely class)


def encode_targets(factors: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Factors [N, 7] -> (shape labels [N], regression targets [N, 9], rotation mask [N] (not a circle))."""
    f = np.asarray(factors, dtype=np.float64)
    col = {n: f[:, i] for i, n in enumerate(FACTOR_NAMES)}
    reg = np.empty((len(f), _REG_DIM))
    for name in ("object_hue", "background_hue"):
        a = 2 * math.pi * col[name]
        reg[:, _REG[name]] = np.stack([np.sin(a), np.cos(a)], 1)
    a = np.radians(col["rotation"]) * (360.0 / ROTATION_PERIOD)
    reg[:, _REG["rotation"]] = np.stack([np.sin(a), np.cos(a)], 1)
    for name, (lo, hi) in LINEAR_RANGES.items():
        reg[:, _REG[name]] = ((col[name] - lo) / (hi - lo))[:, None]
    labels = torch.from_numpy(col["shape"].astype(np.int64))
    return labels, torch.from_numpy(reg).float(), torch.from_numpy(col["shape"] != CIRCLE)


def decode_outputs(out: torch.Tensor) -> Prediction:
    """Probe outputs [N, 13] -> Prediction in the factors' own units."""
    out = out.detach().to("cpu", torch.float64)
    k = len(SHAPE_NAMES)
    probs = out[:, :k].softmax(1).numpy()
    reg = out[:, k:].numpy()
    f = np.empty((len(out), len(FACTOR_NAMES)))
    f[:, 0] = probs.argmax(1)
    for name in ("object_hue", "background_hue"):
        s, c = reg[:, _REG[name]].T
        f[:, FACTOR_NAMES.index(name)] = np.mod(np.arctan2(s, c) / (2 * math.pi), 1.0)
    s, c = reg[:, _REG["rotation"]].T
    f[:, FACTOR_NAMES.index("rotation")] = np.degrees(np.arctan2(s, c)) * (ROTATION_PERIOD / 360.0)
    for name, (lo, hi) in LINEAR_RANGES.items():
        f[:, FACTOR_NAMES.index(name)] = lo + (hi - lo) * reg[:, _REG[name]][:, 0]
    return Prediction(probs, f)


def images_to_input(images, resolution: int = 32) -> torch.Tensor:
    """uint8 images [N, H, W, 3] (the renderer's layout) or [N, 3, H, W] -> float [N, 3, R, R] in [-1, 1]."""
    x = torch.as_tensor(np.asarray(images))
    if x.ndim != 4:
        raise ProbeError(f"images must be a batch [N, H, W, C], got shape {list(x.shape)}")
    if x.shape[1] != 3 and x.shape[-1] in (1, 3, 4):
        x = x.permute(0, 3, 1, 2)
    if x.shape[1] != 3:
        raise ProbeError(f"the factor probe reads RGB images (shapes data); these have {x.shape[1]} channel(s)")
    x = x.float() / 127.5 - 1.0 if x.dtype == torch.uint8 else x.float()
    if x.shape[-1] != resolution or x.shape[-2] != resolution:
        mode = "area" if x.shape[-1] > resolution else "bilinear"
        x = F.interpolate(x, size=(resolution, resolution), mode=mode, **({} if mode == "area" else
                                                                           {"align_corners": False}))
    return x.contiguous()


class LoadedProbe(NamedTuple):
    net: FactorProbe  # eval mode, no grad
    meta: dict

    @torch.no_grad()
    def predict(self, images, batch: int = 512) -> Prediction:
        """Read the factors of uint8 images [N, H, W, 3] (any size; resized to the probe's)."""
        x = images_to_input(images, self.net.cfg.resolution)
        outs = [self.net(x[i:i + batch]) for i in range(0, len(x), batch)]
        return decode_outputs(torch.cat(outs) if outs else torch.zeros(0, len(SHAPE_NAMES) + _REG_DIM))


_CACHE: dict = {}


def load_probe(path: str | os.PathLike | None = None) -> LoadedProbe:
    """Load the shipped (or a given) probe file on the CPU; cached per path and modification time."""
    from ganstudio._io import read_safetensors

    path = Path(path) if path is not None else DEFAULT_PATH
    if path.is_dir():
        raise ProbeError(f"{path}: is a folder, not a factor probe file")
    if not path.is_file():
        raise ProbeError(f"{path}: factor probe file not found (rebuild it with "
                         f"`python -m ganstudio.training.factor_probe --out {path}`)")
    key = (str(path.resolve()), path.stat().st_mtime)
    if key in _CACHE:
        return _CACHE[key]
    try:
        md, tensors = read_safetensors(path)
    except ValueError as e:
        raise ProbeError(str(e)) from None
    try:
        meta = json.loads(md[META_KEY])
        assert isinstance(meta, dict) and meta.get("format") == FORMAT
        if meta.get("format_version", 0) > FORMAT_VERSION:
            raise ProbeError(f"{path}: written by a newer GAN Studio (probe format {meta['format_version']})")
        arch = dict(meta["config"])
        cfg = ProbeConfig(resolution=int(arch["resolution"]), widths=tuple(int(w) for w in arch["widths"]),
                          hidden=int(arch["hidden"]))
        # A hostile header must not make us allocate gigabytes before the weights fail to match.
        if not (8 <= cfg.resolution <= 256 and 1 <= len(cfg.widths) <= 6 and all(1 <= w <= 1024 for w in cfg.widths)
                and 1 <= cfg.hidden <= 4096 and cfg.resolution % 2 ** len(cfg.widths) == 0):
            raise ValueError(f"architecture out of range: {arch}")
        net = FactorProbe(cfg)
        net.load_state_dict({k[4:]: v.float() for k, v in tensors.items() if k.startswith("net.")})
    except ProbeError:
        raise
    except (KeyError, ValueError, TypeError, AssertionError, RuntimeError) as e:
        raise ProbeError(f"{path}: not a GAN Studio factor probe file ({type(e).__name__}: "
                         f"{str(e).splitlines()[0] if str(e) else 'bad metadata'})") from None
    out = LoadedProbe(net.eval().requires_grad_(False), meta)
    _CACHE[key] = out
    return out


def save_probe(path: str | os.PathLike, net: FactorProbe, meta: dict) -> Path:
    """Weights (float32) and JSON metadata in one safetensors file, written atomically."""
    from ganstudio._io import write_safetensors

    tensors = {"net." + k: v.detach().cpu().contiguous().clone() for k, v in net.state_dict().items()}
    cfg = asdict(net.cfg)
    cfg["widths"] = list(cfg["widths"])
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "config": cfg, **meta}
    return write_safetensors(path, tensors, {META_KEY: json.dumps(meta)})


# -- the recipe -----------------------------------------------------------------------------------

@dataclass
class ProbeRecipe:
    seed: int = 0
    epochs: int = 12
    per_variant: int = 8_000  # fresh images of each variant per epoch
    batch: int = 128
    lr: float = 2e-3  # AdamW, one-cycle schedule
    weight_decay: float = 1e-4
    shape_weight: float = 0.5  # cross-entropy weight beside the summed squared errors
    eval_n: int = 4000  # held-out images per variant (the data sets' test split, seed 0)
    threads: int = 1


def epoch_data(recipe: ProbeRecipe, epoch: int, resolution: int = 32):
    """One epoch's fresh images (float, [-1, 1]) and factors: both variants, shuffled together."""
    parts = []
    for v, variant in enumerate(VARIANTS):
        # Seeds 1000 + ...: streams apart from the data sets' own seed 0 that the GANs learned from.
        parts.append(sample_factors(recipe.per_variant, 1000 + recipe.seed * 100 + epoch * 2 + v, "train", variant))
    factors = np.concatenate(parts)
    order = np.random.Generator(np.random.PCG64([recipe.seed, epoch])).permutation(len(factors))
    factors = factors[order]
    return images_to_input(render_shapes(factors, resolution), resolution), factors


def _loss(out: torch.Tensor, labels, reg, rot_mask, shape_weight: float) -> torch.Tensor:
    k = len(SHAPE_NAMES)
    err = (out[:, k:] - reg) ** 2
    err[:, _REG["rotation"]] = err[:, _REG["rotation"]] * rot_mask[:, None]
    return shape_weight * F.cross_entropy(out[:, :k], labels) + err.sum(1).mean()


def train_probe(recipe: ProbeRecipe = ProbeRecipe(), cfg: ProbeConfig = ProbeConfig(), log=print) -> FactorProbe:
    """Train the probe deterministically (given one thread) from ``recipe.seed``."""
    torch.manual_seed(recipe.seed)
    net = FactorProbe(cfg)
    opt = torch.optim.AdamW(net.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    steps = (recipe.per_variant * len(VARIANTS)) // recipe.batch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=recipe.lr, total_steps=recipe.epochs * steps,
                                                pct_start=0.15)
    t0 = time.time()
    for epoch in range(recipe.epochs):
        x, factors = epoch_data(recipe, epoch, cfg.resolution)
        labels, reg, rot_mask = encode_targets(factors)
        net.train()
        loss_sum = 0.0
        for s in range(steps):
            idx = slice(s * recipe.batch, (s + 1) * recipe.batch)
            loss = _loss(net(x[idx]), labels[idx], reg[idx], rot_mask[idx], recipe.shape_weight)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += float(loss.detach())
        log(f"epoch {epoch + 1}/{recipe.epochs}: loss {loss_sum / steps:.4f}, {time.time() - t0:.0f} s")
    return net.eval()


def _r2(pred: np.ndarray, true: np.ndarray) -> Optional[float]:
    """1 - SSE / SST over all columns of [N, k] (k = 2 for a (sin, cos) pair); None for a constant factor."""
    sst = float(((true - true.mean(0)) ** 2).sum())
    if sst <= 1e-12:
        return None
    return 1.0 - float(((pred - true) ** 2).sum()) / sst


def held_out_scores(probe: LoadedProbe, variant: str, n: int = 4000, seed: int = 0) -> dict:
    """Held-out accuracy on the ``variant`` test split: shape accuracy, R² per continuous factor, and
    the mean absolute error in each factor's units (hues in turns, rotation in degrees)."""
    factors = sample_factors(n, seed, "test", variant)
    pred = probe.predict(render_shapes(factors, probe.net.cfg.resolution).transpose(0, 2, 3, 1))
    _, true_reg, rot_mask = encode_targets(factors)
    _, pred_reg, _ = encode_targets(pred.factors)
    out: dict = {"variant": variant, "n": n, "split": f"test:{seed}",
                 "shape_accuracy": round(float((pred.factors[:, 0] == factors[:, 0]).mean()), 4), "r2": {}, "mae": {}}
    for name in ("object_hue", "background_hue", "scale", "rotation", "x", "y"):
        j = FACTOR_NAMES.index(name)
        rows = rot_mask.numpy() if name == "rotation" else slice(None)
        r2 = _r2(pred_reg.numpy()[rows][:, _REG[name]], true_reg.numpy()[rows][:, _REG[name]])
        out["r2"][name] = None if r2 is None else round(r2, 4)
        diff = pred.factors[rows, j] - factors[rows, j]
        if name.endswith("hue"):
            diff = (diff + 0.5) % 1.0 - 0.5
        elif name == "rotation":
            diff = (diff + ROTATION_PERIOD / 2) % ROTATION_PERIOD - ROTATION_PERIOD / 2
        out["mae"][name] = round(float(np.abs(diff).mean()), 5)
    out["r2_note"] = "hues and rotation on their (sin, cos) pair; rotation without circles (they have no angle)"
    return out


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ganstudio.training.factor_probe",
                                description="Train the shapes factor probe used by direction scoring.")
    p.add_argument("--out", default=str(DEFAULT_PATH), help="output .safetensors file")
    p.add_argument("--seed", type=int, default=ProbeRecipe.seed)
    p.add_argument("--epochs", type=int, default=ProbeRecipe.epochs)
    p.add_argument("--per-variant", type=int, default=ProbeRecipe.per_variant,
                   help="fresh images of each variant per epoch")
    p.add_argument("--threads", type=int, default=ProbeRecipe.threads)
    args = p.parse_args(argv)
    if args.epochs < 1 or args.per_variant < ProbeRecipe.batch or args.seed < 0 or args.threads < 1:
        print("error: --epochs and --threads must be >= 1, --per-variant >= 128, --seed >= 0", file=sys.stderr)
        return 2
    recipe = ProbeRecipe(seed=args.seed, epochs=args.epochs, per_variant=args.per_variant, threads=args.threads)
    torch.set_num_threads(recipe.threads)
    torch.use_deterministic_algorithms(True)
    t0 = time.time()
    net = train_probe(recipe, log=lambda line: print(line, flush=True))
    seconds = time.time() - t0
    probe = LoadedProbe(net.requires_grad_(False), {})
    held_out = {v: held_out_scores(probe, v, recipe.eval_n) for v in VARIANTS}
    meta = {"factors": FACTOR_NAMES, "shapes": SHAPE_NAMES, "variants": list(VARIANTS),
            "input": "32x32 RGB in [-1, 1]; other sizes resized", "held_out": held_out,
            "train_seconds": round(seconds, 1), "recipe": asdict(recipe), "torch": torch.__version__}
    out = save_probe(args.out, net, meta)
    print(json.dumps(held_out, indent=1))
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB) after {seconds:.0f} s of training")
    return 0


if __name__ == "__main__":
    sys.exit(main())
