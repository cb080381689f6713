"""The loss table of issue 21: one DCGAN architecture on Fashion-MNIST, trained with every loss we have.

    python benchmarks/loss_table.py [--steps 2000] [--batch 64] [--seeds 0,1] [--losses minimax,ns,...]
        [--n 2000] [--set model.ngf=32 ...] [--out DIR] [--threads 1]

G is the DCGAN generator everywhere (``--set model.ngf`` applies to all; ``--set model.ndf`` sets the
autoencoder discriminator's base width ``n`` for EBGAN and BEGAN).  D is the DCGAN discriminator
for the classifier and critic losses and, for EBGAN and BEGAN, whose losses read reconstruction
energies, the DCGAN-shaped conv autoencoder of the ``ebgan`` model (MSE energy; L1 for BEGAN).  Each
loss keeps its own paper's optimizer settings (its preset: RMSProp and clipping for WGAN, five critic
steps for WGAN-GP, ...) and every run gets the same steps, batch and seeds.  Each finished run is
measured with the classifier features of ``ganstudio eval`` (FCD, precision, recall on ``--n``
samples).  The table (markdown: FCD mean and spread over the seeds, wall time) goes to stdout and
``--out``/table.md; each run's figures to ``--out``/<loss>-seed<k>/result.json (a rerun reuses them) and
its last sample grid stays in the run folder, to look at for the table's "samples" column.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# loss -> (preset whose recipe it follows, overrides).  The lecture's table, in its order.
LOSSES: dict[str, tuple[str, dict]] = {
    "minimax": ("dcgan", {"loss": "minimax"}),
    "ns": ("dcgan", {"loss": "ns"}),
    "lsgan": ("lsgan", {}),
    "wgan-clip": ("wgan-clip", {}),
    "wgan-gp": ("wgan-gp", {}),
    "dragan": ("dcgan", {"dragan": 10.0, "reuse_fakes": False}),  # Kodali et al. 2017: lambda 10
    "hinge": ("dcgan", {"loss": "hinge"}),
    "ebgan": ("ebgan", {}),
    "began": ("ebgan", {"loss": "began", "margin": 1.0, "pt": 0.0, "model.energy": "l1", "lr_g": 1e-4,
                        "lr_d": 1e-4}),  # BEGAN's own lr, gamma 0.5 and lambda_k 0.001 (the defaults)
}


def config_for(loss: str, args, seed: int):
    from ganstudio.training.presets import apply_overrides, get_preset
    preset, over = LOSSES[loss]
    base = {"data": args.data, "resolution": 32, "channels": 1, "steps": args.steps, "batch": args.batch,
            "seed": seed, "device": "cpu", "log_every": 50, "sample_every": args.steps, "ckpt_every": args.steps,
            "keep": 1, "sample_count": 64}
    cfg = apply_overrides(get_preset(preset), {**base, **over})
    return apply_overrides(cfg, [_for_model(cfg.model, item) for item in args.set])


def _for_model(model: str, item: str) -> str:
    """``--set model.ndf=N`` is the DCGAN discriminator's base width; the autoencoder discriminator of EBGAN /
    BEGAN calls its base width ``n`` (n, 2n, 4n channels, as the DCGAN D's ndf, 2 ndf, 4 ndf)."""
    if model == "ebgan" and item.startswith("model.ndf="):
        return "model.n=" + item.split("=", 1)[1]
    return item


def run_one(loss: str, seed: int, args, out: Path) -> dict:
    """Train (or reuse) one run and measure it; the result is also written to its folder."""
    from ganstudio.checkpoints import load_checkpoint
    from ganstudio.training import metrics
    from ganstudio.training.loop import train

    folder = out / f"{loss}-seed{seed}"
    result_path = folder / "result.json"
    cfg = config_for(loss, args, seed)
    if result_path.is_file():
        done = json.loads(result_path.read_text())
        if done.get("config") == cfg.to_dict() and done.get("n") == args.n:
            return done
    t0, last = time.time(), None
    for stats in train(cfg, folder):
        last = stats
        print(f"\r  {loss} seed {seed}: step {stats['step']}/{cfg.steps}", end="", file=sys.stderr)
    print(file=sys.stderr)
    seconds = time.time() - t0
    G = load_checkpoint(last["checkpoint"]).G
    m = metrics.evaluate_generator(G, n=args.n, batch=250, seed=0)
    result = {"loss": loss, "seed": seed, "seconds": round(seconds, 1), "n": args.n, "fcd": m["fcd"],
              "precision": m["precision"], "recall": m["recall"], "final_losses": last["losses"],
              "sample": last.get("sample_path"), "config": cfg.to_dict()}
    from ganstudio._io import atomic_write_text
    atomic_write_text(result_path, json.dumps(result, indent=2))
    return result


def table(args, results: list[dict]) -> str:
    lines = [f"| loss (DCGAN G, {args.steps} steps x {args.batch}, seeds {args.seeds}) | FCD mean | FCD spread | "
             f"precision | recall | wall time | samples |", "|---|---:|---:|---:|---:|---:|---|"]
    for loss in args.losses:
        rs = [r for r in results if r["loss"] == loss]
        if not rs:
            continue
        fcd = torch.tensor([r["fcd"] for r in rs], dtype=torch.float64)
        spread = f"{(fcd.max() - fcd.min()).item() / 2:.1f}" if len(rs) > 1 else "–"
        mean = lambda key: sum(r[key] for r in rs) / len(rs)  # noqa: E731
        lines.append(f"| {loss} | {fcd.mean().item():.1f} | ±{spread} | {mean('precision'):.3f} | "
                     f"{mean('recall'):.3f} | {mean('seconds') / 60:.1f} min | |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default="fashion-mnist")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--seeds", default="0,1")
    p.add_argument("--losses", default=",".join(LOSSES))
    p.add_argument("--n", type=int, default=2000, help="generated samples per measurement")
    p.add_argument("--set", action="append", default=[], help="KEY=VALUE training setting for every run")
    p.add_argument("--out", default="/tmp/ganstudio-loss-table")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    args.losses = [s.strip() for s in args.losses.split(",") if s.strip()]
    unknown = [s for s in args.losses if s not in LOSSES]
    if unknown:
        p.error(f"unknown loss {unknown[0]!r}; known: {', '.join(LOSSES)}")
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = [run_one(loss, seed, args, out) for loss in args.losses for seed in seeds]
    text = table(args, results)
    (out / "table.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
