"""`ganstudio sample`: render seeds (or a latent file) from a checkpoint, a shipped model or a registry model.

Every image goes through the window's renderer (the same z, truncation, classes and noise), so the
command line and the explorer give the same pixels for the same settings.
"""
from __future__ import annotations

from pathlib import Path

NAME = "sample"
HELP = "render images from seeds or a latent file into an image grid and/or a raw .npy"

_BATCH = 16  # images per forward pass, to bound memory on large models
_MAX_SCALE = 32
_MAX_GRID_PIXELS = 2 ** 27  # ~400 MB of RGB: beyond this a grid is a mistake (use --npy)
DEFAULT_OUT = "samples.png"  # in the working folder, named in full on the "wrote" line


def add_arguments(p):
    p.add_argument("model", metavar="CHECKPOINT_OR_MODEL", nargs="?",
                   help="a GAN Studio checkpoint, a shipped model name, or a registry name (untrained)")
    p.add_argument("--session", metavar="FILE",
                   help="render the exact image of a GUI session file (with --seeds: its settings at each seed)")
    p.add_argument("--seeds", help="seeds to render, e.g. 0-15,20,30-32 (default 0-15)")
    p.add_argument("--z-file", "--latents", dest="z_file", metavar="FILE",
                   help="render the latents of this .npy / .npz / .json instead of seeds: z rows [N, z_dim], "
                        "ws [N, num_ws, w_dim] or w (NVIDIA's projected_w.npz), or a Gallery latents file")
    p.add_argument("--psi", type=float, default=1.0, help="truncation psi toward w_avg (StyleGAN models)")
    p.add_argument("--cutoff", type=int, default=None, help="apply psi only to ws layers below this index")
    p.add_argument("--trunc", type=float, default=None,
                   help="BigGAN truncation: resample z entries with |z| above this threshold (a file's z is clipped); "
                        "BigGAN-deep: the release's truncation in (0, 1], z = truncnorm(-2, 2) * T")
    cls = p.add_mutually_exclusive_group()
    cls.add_argument("--class", dest="class_", metavar="K", help="class index or class name (any case) to render")
    cls.add_argument("--class-weights", metavar="K:W,...", help="class blend, e.g. 3:0.5,5:0.5")
    p.add_argument("--noise", choices=("const", "random", "none"), default="const",
                   help="noise mode of models with noise layers")
    p.add_argument("--out", help="image grid to write: .png, .jpg, .webp, .bmp or .tif "
                                 "(default samples.png unless --npy is given)")
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


def _model_key(arg: str) -> str:
    """The renderer's key for a checkpoint path, a shipped model name, or a registry name (untrained)."""
    import sys

    from ganstudio.cli import UsageError
    from ganstudio.models import list_models
    from ganstudio.pretrained import resolve

    if resolve(arg).exists():
        return arg
    name = arg[len("registry:"):] if arg.startswith("registry:") else arg
    if name.partition(":")[0] in list_models():
        print(f"warning: {name!r} is a registry name: sampling an untrained model (seeded with 0)", file=sys.stderr)
        return f"registry:{name}"
    raise UsageError(f"{arg}: no such checkpoint file, shipped model or registry model (see `ganstudio models`)")


def _settings_given(args) -> list[str]:
    """The setting flags given on the command line (those a session or a latents .json already fixes)."""
    return [flag for flag, given in (("--psi", args.psi != 1.0), ("--cutoff", args.cutoff is not None),
                                     ("--trunc", args.trunc is not None), ("--class", args.class_ is not None),
                                     ("--class-weights", args.class_weights is not None),
                                     ("--noise", args.noise != "const")) if given]


def _latent_states(path: str, base, info, args):
    """The states of a latent file on ``base()``: z rows, ws / w arrays, or a Gallery latents .json."""
    from ganstudio.cli import UsageError
    from ganstudio.engine import RenderState
    from ganstudio.engine.latent_files import LatentFileError, latent_states, read_latent_file

    style = bool(info.capabilities.style_layers and info.num_ws > 1)
    try:
        _, _, state = read_latent_file(path)
        if state is not None and _settings_given(args):
            raise UsageError(f"--z-file {Path(path).name} holds a whole render state (a Gallery latents .json); "
                             f"drop {', '.join(_settings_given(args))}")
        on = RenderState(model=info.key) if state is not None else base()
        states = latent_states(path, on, info.z_dim, info.num_ws, info.w_dim, style)
    except LatentFileError as e:
        raise UsageError(f"--z-file {e}") from None
    if state is None and (args.psi != 1.0 or args.cutoff is not None):  # asked for: also on a file's exact ws
        states = [s.replace(truncation_psi=args.psi, truncation_cutoff=args.cutoff) for s in states]
    return states


_MAX_LISTED = 30  # class names listed in full on an error; more (ImageNet's 1000) get the closest ones


def class_index(text: str, class_names: list, c_dim: int) -> int:
    """The class ``text`` names: a class name, matched without regard to case (exact case first),
    or an index.  A ValueError lists the valid names (or the closest, for long lists) when none
    matches, and the indices when a name is ambiguous (two classes named alike)."""
    import difflib

    k = text.strip()
    exact = [i for i, n in enumerate(class_names) if n == k]
    same = exact or [i for i, n in enumerate(class_names) if n.casefold() == k.casefold()]
    if len(same) == 1:
        return same[0]
    if same:
        raise ValueError(f"class name {k!r} is ambiguous: it is class {', '.join(map(str, same))}; give the index")
    try:
        return int(k)
    except ValueError:
        pass
    msg = f"unknown class {k!r}: give an index 0..{c_dim - 1}"
    if not class_names:
        raise ValueError(msg)
    if len(class_names) <= _MAX_LISTED:
        raise ValueError(f"{msg} or a name: {', '.join(class_names)}")
    folded = {n.casefold(): n for n in class_names}
    close = [folded[c] for c in difflib.get_close_matches(k.casefold(), list(folded), n=5, cutoff=0.6)]
    hint = f"; closest: {', '.join(close)}" if close else ""
    raise ValueError(f"{msg} or one of the model's {len(class_names)} class names{hint}")


def _class_weights(args, info) -> tuple:
    """((class, weight), ...) from --class / --class-weights, checked against the model."""
    from ganstudio.cli import UsageError
    from ganstudio.latent import class_blend

    given = args.class_ is not None or args.class_weights is not None
    c_dim, class_names = info.c_dim, info.class_names if not info.untrained else []
    if not c_dim:
        if given:
            raise UsageError("this model is unconditional: --class / --class-weights do not apply")
        return ()
    if not given:  # class 0, as the window shows a conditional model first; said, since it was not asked for
        import sys
        name = f" ({class_names[0]})" if class_names else ""
        print(f"note: {info.model_name} is class-conditional ({c_dim} classes): rendering class 0{name}; "
              "choose with --class NAME|K or --class-weights", file=sys.stderr)
        return ((0, 1.0),)

    def index(k: str) -> int:
        try:
            return class_index(k, class_names, c_dim)
        except ValueError as e:
            raise UsageError(str(e)) from None

    if args.class_ is not None:
        weights = {index(args.class_): 1.0}
    else:
        weights = {}
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
    class_blend(weights, c_dim)  # its errors name the problem (negative, out of range, all zero)
    return tuple(weights.items())


def run(args) -> int:
    import math

    from ganstudio.cli import UsageError
    from ganstudio.engine import Renderer, RenderState
    from ganstudio.imaging import image_format
    from ganstudio.latent import parse_seeds

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
    out = args.out if args.out is not None or args.npy is not None else DEFAULT_OUT
    if out is not None:
        if Path(out).is_dir():
            raise UsageError(f"--out {out}: is a folder; name a file in it, e.g. {Path(out) / 'samples.png'}")
        try:
            image_format(out)
        except ValueError as e:
            raise UsageError(f"--out {e}") from None
    if args.session is not None:
        return _run_session(args, out)
    if args.model is None:
        raise UsageError("give a CHECKPOINT_OR_MODEL (or --session FILE)")
    seeds = parse_seeds(args.seeds if args.seeds is not None else "0-15") if args.z_file is None else None

    renderer = Renderer(_device(args.device))
    info = renderer.load(_model_key(args.model))  # a bad checkpoint raises CheckpointError: one line
    caps = info.capabilities
    if args.psi != 1.0 and caps.truncation != "w":
        raise UsageError(f"--psi needs a model with a mapping network (w truncation); {info.model_name} has none"
                         + (" (try --trunc)" if caps.truncation == "z" else ""))
    if args.trunc is not None and caps.truncation != "z":
        raise UsageError(f"--trunc is BigGAN's truncated z; {info.model_name} declares no z truncation"
                         + (" (try --psi)" if caps.truncation == "w" else ""))
    if args.trunc is not None and caps.z_truncation == "scaled" and args.trunc > 1:
        raise UsageError(f"--trunc for {info.model_name} is the release's truncation, in (0, 1]; got {args.trunc}")
    if out is not None and info.channels not in (1, 3, 4):
        raise UsageError(f"cannot write an image of {info.channels}-channel images; use --npy")
    classes = []  # read once, when first needed (a latents .json brings its own, classes included)

    def base():  # the command line's settings
        classes[:] = classes or [_class_weights(args, info)]
        return RenderState(model=info.key, truncation_psi=args.psi, truncation_cutoff=args.cutoff,
                           z_threshold=args.trunc, class_weights=classes[0], noise_mode=args.noise)
    if args.z_file is not None:
        states = _latent_states(args.z_file, base, info, args)
    else:
        states = [base().replace(seed=s) for s in seeds]
    return _render(renderer, states, info, args, out, grid=True)


def _run_session(args, out) -> int:
    """Render a session file through the same engine the window uses, so the pixels match."""
    from ganstudio.cli import UsageError
    from ganstudio.engine import Renderer, load_session
    from ganstudio.engine.latent_files import LatentFileError, check_latent_size
    from ganstudio.latent import parse_seeds

    conflicting = _settings_given(args) + (["--z-file"] if args.z_file is not None else [])
    if conflicting:
        raise UsageError(f"--session fixes every setting; drop {', '.join(conflicting)}")
    state, _ = load_session(args.session)
    try:
        check_latent_size(state, args.session)
    except LatentFileError as e:
        raise UsageError(f"--session {e}") from None
    if args.model is not None:
        state = state.replace(model=args.model)
    renderer = Renderer(_device(args.device))
    info = renderer.load(state.model)  # a bad checkpoint raises CheckpointError: one line
    seeds = parse_seeds(args.seeds) if args.seeds is not None else None
    states = [state] if seeds is None else [state.replace(seed=s, z=None, ws=None) for s in seeds]
    return _render(renderer, states, info, args, out, grid=seeds is not None, what=args.session)


def _check_finite(raw, states, start: int) -> None:
    """A UsageError naming the first image of the batch at ``start`` that came out NaN or infinite."""
    import numpy as np

    from ganstudio.cli import UsageError

    bad = np.flatnonzero(~np.isfinite(raw.reshape(len(raw), -1)).all(axis=1))
    if len(bad):
        i = start + int(bad[0])
        s = states[i]
        which = f"seed {s.seed}" if s.z is None and s.ws is None else f"latent {i}"
        raise UsageError(f"image {i} ({which}) came out NaN or infinite: the model overflowed on these settings; "
                         "nothing was written")


def _render(renderer, states, info, args, out, grid: bool, what: str = "") -> int:
    """Render ``states`` a batch at a time into the grid image and/or the raw .npy (filled on disk)."""
    import contextlib
    import math

    import numpy as np

    from ganstudio._io import atomic_path
    from ganstudio.cli import UsageError
    from ganstudio.imaging import make_grid, save_image

    n, r, ch = len(states), info.resolution, info.channels
    if out is not None:
        cols = min(args.cols or math.ceil(math.sqrt(n)), n)
        rows = -(-n // cols)
        pixels = (rows * (r * args.scale + 2) + 2) * (cols * (r * args.scale + 2) + 2)
        if pixels > _MAX_GRID_PIXELS:
            raise UsageError(f"a grid of {n} images of {r * args.scale} px is {pixels / 1e6:.0f} megapixels, too large "
                             "for one image; render fewer, or write only --npy")
    images = np.empty((n, r, r, ch), np.uint8) if out is not None else None
    with contextlib.ExitStack() as stack:
        raw = None
        if args.npy is not None:  # on disk as it fills: thousands of images need not fit in memory
            tmp = stack.enter_context(atomic_path(args.npy))
            raw = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(n, ch, r, r))
        for start in range(0, n, _BATCH):
            # raw always: a NaN image rounds to plain grey in the PNG, and must not be written silently.
            res = renderer.render_batch(states[start:start + _BATCH], raw=True)
            if res.error:
                raise UsageError(f"cannot render{' ' + what if what else ''}: {res.error}")
            _check_finite(res.raw, states, start)
            if images is not None:
                images[start:start + len(res.image)] = res.image
            if raw is not None:
                raw[start:start + len(res.raw)] = res.raw
        if raw is not None:
            raw.flush()
            del raw  # closed before the file is moved into place
    if args.npy is not None:
        print(f"wrote {args.npy} ([{n}, {ch}, {r}, {r}] float32)")
    if out is not None:
        if args.scale > 1:
            images = images.repeat(args.scale, axis=1).repeat(args.scale, axis=2)
        picture = make_grid(images, cols=args.cols) if grid else images[0]
        save_image(out, picture)
        # Without --out the user did not choose the name: say it in full, and that it was the default.
        name, note = (out, "") if args.out is not None else (Path(out).resolve(), "; no --out given: the default name")
        print(f"wrote {name} ({n} image{'s' if n != 1 else ''}, {picture.shape[1]}x{picture.shape[0]} px{note})")
    return 0
