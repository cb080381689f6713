"""`ganstudio sample`: render seeds (or a file of z) from a checkpoint, a shipped model or a registry model."""
from __future__ import annotations

from pathlib import Path

NAME = "sample"
HELP = "render images from seeds or a z file into a PNG grid and/or a raw .npy"

_BATCH = 16  # images per forward pass, to bound memory on large models
_MAX_SCALE = 32


def add_arguments(p):
    p.add_argument("model", metavar="CHECKPOINT_OR_MODEL", nargs="?",
                   help="a GAN Studio checkpoint, a shipped model name, or a registry name (untrained)")
    p.add_argument("--session", metavar="FILE",
                   help="render the exact image of a GUI session file (with --seeds: its settings at each seed)")
    p.add_argument("--seeds", help="seeds to render, e.g. 0-15,20,30-32 (default 0-15)")
    p.add_argument("--z-file", help="render the rows of this .npy / .npz / .json of shape [N, z_dim] instead of seeds")
    p.add_argument("--psi", type=float, default=1.0, help="truncation psi toward w_avg (StyleGAN models)")
    p.add_argument("--cutoff", type=int, default=None, help="apply psi only to ws layers below this index")
    p.add_argument("--trunc", type=float, default=None,
                   help="BigGAN truncation: resample z entries with |z| above this threshold")
    cls = p.add_mutually_exclusive_group()
    cls.add_argument("--class", dest="class_", metavar="K", help="class index (or class name) to render")
    cls.add_argument("--class-weights", metavar="K:W,...", help="class blend, e.g. 3:0.5,5:0.5")
    p.add_argument("--noise", choices=("const", "random", "none"), default="const",
                   help="noise mode of models with noise layers")
    p.add_argument("--out", help="grid PNG to write (default samples.png unless --npy is given)")
    p.add_argument("--npy", help="also write the raw float32 images [N, C, H, W] in [-1, 1] here")
    p.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default="auto")
    p.add_argument("--scale", type=int, default=1, help="integer upscaling of each image in the grid")
    p.add_argument("--cols", type=int, default=None, help="grid columns (default: a square-ish grid)")


def _device(name: str):
    from ganstudio.cli import UsageError
    from ganstudio.engine import pick_device
    try:
        return pick_device(name)
    except ValueError as e:
        raise UsageError(f"--device {name}: {e}") from None


def _open(arg: str, device):
    """(G, class_names) from a checkpoint path, a shipped model name, or a registry name (untrained)."""
    import sys

    from ganstudio.cli import UsageError
    from ganstudio.engine import load_model
    from ganstudio.models import list_models
    from ganstudio.pretrained import resolve

    key = arg
    if not resolve(arg).exists():
        name = arg[len("registry:"):] if arg.startswith("registry:") else arg
        if name.partition(":")[0] in list_models():
            key = f"registry:{name}"
            print(f"warning: {name!r} is a registry name: sampling an untrained model (seeded with 0)",
                  file=sys.stderr)
        else:
            raise UsageError(f"{arg}: no such checkpoint file, shipped model or registry model "
                             "(see `ganstudio models`)")
    try:
        G, info = load_model(key, device)
    except ValueError as e:
        raise UsageError(str(e)) from None
    return G, info.class_names if not info.untrained else []


def _load_z(path: str, z_dim: int):
    from ganstudio.cli import UsageError
    from ganstudio.engine.latent_files import read_latent_file
    try:
        a, hint, state = read_latent_file(path)  # .npy, .npz or .json; never unpickles
    except ValueError as e:
        raise UsageError(f"--z-file {e}") from None
    name = Path(path).name
    if state is not None:
        raise UsageError(f"--z-file {name}: holds a render state (Gallery latents .json), not z rows; "
                         f"save z as an [N, {z_dim}] array")
    if hint == "w":
        raise UsageError(f"--z-file {name}: holds w / ws latents; --z-file takes z rows [N, {z_dim}]")
    if a.ndim == 1:
        a = a[None]
    if a.ndim != 2 or a.shape[1] != z_dim:
        raise UsageError(f"--z-file {name}: expected shape [N, {z_dim}] (or [{z_dim}]) for this model, "
                         f"got {list(a.shape)}")
    return a


def _class_weights(args, G, class_names):
    from ganstudio.cli import UsageError
    from ganstudio.latent import class_blend, class_vector

    given = args.class_ is not None or args.class_weights is not None
    if not G.c_dim:
        if given:
            raise UsageError("this model is unconditional: --class / --class-weights do not apply")
        return None
    if not given:
        raise UsageError(f"this model is class-conditional ({G.c_dim} classes): pass --class K or --class-weights")

    def index(k: str) -> int:
        k = k.strip()
        if k in class_names:
            return class_names.index(k)
        try:
            return int(k)
        except ValueError:
            raise UsageError(f"unknown class {k!r}: give an index 0..{G.c_dim - 1}"
                             + (" or a class name" if class_names else "")) from None

    if args.class_ is not None:
        return class_vector(index(args.class_), G.c_dim)
    weights: dict[int, float] = {}
    for item in args.class_weights.split(","):
        k, sep, w = item.partition(":")
        if not sep:
            raise UsageError(f"--class-weights: bad item {item!r}; write e.g. 3:0.5,5:0.5")
        try:
            weight = float(w)
        except ValueError:
            raise UsageError(f"--class-weights: weight {w!r} of class {k.strip()!r} is not a number") from None
        ki = index(k)
        weights[ki] = weights.get(ki, 0.0) + weight
    return class_blend(weights, G.c_dim)


def run(args) -> int:
    import math

    import numpy as np
    import torch

    from ganstudio._io import atomic_path
    from ganstudio.cli import UsageError
    from ganstudio.imaging import make_grid, save_png, to_uint8
    from ganstudio.latent import parse_seeds, seeded_z, truncated_z

    if args.scale < 1 or args.scale > _MAX_SCALE:
        raise UsageError(f"--scale must be an integer in 1..{_MAX_SCALE}, got {args.scale}")
    if args.cols is not None and args.cols < 1:
        raise UsageError(f"--cols must be a positive integer, got {args.cols}")
    if not math.isfinite(args.psi):
        raise UsageError(f"--psi must be a finite number, got {args.psi}")
    if args.cutoff is not None and args.cutoff < 0:
        raise UsageError(f"--cutoff must be a non-negative integer, got {args.cutoff}")
    if args.trunc is not None and not (math.isfinite(args.trunc) and args.trunc > 0):
        raise UsageError(f"--trunc must be a positive threshold, got {args.trunc}")
    if args.z_file is not None and args.seeds is not None:
        raise UsageError("give either --seeds or --z-file, not both")
    if args.z_file is not None and args.trunc is not None:
        raise UsageError("--trunc resamples seeded z; it does not apply to --z-file (truncate the file's z yourself)")
    if args.session is not None:
        return _run_session(args)
    if args.model is None:
        raise UsageError("give a CHECKPOINT_OR_MODEL (or --session FILE)")
    seeds = parse_seeds(args.seeds if args.seeds is not None else "0-15") if args.z_file is None else None
    out = args.out if args.out is not None or args.npy is not None else "samples.png"

    device = _device(args.device)
    G, class_names = _open(args.model, device)
    caps = G.capabilities()
    if args.psi != 1.0 and caps.truncation != "w":
        raise UsageError(f"--psi needs a model with a mapping network (w truncation); "
                         f"{getattr(G, 'model_name', '') or type(G).__name__} has none (try --trunc)")
    if out is not None and G.img_channels not in (1, 3, 4):
        raise UsageError(f"cannot write a PNG of {G.img_channels}-channel images; use --npy")

    if args.z_file is not None:
        z = torch.from_numpy(_load_z(args.z_file, G.z_dim))
    elif args.trunc is not None:
        z = truncated_z(seeds, G.z_dim, args.trunc)
    else:
        z = seeded_z(seeds, G.z_dim)
    c = _class_weights(args, G, class_names)

    images = []
    with torch.no_grad():
        for start in range(0, z.shape[0], _BATCH):
            zb = z[start:start + _BATCH].to(device)
            cb = None if c is None else c.to(device).expand(zb.shape[0], -1)
            img = G(zb, cb, truncation_psi=args.psi, truncation_cutoff=args.cutoff, noise_mode=args.noise)
            images.append(img.float().cpu())
    images = torch.cat(images)

    if args.npy is not None:
        with atomic_path(args.npy) as tmp, open(tmp, "wb") as f:
            np.save(f, images.numpy().astype(np.float32))
        print(f"wrote {args.npy} ({list(images.shape)} float32)")
    if out is not None:
        u8 = to_uint8(images)
        if args.scale > 1:
            u8 = u8.repeat(args.scale, axis=1).repeat(args.scale, axis=2)
        grid = make_grid(u8, cols=args.cols)
        save_png(out, grid)
        print(f"wrote {out} ({images.shape[0]} images, {grid.shape[1]}x{grid.shape[0]} px)")
    return 0


def _run_session(args) -> int:
    """Render a session file through the same engine the window uses, so the pixels match."""
    import numpy as np

    from ganstudio._io import atomic_path
    from ganstudio.cli import UsageError
    from ganstudio.engine import Renderer, load_session
    from ganstudio.imaging import make_grid, save_png
    from ganstudio.latent import parse_seeds

    conflicting = [flag for flag, v in (("--z-file", args.z_file), ("--trunc", args.trunc), ("--class", args.class_),
                                        ("--class-weights", args.class_weights)) if v is not None]
    if conflicting or args.psi != 1.0:
        raise UsageError(f"--session fixes every setting; drop {', '.join(conflicting) or '--psi'}")
    state, _ = load_session(args.session)
    if args.model is not None:
        state = state.replace(model=args.model)
    renderer = Renderer(_device(args.device))
    renderer.load(state.model)  # a bad checkpoint raises CheckpointError: one line
    seeds = parse_seeds(args.seeds) if args.seeds is not None else None
    res = renderer.render(state, seeds)
    if res.error:
        raise UsageError(f"cannot render {args.session}: {res.error}")
    images = res.image if seeds is not None else res.image[None]
    out = args.out if args.out is not None or args.npy is not None else "samples.png"
    if args.npy is not None:
        with atomic_path(args.npy) as tmp, open(tmp, "wb") as f:
            np.save(f, images)
        print(f"wrote {args.npy} ({list(images.shape)} uint8, as displayed)")
    if out is not None:
        if args.scale > 1:
            images = images.repeat(args.scale, axis=1).repeat(args.scale, axis=2)
        save_png(out, images[0] if seeds is None else make_grid(images, cols=args.cols))
        print(f"wrote {out}")
    return 0
