"""`ganstudio analyze MODEL --directions ...`: score a direction set against the factors of the shapes data.

The numbers are engine/analysis.py's (its docstring defines them); the window's Direction analysis
panel computes the same report.
"""
from __future__ import annotations

NAME = "analyze"
HELP = "score latent directions (PCA, SeFa, raw z/w, InfoGAN codes, a direction file) against the shapes factors"


def add_arguments(p):
    from ganstudio.engine import analysis as an
    p.add_argument("model", metavar="MODEL",
                   help="a checkpoint or shipped model trained on shapes / shapes-upright, or known-answer / "
                        "known-answer-rotated (the reference generator whose z drives the factors)")
    p.add_argument("--directions", required=True, metavar="SET",
                   help="pca, sefa, raw (z dimensions), w (w dimensions), info (InfoGAN codes) "
                        "or a direction file (.json)")
    p.add_argument("--out", required=True, help="the JSON report to write")
    p.add_argument("--png", help="also write the heat map here (.png)")
    p.add_argument("--seeds", type=int, default=an.DEFAULT_SEEDS,
                   help=f"seeds averaged over (default {an.DEFAULT_SEEDS})")
    p.add_argument("--seed", type=int, default=0, help="the first seed (seeds S .. S+N-1; default 0)")
    p.add_argument("--steps", type=int, default=an.DEFAULT_STEPS,
                   help=f"points along each direction (default {an.DEFAULT_STEPS})")
    p.add_argument("--span", type=float, default=an.DEFAULT_SPAN,
                   help=f"the walk goes from -SPAN to +SPAN steps of each direction (default {an.DEFAULT_SPAN})")
    p.add_argument("--k", type=int, default=an.K_DIRECTIONS, help="PCA / SeFa directions to compute (default 20)")
    p.add_argument("--probe", help="another factor probe file (default: the shipped one)")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")


def _check(args) -> None:
    from ganstudio.cli import UsageError
    from ganstudio.engine import analysis as an
    from ganstudio.latent.sampling import MAX_SEED
    if not 2 <= args.seeds <= an.MAX_SEEDS:
        raise UsageError(f"--seeds must be in 2..{an.MAX_SEEDS}, got {args.seeds}")
    if not 0 <= args.seed <= MAX_SEED - args.seeds:
        raise UsageError(f"--seed must be in 0..{MAX_SEED - args.seeds}, got {args.seed}")
    if not 2 <= args.steps <= an.MAX_STEPS:
        raise UsageError(f"--steps must be in 2..{an.MAX_STEPS}, got {args.steps}")
    if not (0 < args.span <= 100):  # also refuses nan
        raise UsageError(f"--span must be in (0, 100], got {args.span}")
    if not 1 <= args.k <= an.MAX_DIRECTIONS:
        raise UsageError(f"--k must be in 1..{an.MAX_DIRECTIONS}, got {args.k}")
    if args.png is not None and not args.png.lower().endswith(".png"):
        raise UsageError(f"--png must name a .png file, got {args.png}")
    from pathlib import Path
    for flag, path in (("--out", args.out), ("--png", args.png)):
        if path is not None and Path(path).is_dir():  # found before minutes of rendering, not after
            raise UsageError(f"{flag} {path} is a folder: give a file name")
        if path is not None and not Path(path).parent.is_dir():
            raise UsageError(f"{flag} {path}: the folder {Path(path).parent} does not exist")


def open_source(model: str, device: str = "cpu"):
    """MODEL -> an analysis ImageSource (the known-answer generators, or any model through a Renderer)."""
    from ganstudio.cli import UsageError
    from ganstudio.engine import Renderer, analysis as an
    from ganstudio.pretrained import resolve
    if model in an.KNOWN_ANSWER_MODELS:
        return an.KNOWN_ANSWER_MODELS[model]()
    from pathlib import Path
    key = model if model.startswith("registry:") else str(resolve(model))
    if not key.startswith("registry:") and not Path(key).exists():
        raise UsageError(f"{model}: no such checkpoint or shipped model (see `ganstudio models`)")
    try:
        renderer = Renderer(device)
    except (ValueError, RuntimeError) as e:
        raise UsageError(f"--device {device}: {str(e).splitlines()[0]}") from None
    try:
        info = renderer.load(key)
    except (ValueError, RuntimeError, OSError) as e:
        raise UsageError(f"{model}: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    info.label = model if key != model else info.label
    return an.RendererSource(renderer, key, info)


def run(args) -> int:
    import json
    import sys
    import time
    from pathlib import Path

    import torch

    from ganstudio.cli import UsageError
    from ganstudio.engine import analysis as an
    from ganstudio.training.factor_probe import ProbeError, load_probe

    _check(args)
    torch.set_num_threads(max(1, min(torch.get_num_threads(), 4)))
    t0 = time.time()
    try:
        probe = load_probe(args.probe)
        source = open_source(args.model, args.device)
        if args.directions in an.METHODS:
            directions, method = an.direction_set(source, args.directions, args.k), args.directions
        elif not Path(args.directions).exists():
            raise UsageError(f"--directions {args.directions}: neither a direction set ({', '.join(an.METHODS)}) "
                             "nor an existing direction file")
        elif isinstance(source, an.RendererSource):
            directions, method = an.directions_from_file(args.directions, source), f"file:{args.directions}"
        else:
            raise UsageError(f"{args.model} takes the built-in direction sets only ({', '.join(an.METHODS)})")
        progress = None
        if sys.stderr.isatty():
            def progress(f):
                print(f"\rscoring {f:4.0%}", end="" if f < 1 else "\n", file=sys.stderr)
        report = an.analyze(source, directions, probe, {"method": method, "probe": _probe_note(probe, args.probe)},
                            seeds=args.seeds, seed=args.seed, span=args.span, steps=args.steps, progress=progress)
    except (an.AnalysisError, ProbeError) as e:
        raise UsageError(str(e)) from None
    report["seconds"] = round(time.time() - t0, 2)
    _write(args, json.dumps(report, indent=1) + "\n", an.heatmap_image(report) if args.png else None)
    _print(report, args)
    return 0


def _probe_note(probe, path) -> dict:
    held = probe.meta.get("held_out") or {}
    return {"file": str(path) if path else "shipped (pretrained/shapes_factor_probe.safetensors)",
            "shape_accuracy": {v: h.get("shape_accuracy") for v, h in held.items()},
            "r2": {v: h.get("r2") for v, h in held.items()}}


def _write(args, text: str, image) -> None:
    """The report and the heat map together: a PNG that cannot be written leaves no report behind."""
    import contextlib

    from PIL import Image

    from ganstudio._io import atomic_path, atomic_write_text
    with atomic_path(args.png) if image is not None else contextlib.nullcontext() as tmp:
        if image is not None:
            Image.fromarray(image).save(tmp, format="PNG")
        atomic_write_text(args.out, text)


def _print(r: dict, args) -> None:
    print(f"{r['model']} ({r['data']}), {r['method']}: {len(r['directions'])} directions x "
          f"{len(r['factors'])} factors, "
          f"{r['seeds']} seeds, {r['seconds']} s")
    for p in r["per_factor"]:
        print(f"  {p['factor']:<15} best {p['best_direction']:<12} score {p['best_score']:.3f}   "
              f"completeness {p['completeness']:.3f}, needs {p['directions_needed']:.1f} directions")
    o = r["overall"]
    print(f"  overall score {o['score']:.3f}  (disentanglement {o['disentanglement']:.3f}, "
          f"completeness {o['completeness']:.3f})")
    print(f"wrote {args.out}" + (f" and {args.png}" if args.png else ""))
