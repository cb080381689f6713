"""`ganstudio ppl MODEL`: perceptual path length (Karras et al. 2019) in z and w, full and end-point sampling."""
NAME = "ppl"
HELP = ("perceptual path length in z (and w) with full or end-point sampling, measured in the shipped "
        "Fashion-MNIST classifier's features (the emoji group classifier's for emoji models, or the shapes "
        "factor probe's); prints a table or JSON, "
        "--out writes the JSON report")

BOOTSTRAP_MAX = 100_000


def add_arguments(p):
    from ganstudio.engine.ppl import EPSILON
    p.add_argument("model", help="a checkpoint file or a shipped model name")
    p.add_argument("--space", default="all", choices=("z", "w", "all"),
                   help="latent space of the path: z (slerp), w (lerp; models with a mapping network) or all "
                        "the model has (default)")
    p.add_argument("--sampling", default="full", choices=("full", "end", "both"),
                   help="t uniform in [0, 1] (full, the default), t = 0 (end) or both")
    p.add_argument("--n", type=int, default=2000, help="pairs of latents per measurement (default 2000)")
    p.add_argument("--eps", type=float, default=EPSILON, help=f"step along the path (default {EPSILON:g})")
    p.add_argument("--batch", type=int, default=100, help="pairs per generator call (default 100)")
    p.add_argument("--seed", type=int, default=0, help="seed of the latents, t and classes (default 0)")
    p.add_argument("--bootstrap", type=int, default=1000,
                   help="bootstrap resamples for the 95%% interval of the mean (default 1000; 0: none)")
    p.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda (default cpu)")
    p.add_argument("--features", default="classifier", choices=("classifier", "probe"),
                   help="feature network of the distances: the Fashion-MNIST classifier (default; colour images "
                        "converted to grey; models trained on emoji: the emoji group classifier) or the "
                        "shapes factor probe (RGB shapes models)")
    p.add_argument("--classifier", default=None,
                   help="another classifier (or, with --features probe, probe) file (default: the shipped one)")
    p.add_argument("--out", default=None, help="write the result as JSON to this file (atomically)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")


def _check(args) -> None:
    from ganstudio.cli import UsageError
    from ganstudio.engine.ppl import MAX_N
    from ganstudio.latent.sampling import MAX_SEED
    if not 2 <= args.n <= MAX_N:
        raise UsageError(f"--n must be between 2 and {MAX_N} pairs, got {args.n}")
    if not 0 < args.eps < 1:  # also rejects nan
        raise UsageError(f"--eps must be between 0 and 1 (the paper uses 1e-4), got {args.eps}")
    if args.batch < 1:
        raise UsageError(f"--batch must be positive, got {args.batch}")
    if not 0 <= args.seed <= MAX_SEED:
        raise UsageError(f"--seed must be in 0..{MAX_SEED}, got {args.seed}")
    if not 0 <= args.bootstrap <= BOOTSTRAP_MAX:
        raise UsageError(f"--bootstrap must be in 0..{BOOTSTRAP_MAX}, got {args.bootstrap}")
    if args.out is not None:
        from pathlib import Path
        out = Path(args.out)
        if out.is_dir():
            raise UsageError(f"--out {args.out}: is a folder (give a file name)")
        if not out.parent.is_dir():
            raise UsageError(f"--out {args.out}: folder {out.parent} does not exist")


def measure(G, spaces, samplings, args, features, progress=None) -> list[dict]:
    """One result dict per (space, sampling), in that order."""
    from ganstudio.engine.ppl import perceptual_path_length
    from ganstudio.engine.ppl import piecewise_note
    out = []
    for space in spaces:
        for sampling in samplings:
            r = perceptual_path_length(G, space=space, sampling=sampling, n=args.n, eps=args.eps, batch=args.batch,
                                       seed=args.seed, features=features, bootstrap=args.bootstrap,
                                       progress=progress and (lambda d, t, k=f"{space}/{sampling}": progress(k, d, t)))
            out.append({**r.to_dict(), **({"note": piecewise_note(r)} if piecewise_note(r) else {})})
    return out


def run(args) -> int:
    import json
    import sys

    import torch

    from ganstudio.checkpoints import load_checkpoint
    from ganstudio.cli import UsageError
    from ganstudio.engine import pick_device
    from ganstudio.engine.ppl import FEATURES, spaces_of
    from ganstudio.pretrained import resolve
    from ganstudio.training.classifier import ClassifierError
    from ganstudio.training.factor_probe import ProbeError

    _check(args)
    try:
        device = pick_device(args.device)
    except (ValueError, RuntimeError) as e:
        raise UsageError(f"--device {args.device}: {e}") from None
    torch.set_num_threads(max(1, min(torch.get_num_threads(), 4)))
    ckpt = load_checkpoint(resolve(args.model), device=device)
    G = ckpt.G.float().eval().requires_grad_(False)
    has = spaces_of(G)
    if args.space == "w" and "w" not in has:
        raise UsageError(f"{args.model}: {ckpt.model_name} has no mapping network, so its w is z (use --space z)")
    spaces = has if args.space == "all" else (args.space,)
    samplings = ("full", "end") if args.sampling == "both" else (args.sampling,)
    classifier = args.classifier
    if classifier is None and args.features == "classifier":
        from ganstudio.commands.eval import trained_on_emoji
        if trained_on_emoji(ckpt.meta):  # as `ganstudio eval`: emoji models are measured in the emoji classifier's features
            from ganstudio.training.classifier import EMOJI_PATH as classifier
    try:
        features = FEATURES[args.features](G, classifier, device=device)
    except (ClassifierError, ProbeError) as e:
        raise UsageError(str(e)) from None
    progress = None
    if not args.json and sys.stderr.isatty():
        def progress(key, done, total):
            print(f"\r{key}: {done}/{total} pairs", end="" if done < total else "\n", file=sys.stderr)
    results = measure(G, spaces, samplings, args, features, progress)
    report = {"format": "ganstudio-ppl", "version": 1, "model": args.model, "checkpoint": str(ckpt.path),
              "family": ckpt.model_name, "features": features.name, "feature_note": features.note,
              "eps": args.eps, "n": args.n, "seed": args.seed, "bootstrap": args.bootstrap,
              "filter": "distances below the 1st and above the 99th percentile dropped (Karras et al. 2019)",
              "results": results}
    if args.out:
        from ganstudio._io import atomic_write_text
        atomic_write_text(args.out, json.dumps(report, indent=2) + "\n")
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print(report)
    return 0


def _print(r: dict) -> None:
    print(f"{r['checkpoint']}: {r['family']}; perceptual path length, eps {r['eps']:g}, seed {r['seed']}")
    print(f"  features: {r['features']}" + (f" ({r['feature_note']})" if r['feature_note'] else ""))
    print(f"  {'space':<6}{'sampling':<10}{'PPL':>12}{'std':>12}   {'95% bootstrap interval':<26}{'pairs kept':>12}")
    for x in r["results"]:
        ci = f"[{x['ci_low']:.4g}, {x['ci_high']:.4g}]"
        print(f"  {x['space']:<6}{x['sampling']:<10}{x['mean']:>12.4g}{x['std']:>12.4g}   {ci:<26}"
              f"{x['n_kept']:>6} of {x['n']}")
    for x in r["results"]:
        if x.get("note"):
            print(f"  warning ({x['space']}, {x['sampling']}): {x['note']}")
