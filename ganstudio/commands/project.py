"""`ganstudio project`: find the latents of your own images (engine/projection.py) and write what the Gallery imports.

The latents file is what Gallery > Import latents (and `ganstudio sample --z-file`) reads:
ws [N, num_ws, w_dim] for the w and w+ spaces (w repeated over the layers), z [N, z_dim] for z;
an .npz also holds the chosen classes (``class_idx``, -1 when unconditional) and each image's PSNR.
"""
from __future__ import annotations

import sys
from pathlib import Path

NAME = "project"
HELP = "project images into a model's latent space (z, w or w+) and write the latents for the Gallery"

DEFAULT_STEPS = 300
_LATENT_TYPES = (".npy", ".npz")
_VIDEO_TYPES = (".mp4", ".gif")
_VIDEO_FRAMES = 60  # frames kept per image: every k-th step
_BAR = 24


def add_arguments(p):
    p.add_argument("images", metavar="IMAGE", nargs="+", help="image files (any size or mode: centre-cropped "
                                                              "and resized to the model's)")
    p.add_argument("--model", required=True, help="a GAN Studio checkpoint, a shipped model name or a registry name")
    p.add_argument("--space", choices=("z", "w", "w+"), default=None,
                   help="latent space (default: w+ for models with a mapping network, else z)")
    p.add_argument("--steps", type=int, default=DEFAULT_STEPS, help=f"optimisation steps (default {DEFAULT_STEPS})")
    p.add_argument("--class", dest="class_", metavar="K",
                   help="class index or name of a conditional model (default: estimated per image)")
    p.add_argument("--features", type=float, default=None, metavar="WEIGHT",
                   help="weight of the Fashion-MNIST classifier's features in the loss (grey models only; "
                        "default: engine.projection.GREY_FEATURES on grey models; 0 = pixels only)")
    p.add_argument("--optimize-noise", action="store_true",
                   help="StyleGAN2: also optimise the noise maps (they are not part of the latents file)")
    p.add_argument("--start", choices=("encoder", "mean"), default="encoder",
                   help="w / w+: start from the model's encoder's guess (the default where the model has one, "
                        "else the mean latent) or from the mean latent")
    p.add_argument("--encoder", metavar="FILE",
                   help="an encoder file from `ganstudio train-encoder` (default: the shipped model's own)")
    p.add_argument("--seed", type=int, default=0, help="seed of the start samples and the latent noise")
    p.add_argument("--out", required=True, help="latents file to write: .npy or .npz")
    p.add_argument("--video", help="also write the progress (target | reconstruction) as .mp4 or .gif")
    p.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default="auto")


def _check_args(args) -> None:
    from ganstudio.commands import UsageError
    if args.steps < 1 or args.steps > 100000:
        raise UsageError(f"--steps must be in 1..100000, got {args.steps}")
    if args.features is not None and not (0.0 <= args.features < 1e6):
        raise UsageError(f"--features must be a weight >= 0, got {args.features}")
    for flag, path, types in (("--out", args.out, _LATENT_TYPES), ("--video", args.video, _VIDEO_TYPES)):
        if path is None:
            continue
        if Path(path).suffix.lower() not in types:
            raise UsageError(f"{flag} {Path(path).name}: write {' or '.join(types)}")
        if Path(path).is_dir():
            raise UsageError(f"{flag} {path}: is a folder; name a file in it")
        if not Path(path).parent.resolve().is_dir():
            raise UsageError(f"{flag} {path}: the folder {Path(path).parent} does not exist")
    if args.encoder is not None and args.start == "mean":
        raise UsageError("--encoder and --start mean contradict each other: choose one")
    if args.video and args.video.lower().endswith(".mp4"):
        from ganstudio.engine.export import has_ffmpeg
        if not has_ffmpeg():
            raise UsageError("--video .mp4 needs the imageio-ffmpeg package; write a .gif instead")


def _space(args, G) -> str:
    from ganstudio.commands import UsageError
    from ganstudio.engine.projection import available_spaces
    spaces = available_spaces(G)
    if not spaces:
        raise UsageError(f"--model {args.model}: its latents are discrete codes (a code grid); projection does not "
                         "apply")
    if args.space is None:
        return "w+" if "w+" in spaces else "z"
    if args.space not in spaces:
        raise UsageError(f"--space {args.space}: {G.model_name or 'this model'} has no mapping network with style "
                         f"layers; use {' or '.join(spaces)}")
    return args.space


def _check_readable(args, G, space: str) -> None:
    """Refuse an .npy the Gallery would misread: N z rows look like one ws when N == num_ws and z_dim == w_dim."""
    from ganstudio.commands import UsageError
    if (space == "z" and args.out.lower().endswith(".npy") and G.num_ws > 1 and len(args.images) == G.num_ws
            and G.z_dim == G.w_dim):
        raise UsageError(f"--out {Path(args.out).name}: {len(args.images)} z rows of this model read back as one "
                         "ws in an .npy; write an .npz (its key says z)")


def _encoder(args, G, space: str):
    """The encoder to start from: --encoder FILE, else the shipped model's own; None for --start mean or z."""
    from ganstudio.commands import UsageError
    from ganstudio.engine.inversion_encoder import EncoderError, check_matches, load_encoder
    from ganstudio.engine.projection import ProjectionError, model_encoder
    if space == "z" and args.encoder is not None:  # an encoder maps to w+: refused, not silently ignored
        raise UsageError("--encoder: a projection into z starts from the mean latent; an encoder only starts "
                         "w / w+ projections")
    if args.start == "mean" or space == "z":
        return None
    try:
        if args.encoder is None:
            return model_encoder(args.model)
        net = load_encoder(args.encoder).net
        check_matches(net, G)
        return net
    except (EncoderError, ProjectionError) as e:
        raise UsageError(f"--encoder: {e}") from None


def _class(args, info):
    from ganstudio.commands import UsageError
    from ganstudio.commands.sample import class_index
    if args.class_ is None:
        return None
    if not info.c_dim:
        raise UsageError("--class: this model is unconditional")
    try:
        k = class_index(args.class_, info.class_names, info.c_dim)
    except ValueError as e:
        raise UsageError(f"--class {e}") from None
    if not 0 <= k < info.c_dim:
        raise UsageError(f"--class {k} out of range: the model has classes 0..{info.c_dim - 1}")
    return k


def _targets(paths, info):
    """Every image read and checked before the long work starts: a bad file is found at once."""
    from ganstudio.commands import UsageError
    from ganstudio.engine.encoding import load_image
    out = []
    for p in paths:
        try:
            out.append(load_image(p, info.resolution, info.channels))
        except ValueError as e:
            raise UsageError(str(e)) from None
    return out


class _Progress:
    """A text progress bar on stderr, and the video's frames (target | reconstruction)."""

    def __init__(self, n_images: int, steps: int, target, keep_frames: bool):
        self.n, self.steps, self.target, self.frames = n_images, steps, target, [] if keep_frames else None
        self.index = 0
        self.every = max(1, steps // _VIDEO_FRAMES)
        self.tty = sys.stderr.isatty()

    def __call__(self, step: int, loss: float, image) -> None:
        if self.frames is not None and (step % self.every == 0 or step == self.steps):
            from ganstudio.imaging import to_uint8
            self.frames.append(to_uint8(image[None])[0])
        if self.tty or step == self.steps:
            filled = _BAR * step // self.steps
            line = (f"\rimage {self.index + 1}/{self.n} [{'#' * filled}{'.' * (_BAR - filled)}] "
                    f"step {step}/{self.steps} loss {loss:.4f}")
            print(line, end="" if self.tty and step < self.steps else "\n", file=sys.stderr, flush=True)


def run(args) -> int:
    from ganstudio.commands.sample import _device, _model_key
    from ganstudio.engine import Renderer
    from ganstudio.engine.projection import ProjectionSettings, project

    _check_args(args)
    renderer = Renderer(_device(args.device))
    info = renderer.load(_model_key(args.model))
    G = renderer.generator(info.key)
    space, class_idx = _space(args, G), _class(args, info)
    _check_readable(args, G, space)
    encoder = _encoder(args, G, space)
    targets = _targets(args.images, info)
    from ganstudio.engine.projection import GREY_FEATURES
    if args.optimize_noise and not hasattr(G, "const_noise"):  # was ignored silently
        from ganstudio.commands import UsageError
        raise UsageError(f"--optimize-noise: {args.model} has no noise maps (StyleGAN2 models have them)")
    if args.features and info.channels != 1:  # the loss would drop the term silently
        from ganstudio.commands import UsageError
        raise UsageError(f"--features: the Fashion-MNIST classifier's features apply to grey models only; "
                         f"{args.model} makes {info.channels}-channel images (use --features 0 or leave it out)")
    features = args.features if args.features is not None else (GREY_FEATURES if info.channels == 1 else 0.0)
    settings = ProjectionSettings(feature_weight=features, optimize_noise=args.optimize_noise, seed=args.seed)
    bar = _Progress(len(targets), args.steps, None, keep_frames=bool(args.video))
    results, videos = [], []
    for i, (path, pixels) in enumerate(zip(args.images, targets)):
        bar.index = i
        if bar.frames is not None:
            bar.frames = []
        res = project(G, pixels, space=space, steps=args.steps, class_idx=class_idx, settings=settings,
                      progress=bar, device=renderer.device, encoder=encoder)
        results.append(res)
        cls = "" if res.class_idx is None else f", class {_class_label(res.class_idx, info)}"
        print(f"{Path(path).name}: PSNR {res.psnr:.2f} dB in {space}{cls} (from the {res.start} start, "
              f"{res.start_psnr:.2f} dB)", file=sys.stderr)
        if bar.frames is not None:
            videos.append(_side_by_side(pixels, bar.frames))
    if args.video:  # first: a video that cannot be written (ffmpeg, the folder) leaves no latents file behind
        import numpy as np

        from ganstudio.engine.export import write_video
        write_video(args.video, np.concatenate(videos))
    _write_latents(args.out, results, space)
    print(f"wrote {Path(args.out).resolve()} ({len(results)} latent{'s' if len(results) > 1 else ''} in {space})")
    if args.video:
        print(f"wrote {Path(args.video).resolve()}")
    return 0


def _class_label(k: int, info) -> str:
    names = info.class_names if not info.untrained else []
    return f"{k} ({names[k]})" if k < len(names) else str(k)


def _side_by_side(target, frames):
    """[T, H, 2W, 3] uint8: the target left of each frame, grey as RGB (video encoders want colour)."""
    import numpy as np
    video = np.stack([np.concatenate([target, f], axis=1) for f in frames])
    return np.repeat(video, 3, axis=-1) if video.shape[-1] == 1 else video


def _write_latents(path: str, results, space: str) -> None:
    import numpy as np

    from ganstudio._io import atomic_path
    rows = np.stack([(r.latent if space == "z" else r.ws).numpy() for r in results]).astype(np.float32)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            if path.lower().endswith(".npz"):
                key = "z" if space == "z" else "ws"
                classes = np.array([-1 if r.class_idx is None else r.class_idx for r in results])
                np.savez(f, **{key: rows}, class_idx=classes, psnr=np.array([r.psnr for r in results]))
            else:
                np.save(f, rows)
