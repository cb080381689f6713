"""Projection on held-out real images: PSNR, SSIM and feature distance per model, space and start.

For each shipped StyleGAN2 (or the --models given) and each space, the same held-out images are
projected (engine/projection.project, the command line's settings: classifier features at
GREY_FEATURES on grey models, pixels only on colour ones) from the mean latent and, in w and w+,
from the model's encoder's guess (engine/inversion_encoder.py), at the same number of steps.
Held-out images: the first N Fashion-MNIST test images for Fashion-MNIST models; fresh
`shapes-upright` renders (a seed no model trained on) for shapes models.  Baselines: the mean of
the training images (the best single image by MSE) and the start images themselves (0 steps).

Feature distance: on grey models the Euclidean distance of the shipped Fashion-MNIST classifier's
128-d features (the features FCD uses); on colour (shapes) models the distance of what the shipped
shapes factor probe reads (its 9 regression outputs: sin/cos of both hues and of the rotation,
scale, x, y on [0, 1]), with the fraction of images whose shape it reads the same ("shape kept").
CPU time is this process's (one thread) per image.

Run: nice -n 10 .venv/bin/python benchmarks/projection.py [--models a,b] [--n 8] [--steps 50,300]
     [--spaces z,w,w+] [--markdown]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

FRESH_SHAPES_SEED = 20261207  # held-out shapes renders: a stream no shipped model trained on


def held_out(model: str, info, n: int):
    """(targets [n, C, H, W] in [-1, 1], the training set's mean image [C, H, W], a description)."""
    from ganstudio.pretrained import get_entry
    from ganstudio.training.data import make_dataset
    data = (get_entry(model) or {}).get("data") or info.meta.get("training", {}).get("data")
    if str(data).startswith("shapes"):
        spec, split, what = f"{data}:{n}:{FRESH_SHAPES_SEED}", "train", f"fresh {data} renders (seed {FRESH_SHAPES_SEED})"
    else:
        spec, split, what = data, "test", f"{data} test images 0-{n - 1}"
    ds = make_dataset(spec, info.resolution, info.channels, split=split, limit=n)
    train = make_dataset(data, info.resolution, info.channels, split="train", limit=10000)
    mean = train.batch(torch.arange(len(train)))[0].mean(0)
    return ds.batch(torch.arange(len(ds)))[0], mean, what


def scores(images, targets, classifier, probe=None) -> dict:
    from ganstudio.engine.image_quality import feature_distance, probe_distance, psnr_batch, ssim
    out = {"psnr": psnr_batch(images, targets).tolist(), "ssim": ssim(images, targets).tolist(), "kept": None}
    out["feat"] = feature_distance(images, targets, classifier).tolist() if classifier is not None else None
    if probe is not None:
        dist, same = probe_distance(images, targets, probe)
        out["feat"], out["kept"] = dist.tolist(), f"{int(same.sum())}/{len(same)}"
    return out


def run_config(G, targets, space, steps, encoder, features):
    """Project every target -> (scores of the results, scores of the starts, CPU s per image, starts used)."""
    from ganstudio.engine.projection import ProjectionSettings, project
    imgs, starts, used, cpu = [], [], [], []
    settings = ProjectionSettings(feature_weight=features)
    for t in targets:
        c0 = time.process_time()
        res = project(G, t, space=space, steps=steps, settings=settings, encoder=encoder)
        cpu.append(time.process_time() - c0)
        imgs.append(res.image)
        used.append(res.start)
        starts.append(res.start_psnr)
    return torch.stack(imgs), starts, statistics.mean(cpu), used


def fmt(values) -> str:
    return "-" if values is None else f"{statistics.mean(values):.3f}" if max(values) <= 1.0 else \
        f"{statistics.mean(values):.2f}"


def bench_model(model: str, args, rows: list) -> None:
    from ganstudio.engine.inversion_encoder import load_encoder, shipped_encoder_path
    from ganstudio.engine.projection import GREY_FEATURES, available_spaces
    from ganstudio.engine.renderer import load_model
    from ganstudio.training.classifier import load_classifier
    G, info = load_model(model, torch.device("cpu"), prepare=False)
    G = G.float()
    targets, mean_image, what = held_out(model, info, args.n)
    classifier = load_classifier().net if info.channels == 1 else None
    probe = None
    if info.channels == 3:
        from ganstudio.training.factor_probe import load_probe
        probe = load_probe().net
    enc_path = shipped_encoder_path(model)
    encoder = load_encoder(enc_path).net if enc_path else None
    features = GREY_FEATURES if info.channels == 1 else 0.0
    print(f"# {model}: {len(targets)} {what}; encoder: {enc_path.name if enc_path else 'none'}", flush=True)
    base = scores(mean_image.expand_as(targets), targets, classifier, probe)
    rows.append((model, "-", "mean image (training set)", 0, base, None, 0.0))
    if encoder is not None:
        with torch.no_grad():
            guess = G.synthesis(encoder(targets), None, noise_mode="const")
        rows.append((model, "w+", "encoder guess alone", 0, scores(guess, targets, classifier, probe), None, 0.0))
    for space in [s for s in args.spaces if s in available_spaces(G)]:
        for steps in (args.steps if space == "w+" else args.steps[-1:]):  # the shorter runs in w+ only
            for start in ("mean", "encoder"):
                if start == "encoder" and (encoder is None or space == "z"):
                    continue
                imgs, start_psnr, cpu, used = run_config(G, targets, space, steps, encoder if start == "encoder"
                                                         else None, features)
                row = (model, space, f"{start} ({used.count('encoder')}/{len(used)} from the guess)"
                       if start == "encoder" else "mean latent", steps, scores(imgs, targets, classifier, probe),
                       statistics.mean(start_psnr), cpu)
                rows.append(row)
                print_row(row, flush=True)


def print_row(row, flush=False) -> None:
    model, space, start, steps, s, start_psnr, cpu = row
    sp = "-" if start_psnr is None else f"{start_psnr:.2f}"
    kept = f" ({s['kept']} shape kept)" if s["kept"] else ""
    print(f"| {model} | {space} | {start} | {steps} | {sp} | {fmt(s['psnr'])} | {fmt(s['ssim'])} | "
          f"{fmt(s['feat'])}{kept} | {cpu:.1f} |", flush=flush)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="fmnist-stylegan2,shapes-stylegan2")
    p.add_argument("--n", type=int, default=8, help="held-out images per model")
    p.add_argument("--steps", default="50,300", help="comma-separated step counts, in w+; the other spaces use the last")
    p.add_argument("--spaces", default="w+,w,z")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    args.steps = [int(s) for s in args.steps.split(",")]
    args.spaces = args.spaces.split(",")
    torch.set_num_threads(args.threads)
    rows: list = []
    header = ("| model | space | start | steps | start PSNR | PSNR (dB) | SSIM | feature dist. | CPU s/image |\n"
              "|---|---|---|---|---|---|---|---|---|")
    print(header, flush=True)
    for model in args.models.split(","):
        bench_model(model, args, rows)
    print("\n" + header)
    for row in rows:
        print_row(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
