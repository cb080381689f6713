"""Limited data: one GAN recipe on a small subset, with no augmentation, DiffAugment and ADA.

    python benchmarks/limited_data.py [--data fashion-mnist] [--subset 500] [--preset dcgan] [--steps 1000]
        [--batch 64] [--augments none,diffaugment,ada] [--ada-kimg 10] [--n 2000] [--set model.ngf=32 ...]
        [--out DIR] [--threads 1]

Each augmentation trains the same preset from the same seed on the first ``--subset`` training
images for the same number of steps (``ganstudio.training.loop.train``, CPU), then the final
generator is measured with the classifier features of ``ganstudio eval``: FCD against the shipped
statistics of the real data, precision and recall.  Beside them, the real-data reference at the same
feature counts: the subset itself, and as many real training images as generated samples.  The
table (markdown) goes to stdout; per-run figures, the ADA p history and the runs go under ``--out``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def train_one(args, augment: str, out: Path) -> dict:
    """Train one run; returns its wall time, the ADA p history and the final checkpoint."""
    from ganstudio.training.loop import train
    from ganstudio.training.presets import apply_overrides, follow_data, get_preset

    over = {"data": args.data, "subset": args.subset, "steps": args.steps, "batch": args.batch, "seed": args.seed,
            "device": "cpu", "augment": augment, "ada_kimg": args.ada_kimg, "log_every": 50,
            "sample_every": args.steps, "ckpt_every": args.steps, "keep": 1}
    cfg = apply_overrides(get_preset(args.preset), over)
    cfg = apply_overrides(cfg, list(args.set))
    cfg, notes = follow_data(cfg)
    for note in notes:
        print(f"  {augment}: {note}", file=sys.stderr)
    done = finished_run(out / augment, cfg)
    if done is not None:
        return {"augment": augment, **done}
    t0 = time.time()
    p_history, last = [], None
    for stats in train(cfg, out / augment):
        if "augment_p" in stats:
            p_history.append((stats["step"], stats["augment_p"]))
        last = stats
        print(f"\r  {augment}: step {stats['step']}/{cfg.steps}", end="", file=sys.stderr)
    print(file=sys.stderr)
    return {"augment": augment, "seconds": round(time.time() - t0, 1), "p_history": p_history,
            "checkpoint": last["checkpoint"], "losses": last["losses"], "config": cfg.to_dict()}


def finished_run(folder: Path, cfg) -> dict | None:
    """A run of this same config that already finished in ``folder`` (a rerun after a failed measurement)."""
    from ganstudio.training.run_dir import RunDir
    run = RunDir(folder)
    try:
        same = run.read_config() == cfg.to_dict()
        log = run.read_log()
    except (OSError, ValueError):
        return None
    ckpt = run.checkpoint_path(cfg.steps)
    if not same or not ckpt.is_file() or not log or log[-1]["step"] != cfg.steps:
        return None
    print(f"  {folder.name}: reusing the finished run in {folder}", file=sys.stderr)
    return {"seconds": round(log[-1]["elapsed_s"], 1), "checkpoint": str(ckpt), "losses": log[-1]["losses"],
            "p_history": [(r["step"], r["augment_p"]) for r in log if "augment_p" in r], "config": cfg.to_dict()}


def classifier_for(data: str):
    from ganstudio.training.classifier import EMOJI_PATH
    from ganstudio.training.emoji import is_emoji_spec
    return EMOJI_PATH if is_emoji_spec(data) else None


def real_reference(args, n: int) -> dict:
    """FCD / precision / recall of real training images at the subset's size and at the samples' count."""
    from ganstudio.training import metrics
    from ganstudio.training.classifier import load_classifier
    from ganstudio.training.data import make_dataset

    clf = load_classifier(classifier_for(args.data))
    geo = clf.net.cfg
    out = {}
    for name, count in (("subset", args.subset), ("train_n", n)):
        ds = make_dataset(args.data, geo.resolution, geo.in_channels, split="train", limit=count)
        x, _ = ds.batch(torch.arange(len(ds)))
        with torch.no_grad():
            feats = torch.cat([clf.net.features(x[i:i + 500]) for i in range(0, len(x), 500)])
        mu, sigma = metrics.feature_stats(feats)
        real = clf.stats["pr_features"]
        m = min(len(real), len(feats))
        precision, recall = metrics.precision_recall(real[:m], feats[:m], k=3)
        out[name] = {"n": len(feats), "fcd": metrics.frechet_distance(mu, sigma, clf.stats["mu"], clf.stats["sigma"]),
                     "precision": precision, "recall": recall}
    return out


def evaluate(args, run: dict) -> dict:
    from ganstudio.checkpoints import load_checkpoint
    from ganstudio.training import metrics
    G = load_checkpoint(run["checkpoint"]).G
    return metrics.evaluate_generator(G, n=args.n, batch=250, seed=0, classifier_path=classifier_for(args.data))


def table(args, runs: list[dict], ref: dict) -> str:
    lines = [f"| {args.data}, first {args.subset} images, {args.preset}, {args.steps} steps x {args.batch} | FCD | "
             f"precision | recall | final ADA p | train time |", "|---|---:|---:|---:|---:|---:|"]
    for r in runs:
        p = f"{r['p_history'][-1][1]:.2f}" if r["p_history"] else "—"
        m = r["metrics"]
        lines.append(f"| augment={r['augment']} | {m['fcd']:.2f} | {m['precision']:.3f} | {m['recall']:.3f} | {p} | "
                     f"{r['seconds'] / 60:.1f} min |")
    for key, what in (("subset", "the subset itself"), ("train_n", "real training images")):
        r = ref[key]
        lines.append(f"| real: {what} (n={r['n']}) | {r['fcd']:.2f} | {r['precision']:.3f} | {r['recall']:.3f} "
                     f"| | |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default="fashion-mnist")
    p.add_argument("--subset", type=int, default=500)
    p.add_argument("--preset", default="dcgan")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--augments", default="none,diffaugment,ada")
    p.add_argument("--ada-kimg", type=float, default=10.0, help="ADA speed: kimg for p to go 0 -> 1")
    p.add_argument("--n", type=int, default=2000, help="generated samples per measurement")
    p.add_argument("--set", action="append", default=[], help="KEY=VALUE training setting (repeatable)")
    p.add_argument("--out", default="/tmp/ganstudio-limited-data")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    runs = []
    for augment in [a.strip() for a in args.augments.split(",") if a.strip()]:
        run = train_one(args, augment, out)
        run["metrics"] = {k: v for k, v in evaluate(args, run).items() if k in ("fcd", "precision", "recall", "is", "n")}
        runs.append(run)
        (out / "results.json").write_text(json.dumps({"args": vars(args), "runs": runs}, indent=1))
    ref = real_reference(args, args.n)
    (out / "results.json").write_text(json.dumps({"args": vars(args), "runs": runs, "reference": ref}, indent=1))
    print(table(args, runs, ref))
    return 0


if __name__ == "__main__":
    sys.exit(main())
