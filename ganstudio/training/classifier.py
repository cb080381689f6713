"""The small Fashion-MNIST classifier whose features the metrics use (our stand-in for Inception).

Inception weights cannot be fetched offline, so GAN Studio ships its own feature network:
a three-block CNN on 32x32 grey images in [-1, 1] (Fashion-MNIST padded by 2 px) with a
128-d penultimate layer.  Its recipe is :func:`train_classifier`; rebuild the shipped file with

    python -m ganstudio.training.classifier --out pretrained/fmnist_classifier.safetensors

which trains deterministically from a seed on CPU in a few minutes, then stores the weights,
the test accuracy, and the feature statistics of the 10,000 test images (mean, covariance
and a fixed subset of features for precision/recall) so that the metrics work without the
data set installed.  File format: safetensors tensors ``net.*`` (weights) and ``stats.*``,
with JSON metadata under the key ``ganstudio_classifier``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from ganstudio.pretrained import PRETRAINED_DIR

DEFAULT_PATH = PRETRAINED_DIR / "fmnist_classifier.safetensors"  # shipped inside the package when installed
EMOJI_PATH = PRETRAINED_DIR / "emoji_classifier.safetensors"  # the emoji group classifier (RGB 64 px, 9 groups)
META_KEY = "ganstudio_classifier"
FORMAT = "ganstudio-classifier"
FORMAT_VERSION = 1


class ClassifierError(ValueError):
    """The classifier file is missing or not one of ours."""


@dataclass
class ClassifierConfig:
    in_channels: int = 1  # grey input; colour images are converted to luma first
    resolution: int = 32  # Fashion-MNIST's 28 px padded by 2 px on each side
    widths: tuple = (32, 64, 128)  # channels of the three conv blocks (each halves the resolution)
    feature_dim: int = 128  # the penultimate layer: the feature space of FCD and precision/recall
    num_classes: int = 10
    dropout: float = 0.3  # on the features during training only


class FMNISTClassifier(nn.Module):
    """conv-BN-ReLU-maxpool x3, 2x2 average pool, linear to 128 features, linear to logits."""

    def __init__(self, cfg: ClassifierConfig = ClassifierConfig()):
        super().__init__()
        self.cfg = cfg
        blocks: list[nn.Module] = []
        ch = cfg.in_channels
        for w in cfg.widths:
            blocks += [nn.Conv2d(ch, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True),
                       nn.MaxPool2d(2)]
            ch = w
        self.trunk = nn.Sequential(*blocks)
        # A 2x2 grid keeps coarse layout (top vs bottom of a garment) at a quarter of the weights.
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.fc_features = nn.Linear(ch * 4, cfg.feature_dim)
        self.fc_logits = nn.Linear(cfg.feature_dim, cfg.num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """[N, 1, 32, 32] in [-1, 1] -> pre-activation features [N, 128] (closer to Gaussian than post-ReLU)."""
        return self.fc_features(self.pool(self.trunk(x)).flatten(1))

    def logits_from_features(self, f: torch.Tensor) -> torch.Tensor:
        return self.fc_logits(F.dropout(F.relu(f), self.cfg.dropout, self.training))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits_from_features(self.features(x))


@dataclass
class LoadedClassifier:
    net: FMNISTClassifier  # eval mode, no grad
    meta: dict
    stats: dict = field(default_factory=dict)  # "mu" [D] f64, "sigma" [D, D] f64, "pr_features" [M, D] f32

    @property
    def class_names(self) -> list[str]:
        return list(self.meta.get("classes") or [])

    @property
    def test_accuracy(self) -> Optional[float]:
        return self.meta.get("test_accuracy")


_CACHE: dict[tuple, LoadedClassifier] = {}


def load_classifier(path: str | os.PathLike | None = None, device: str | torch.device = "cpu") -> LoadedClassifier:
    """Load the shipped (or a given) classifier file; cached per path and device."""
    from ganstudio._io import read_safetensors

    path = Path(path) if path is not None else DEFAULT_PATH
    key = (str(path.resolve()), str(device), path.stat().st_mtime if path.is_file() else 0)
    if key in _CACHE:
        return _CACHE[key]
    if path.is_dir():
        raise ClassifierError(f"{path}: is a folder, not a classifier file")
    if not path.is_file():
        raise ClassifierError(f"{path}: classifier file not found (rebuild it with "
                              f"`python -m ganstudio.training.classifier --out {path}`)")
    try:
        md, tensors = read_safetensors(path)
    except ValueError as e:
        raise ClassifierError(str(e)) from None
    try:
        meta = json.loads(md[META_KEY])
        assert meta.get("format") == FORMAT
    except (KeyError, ValueError, AssertionError):
        raise ClassifierError(f"{path}: not a GAN Studio classifier file (no {META_KEY!r} metadata)") from None
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise ClassifierError(f"{path}: written by a newer GAN Studio (classifier format {meta['format_version']})")
    arch = dict(meta["config"])
    arch["widths"] = tuple(arch["widths"])
    net = FMNISTClassifier(ClassifierConfig(**arch))
    weights = {k[4:]: v.float() for k, v in tensors.items() if k.startswith("net.")}
    try:
        net.load_state_dict(weights)
    except RuntimeError as e:
        raise ClassifierError(f"{path}: weights do not match the stored architecture: {str(e).splitlines()[0]}") from None
    net.eval().requires_grad_(False).to(device)
    stats = {k[6:]: v for k, v in tensors.items() if k.startswith("stats.")}
    if "mu" in stats:
        stats["mu"] = stats["mu"].double()
        stats["sigma"] = stats["sigma"].double()
    if "pr_features" in stats:
        stats["pr_features"] = stats["pr_features"].float()
    out = LoadedClassifier(net, meta, stats)
    _CACHE[key] = out
    return out


# -- the recipe -----------------------------------------------------------------------------------

@dataclass
class TrainRecipe:
    seed: int = 0
    epochs: int = 4
    batch: int = 128
    lr: float = 2e-3  # Adam, one-cycle schedule (warm-up then cosine decay) for a short run
    weight_decay: float = 5e-4
    hflip: bool = True  # garments are left-right symmetric enough; flips cut over-fitting
    shift: int = 2  # random translation by up to this many pixels (the padding absorbs it)
    pad_value: float = -1.0  # what a shift uncovers: the data's background (-1 = Fashion-MNIST's black)
    pr_subset: int = 3000  # test features kept for precision/recall (stored as float16)
    threads: int = 1


def _augment(x: torch.Tensor, gen: torch.Generator, recipe: TrainRecipe) -> torch.Tensor:
    n = len(x)
    if recipe.hflip:
        flip = torch.rand(n, generator=gen) < 0.5
        x = torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)
    if recipe.shift:
        s = recipe.shift
        padded = F.pad(x, (s, s, s, s), value=recipe.pad_value)
        dx = torch.randint(0, 2 * s + 1, (n,), generator=gen)
        dy = torch.randint(0, 2 * s + 1, (n,), generator=gen)
        r = x.shape[-1]
        # Gather shifted crops with one index operation rather than a Python loop per image.
        rows = (dy.view(-1, 1) + torch.arange(r)).view(n, 1, r, 1).expand(n, x.shape[1], r, r + 2 * s)
        x = padded.gather(2, rows)
        cols = (dx.view(-1, 1) + torch.arange(r)).view(n, 1, 1, r).expand(n, x.shape[1], r, r)
        x = x.gather(3, cols)
    return x


@torch.no_grad()
def feature_batches(net: FMNISTClassifier, images: torch.Tensor, batch: int = 500):
    """Yield (features, logits) for float images [N, C, R, R] in [-1, 1] (the net's geometry), batch by batch."""
    for i in range(0, len(images), batch):
        f = net.features(images[i:i + batch])
        yield f, net.logits_from_features(f)


def train_classifier(train_x: torch.Tensor, train_y: torch.Tensor, recipe: TrainRecipe = TrainRecipe(),
                     cfg: ClassifierConfig = ClassifierConfig(), log=print) -> FMNISTClassifier:
    """Train the classifier deterministically on float images [N, C, R, R] in [-1, 1] (cfg's geometry)."""
    torch.manual_seed(recipe.seed)
    gen = torch.Generator().manual_seed(recipe.seed)
    net = FMNISTClassifier(cfg)
    opt = torch.optim.AdamW(net.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    steps_per_epoch = len(train_x) // recipe.batch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=recipe.lr, total_steps=recipe.epochs * steps_per_epoch,
                                                pct_start=0.15)
    t0 = time.time()
    for epoch in range(recipe.epochs):
        net.train()
        order = torch.randperm(len(train_x), generator=gen)
        total, correct, loss_sum = 0, 0, 0.0
        for s in range(steps_per_epoch):
            idx = order[s * recipe.batch:(s + 1) * recipe.batch]
            x = _augment(train_x[idx], gen, recipe)
            y = train_y[idx]
            logits = net(x)
            loss = F.cross_entropy(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += len(y)
            correct += int((logits.argmax(1) == y).sum())
            loss_sum += float(loss.detach()) * len(y)
        log(f"epoch {epoch + 1}/{recipe.epochs}: loss {loss_sum / total:.4f}, train acc {correct / total:.4f}, "
            f"{time.time() - t0:.0f} s")
    return net.eval()


def save_classifier(path: str | os.PathLike, net: FMNISTClassifier, meta: dict, stats: dict) -> Path:
    """Write weights (float32), stats and JSON metadata to one safetensors file, atomically."""
    from ganstudio._io import write_safetensors

    tensors = {"net." + k: v.detach().cpu().contiguous().clone() for k, v in net.state_dict().items()}
    for k, v in stats.items():
        tensors["stats." + k] = v.detach().cpu().contiguous().clone()
    cfg = asdict(net.cfg)
    cfg["widths"] = list(cfg["widths"])
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "config": cfg, **meta}
    return write_safetensors(path, tensors, {META_KEY: json.dumps(meta)})


def fit(data: str, recipe: TrainRecipe, cfg: ClassifierConfig, limit: Optional[int] = None):
    """(net, (train x, y), (test x, y), training seconds): the recipe on a data set's splits, deterministically."""
    from ganstudio.training.data import make_dataset
    torch.set_num_threads(recipe.threads)
    torch.use_deterministic_algorithms(True)
    train = make_dataset(data, cfg.resolution, cfg.in_channels, split="train", limit=limit)
    test = make_dataset(data, cfg.resolution, cfg.in_channels, split="test")
    tx, ty = train.batch(torch.arange(len(train)))
    vx, vy = test.batch(torch.arange(len(test)))
    t0 = time.time()
    net = train_classifier(tx, ty, recipe, cfg)
    return net, (tx, ty), (vx, vy), time.time() - t0


def main(argv: Optional[list[str]] = None) -> int:
    from ganstudio.training import metrics
    from ganstudio.training.data import FASHION_MNIST_CLASSES, DatasetError

    p = argparse.ArgumentParser(prog="python -m ganstudio.training.classifier",
                                description="Train a feature classifier used by the metrics: Fashion-MNIST's "
                                            "(--data fashion-mnist) or the emoji group classifier (--data emoji).")
    p.add_argument("--out", default=None, help=f"output .safetensors file (default: {DEFAULT_PATH.name}, "
                                                f"or {EMOJI_PATH.name} for emoji)")
    p.add_argument("--data", default="fashion-mnist", help="Fashion-MNIST IDX folder or name, or emoji")
    p.add_argument("--seed", type=int, default=TrainRecipe.seed)
    p.add_argument("--epochs", type=int, default=None, help=f"training epochs (default {TrainRecipe.epochs}; "
                                                             f"emoji {EMOJI_RECIPE.epochs})")
    p.add_argument("--threads", type=int, default=TrainRecipe.threads)
    p.add_argument("--limit", type=int, default=None, help="use only the first N training images (for a quick try)")
    args = p.parse_args(argv)
    from ganstudio.training.emoji import is_emoji_spec
    if is_emoji_spec(args.data):
        return emoji_main(args)
    args.out = args.out or str(DEFAULT_PATH)
    recipe = TrainRecipe(seed=args.seed, epochs=args.epochs or TrainRecipe.epochs, threads=args.threads)
    try:
        net, (tx, ty), (vx, vy), train_seconds = fit(args.data, recipe, ClassifierConfig(), args.limit)
    except DatasetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    feats, probs = [], []
    for f, logits in feature_batches(net, vx):
        feats.append(f)
        probs.append(logits.softmax(1))
    feats, probs = torch.cat(feats), torch.cat(probs)
    acc = float((probs.argmax(1) == vy).float().mean())
    mu, sigma = metrics.feature_stats(feats)
    # A fixed, class-balanced-in-expectation subset: the first pr_subset test images in file order.
    pr = feats[:recipe.pr_subset].to(torch.float16)
    train_feats = torch.cat([f for f, _ in feature_batches(net, tx[:10000])])
    reference = {
        "fcd_train10k_vs_test": round(metrics.frechet_distance(*metrics.feature_stats(train_feats), mu, sigma), 4),
        "is_test": round(metrics.inception_score(probs), 4),
    }
    meta = {
        "classes": FASHION_MNIST_CLASSES, "input": "32x32 grey in [-1, 1]; Fashion-MNIST 28 px padded by 2 px",
        "test_accuracy": round(acc, 4), "train_seconds": round(train_seconds, 1), "recipe": asdict(recipe),
        "stats": {"source": "Fashion-MNIST test split", "n": len(feats), "pr_n": len(pr), "pr_k": 3},
        "reference": reference, "torch": torch.__version__,
    }
    out = save_classifier(args.out, net, meta, {"mu": mu.double(), "sigma": sigma.double(), "pr_features": pr})
    print(f"test accuracy {acc:.4f}; reference {reference}; wrote {out} ({out.stat().st_size / 1e6:.2f} MB) "
          f"in {train_seconds:.0f} s of training")
    return 0


# -- the emoji group classifier ---------------------------------------------------------------------

# Four blocks for 64 px colour (a 4x4 map before the 2x2 pool); flips and 4 px shifts on the white
# background; 8 epochs of ~3300 train glyphs (15 to 25 min on one CPU thread of a busy 2-core machine).
EMOJI_CONFIG = ClassifierConfig(in_channels=3, resolution=64, widths=(16, 32, 64, 128), feature_dim=128,
                                num_classes=9)
EMOJI_RECIPE = TrainRecipe(epochs=8, batch=64, lr=2e-3, shift=4, pad_value=1.0, pr_subset=0)


def _features_probs(net: FMNISTClassifier, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    feats, probs = [], []
    for f, logits in feature_batches(net, x):
        feats.append(f)
        probs.append(logits.softmax(1))
    return torch.cat(feats), torch.cat(probs)


def emoji_reference(train_f: torch.Tensor, test_f: torch.Tensor, test_p: torch.Tensor) -> dict:
    """The real-data figures beside a model's: the test split against the train split, at the test split's n."""
    from ganstudio.training import metrics
    n = len(test_f)
    mu, sigma = metrics.feature_stats(train_f)
    precision, recall = metrics.precision_recall(train_f[:n], test_f, k=3)
    return {"n": n, "fcd_test_vs_train": round(metrics.frechet_distance(*metrics.feature_stats(test_f), mu, sigma), 4),
            "precision_test_vs_train": round(precision, 4), "recall_test_vs_train": round(recall, 4),
            "is_test": round(metrics.inception_score(test_p), 4)}


def emoji_main(args) -> int:
    """Train the emoji group classifier on the emoji train split; stats of the train split's features."""
    from dataclasses import replace

    from ganstudio.training import metrics
    from ganstudio.training.data import DatasetError
    from ganstudio.training.emoji import GROUPS
    recipe = replace(EMOJI_RECIPE, seed=args.seed, epochs=args.epochs or EMOJI_RECIPE.epochs, threads=args.threads)
    try:
        net, (tx, ty), (vx, vy), train_seconds = fit("emoji", recipe, EMOJI_CONFIG, args.limit)
    except DatasetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    train_f, _ = _features_probs(net, tx)
    test_f, test_p = _features_probs(net, vx)
    hit = test_p.argmax(1) == vy
    acc = float(hit.float().mean())
    balanced = float(torch.stack([hit[vy == k].float().mean() for k in vy.unique()]).mean())
    # The train glyphs are in file order (grouped): a fixed shuffle, so any first m of them span every group.
    order = torch.randperm(len(train_f), generator=torch.Generator().manual_seed(0))
    train_f = train_f[order]
    mu, sigma = metrics.feature_stats(train_f)
    meta = {"classes": GROUPS, "input": "64x64 RGB in [-1, 1]; emoji glyphs on white", "data": "emoji",
            "test_accuracy": round(acc, 4), "balanced_test_accuracy": round(balanced, 4),
            "train_seconds": round(train_seconds, 1), "recipe": asdict(recipe),
            "stats": {"source": "emoji train split (the glyphs the emoji models train on)", "n": len(train_f),
                      "pr_n": len(train_f), "pr_k": 3},
            "reference": emoji_reference(train_f, test_f, test_p), "torch": torch.__version__}
    out = save_classifier(args.out or EMOJI_PATH, net, meta,
                          {"mu": mu.double(), "sigma": sigma.double(), "pr_features": train_f.to(torch.float16)})
    print(f"test accuracy {acc:.4f} (balanced {balanced:.4f}); reference {meta['reference']}; wrote {out} "
          f"({out.stat().st_size / 1e6:.2f} MB) in {train_seconds:.0f} s of training")
    return 0


if __name__ == "__main__":
    sys.exit(main())
