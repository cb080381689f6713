"""`ganstudio export`: what the Gallery exports, from a session file or a latents file, without the window.

The frames and images come from ``engine.export``, the code the Gallery runs, so the same session
gives the same bytes here and there.
"""
from __future__ import annotations

import sys
from pathlib import Path

NAME = "export"
HELP = ("write an interpolation GIF / MP4 or a PNG grid from a session file or a latents file, or a saved "
        "timeline as a GIF / MP4 / folder of PNG frames")

_OUT_TYPES = (".gif", ".mp4", ".png")
_MAX_SCALE = 64  # as the Gallery's scale box
_MAX_FRAMES = 1000  # per leg


def add_arguments(p):
    p.add_argument("source", metavar="SESSION_LATENTS_OR_TIMELINE",
                   help="a timeline file (.json, the Timeline panel's Save: --out x.mp4, x.gif or a folder for "
                        "PNG frames; --frames and --loop are the timeline's own), a session file (.json, "
                        "File > Save session: its bookmarks are the stops, its settings "
                        "the rest) or latents (.npy / .npz / .json: z rows, ws or w, as `sample --z-file` reads)")
    p.add_argument("--out", required=True,
                   help="walk.gif or walk.mp4: an interpolation through the stops; grid.png: the stops as a grid "
                        "(one stop, or a session without bookmarks: that image alone)")
    p.add_argument("--frames", type=int, default=24, help="frames from one stop to the next (default 24)")
    p.add_argument("--scale", type=int, default=1, help="integer upscaling of every pixel (default 1)")
    p.add_argument("--smooth", action="store_true", help="scale up bilinearly instead of in whole-pixel blocks")
    p.add_argument("--loop", action="store_true",
                   help="return to the first stop at the end, so the animation repeats seamlessly "
                        "(as the Gallery's export); otherwise the walk ends on the last stop")
    p.add_argument("--model", metavar="CHECKPOINT_OR_MODEL",
                   help="the model to render on (latents: default the window's default model; a session: "
                        "instead of the one it names)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default="auto")


class ProgressBar:
    """A text bar on stderr: redrawn in place on a terminal, a line per quarter otherwise (logs, pipes)."""

    def __init__(self, label: str, stream=None, width: int = 30):
        self.label, self.stream, self.width = label, stream or sys.stderr, width
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.shown = 0

    def __call__(self, fraction: float) -> None:
        pct = int(max(0.0, min(1.0, fraction)) * 100)
        if self.tty:
            filled = pct * self.width // 100
            self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {pct:3d}%")
            if pct == 100:
                self.stream.write("\n")
        elif pct // 25 > self.shown // 25:
            self.stream.write(f"{self.label}: {pct}%\n")
        else:
            return
        self.shown = pct
        self.stream.flush()


def _check_args(args) -> str:
    from ganstudio.cli import UsageError

    suffix = Path(args.out).suffix.lower()
    if Path(args.out).is_dir():
        raise UsageError(f"--out {args.out}: is a folder; name a file in it, e.g. {Path(args.out) / 'walk.gif'}")
    if suffix not in _OUT_TYPES:
        raise UsageError(f"--out {args.out}: end the name in .gif or .mp4 (an interpolation) or .png (a grid)")
    if not 1 <= args.frames <= _MAX_FRAMES:
        raise UsageError(f"--frames must be an integer in 1..{_MAX_FRAMES}, got {args.frames}")
    if not 1 <= args.scale <= _MAX_SCALE:
        raise UsageError(f"--scale must be an integer in 1..{_MAX_SCALE}, got {args.scale}")
    if not Path(args.source).exists():
        raise UsageError(f"{args.source}: no such file")
    return suffix


def _session_stops(args, renderer):
    """(stops, current, what) of a session: its bookmarks of its model, and its state."""
    from ganstudio.engine import RenderState, load_session

    state, extra = load_session(args.source)  # a ValueError naming the problem
    marks = extra.get("bookmarks")
    stops, unreadable = [], 0
    for d in marks if isinstance(marks, list) else []:
        try:
            stops.append(RenderState.from_dict(d))
        except ValueError:
            unreadable += 1  # as the window: one bad bookmark does not spoil the session
    if unreadable:
        print(f"warning: {Path(args.source).name}: {unreadable} bookmark{'s' if unreadable > 1 else ''} "
              "could not be read (left out)", file=sys.stderr)
    others = sum(1 for s in stops if s.model != state.model)
    if others:
        print(f"warning: {Path(args.source).name}: {others} bookmark{'s' if others > 1 else ''} of other models "
              "left out (an export renders one model, as the Gallery's does)", file=sys.stderr)
    stops = [s for s in stops if s.model == state.model]
    if args.model is not None:
        key = _model_key(args.model)
        state, stops = state.replace(model=key), [s.replace(model=key) for s in stops]
    renderer.load(state.model)  # a bad checkpoint raises CheckpointError: one line
    return stops, state, "bookmarks of its model"


def _latent_stops(args, renderer):
    """(stops, current, what) of a latents file: one stop per latent, on the chosen model."""
    from ganstudio.cli import UsageError
    from ganstudio.engine import RenderState
    from ganstudio.engine.latent_files import LatentFileError, latent_states, read_latent_file
    from ganstudio.pretrained import default_model

    try:
        _, _, saved = read_latent_file(args.source)
    except LatentFileError as e:
        raise UsageError(str(e)) from None
    key = args.model if args.model is not None else (saved or {}).get("model") or default_model()
    if not key:
        raise UsageError("no shipped model to render the latents on: give --model CHECKPOINT_OR_MODEL")
    info = renderer.load(_model_key(key))
    style = bool(info.capabilities.style_layers and info.num_ws > 1)
    base = RenderState(model=info.key)
    try:
        stops = latent_states(args.source, base, info.z_dim, info.num_ws, info.w_dim, style)
    except LatentFileError as e:
        raise UsageError(str(e)) from None
    return stops, stops[0] if saved is not None else base, "latents"


def _model_key(arg: str) -> str:
    from ganstudio.commands.sample import _model_key as sample_model_key
    return sample_model_key(arg)


def _export_timeline(args) -> int:
    """A saved timeline (the Timeline panel's file) to a GIF, an MP4 or a folder of PNG frames."""
    from ganstudio.cli import UsageError
    from ganstudio.engine import Renderer, export, pick_device
    from ganstudio.engine.timeline import TimelineError, load_timeline

    out = Path(args.out)
    suffix = out.suffix.lower()
    if suffix not in (".gif", ".mp4") and (suffix or (out.exists() and not out.is_dir())):
        raise UsageError(f"--out {args.out}: end the name in .gif or .mp4, or name a new or empty folder "
                         "for PNG frames")
    if not 1 <= args.scale <= _MAX_SCALE:
        raise UsageError(f"--scale must be an integer in 1..{_MAX_SCALE}, got {args.scale}")
    try:
        tl = load_timeline(args.source)
        if args.model is not None:
            tl = tl.with_model(_model_key(args.model))
        renderer = Renderer(pick_device(args.device))
        renderer.load(tl.model)
        states = list(tl.frames(renderer))
    except TimelineError as e:
        raise UsageError(str(e)) from None
    bar = ProgressBar(f"rendering {out.name}")
    if suffix:
        n = export.export_states(renderer, states, out, args.scale, bar, args.smooth, fps=tl.fps)
        print(f"wrote {out} ({n} frames at {tl.fps} fps{', looping' if tl.loop or tl.walk.frames else ''})")
    else:
        n = export.export_png_frames(renderer, states, out, args.scale, bar, args.smooth)
        print(f"wrote {n} PNG frames to {out}")
    return 0


def run(args) -> int:
    from ganstudio.cli import UsageError
    from ganstudio.engine import Renderer, export, pick_device
    from ganstudio.engine.latent_files import is_latents_file
    from ganstudio.engine.timeline import is_timeline_file

    if Path(args.source).suffix.lower() == ".json" and is_timeline_file(args.source):
        return _export_timeline(args)
    suffix = _check_args(args)
    try:
        renderer = Renderer(pick_device(args.device))
    except ValueError as e:
        raise UsageError(f"--device {args.device}: {e}") from None
    latents = is_latents_file(str(args.source))
    if not latents and Path(args.source).suffix.lower() != ".json":
        raise UsageError(f"{args.source}: not a session (.json) or latents file (.npy, .npz, .json)")
    stops, current, what = (_latent_stops if latents else _session_stops)(args, renderer)
    name = Path(args.source).name
    if suffix in (".gif", ".mp4"):
        if len(stops) < 2:
            raise UsageError(f"{name}: an interpolation needs at least two stops ({what}); it has {len(stops)}")
        n = export.export_animation(renderer, stops, current, args.out, args.frames, args.scale, loop=args.loop,
                                    progress=ProgressBar(f"rendering {Path(args.out).name}"), smooth=args.smooth)
        print(f"wrote {args.out} ({n} frames, {len(stops)} stops{', looping' if args.loop else ''})")
    elif len(stops) > 1 or (stops and not latents):
        bar = ProgressBar(f"rendering {Path(args.out).name}") if len(stops) > export.GRID_BATCH else None
        export.export_grid(renderer, stops, args.out, args.scale, progress=bar, smooth=args.smooth)
        print(f"wrote {args.out} (a grid of {len(stops)} images)")
    else:
        export.export_png(renderer, stops[0] if stops else current, args.out, args.scale, smooth=args.smooth)
        print(f"wrote {args.out} (one image)")
    return 0
