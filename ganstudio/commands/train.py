"""`ganstudio train`: train a model from a preset into a run folder, or resume one.

    ganstudio train --preset dcgan --data fashion-mnist --out runs/fm-dcgan --steps 2000
    ganstudio train --resume runs/fm-dcgan --steps 4000
    torchrun --nproc_per_node=2 -m ganstudio.cli train --preset dcgan --data mnist --out runs/x

Ctrl+C or SIGTERM saves a checkpoint and exits with status "stopped" (a second Ctrl+C
aborts at once).  The run folder's layout is documented in ganstudio/training/run_dir.py.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import signal
import sys
from pathlib import Path

from ganstudio._duration import format_duration

NAME = "train"
HELP = "train a model from a preset (see --list-presets) into a run folder, or resume one"

# Explicit flags for the common settings: (flag, TrainConfig field, type, help).
_FLAGS = [
    ("--steps", "steps", int, "generator steps to train for (on resume: the new total)"),
    ("--batch", "batch", int, "global batch size"),
    ("--lr-g", "lr_g", float, "generator learning rate"),
    ("--lr-d", "lr_d", float, "discriminator learning rate"),
    ("--loss", "loss", str, "ns | minimax | lsgan | wgan | hinge | ebgan | began (also wgan-gp, wgan-clip)"),
    ("--k-disc", "k_disc", int, "discriminator steps per generator step"),
    ("--ema", "ema", float, "EMA decay of G's weights (0 = off)"),
    ("--resolution", "resolution", int, "image size"),
    ("--channels", "channels", int, "1 (grey) or 3 (RGB)"),
    ("--seed", "seed", int, "random seed"),
    ("--device", "device", str, "auto | cpu | cuda | cuda:N | mps"),
    ("--sample-every", "sample_every", int, "steps between sample grids"),
    ("--ckpt-every", "ckpt_every", int, "steps between checkpoints"),
    ("--keep", "keep", int, "checkpoints to keep"),
    ("--log-every", "log_every", int, "steps between log lines"),
    ("--subset", "subset", int, "train on the first N images only (limited-data runs; 0 = all)"),
    ("--augment", "augment", str, "none | diffaugment | ada: augment D's inputs (small data sets)"),
]


def add_arguments(p):
    p.add_argument("--preset", help="training recipe: " + ", ".join(_preset_names()))
    p.add_argument("--data", help="image folder, IDX file/folder, or fashion-mnist | mnist | digits | shapes[:N] | "
                                  "emoji | emoji-base")
    p.add_argument("--out", metavar="RUN_DIR", help="new run folder (missing or empty)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its newest good checkpoint")
    for flag, _, typ, help_ in _FLAGS:
        p.add_argument(flag, type=typ, default=None, help=help_)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override any preset field (repeatable); model.FIELD=VALUE sets a model config field")
    p.add_argument("--list-presets", action="store_true", help="list the presets and exit")
    p.add_argument("--quiet", action="store_true", help="no progress line")


def _preset_names() -> list[str]:
    from ganstudio.training.presets import list_presets
    return list_presets()


def _overrides(args) -> list[tuple[str, str]]:
    items = []
    for flag, field, _, _ in _FLAGS:
        v = getattr(args, flag.lstrip("-").replace("-", "_"))
        if v is not None:
            items.append((field, str(v)))
    for s in args.set:
        if "=" not in s or not s.split("=", 1)[0].strip():
            raise ValueError(f"--set expects KEY=VALUE, got {s!r}")
        k, v = s.split("=", 1)
        items.append((k.strip().replace("-", "_"), v))
    return items


def _expand_loss_alias(items: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """--loss wgan-gp / wgan-clip: the WGAN loss plus its regularizer, unless set explicitly."""
    keys = {k for k, _ in items}
    out = []
    for k, v in items:
        if k == "loss" and v in ("wgan-gp", "wgan-clip"):
            out.append(("loss", "wgan"))
            if v == "wgan-gp" and "gp" not in keys:
                out.append(("gp", "10"))
            if v == "wgan-clip" and "clip" not in keys:
                out.append(("clip", "0.01"))
        else:
            out.append((k, v))
    return out


def _resolve(args):
    """(TrainConfig, run folder, resume?) from the arguments; ValueError on any misuse."""
    from ganstudio.cli import UsageError
    from ganstudio.training.loop import RESUMABLE_CHANGES
    from ganstudio.training.presets import TrainConfig, apply_overrides, follow_data, get_preset
    from ganstudio.training.run_dir import RunDir

    items = _expand_loss_alias(_overrides(args))
    if args.resume:
        if args.out and os.path.abspath(args.out) != os.path.abspath(args.resume):
            raise UsageError("give either --out (new run) or --resume (existing run), not both")
        if args.preset:
            raise UsageError("--preset is fixed by the run being resumed; leave it out")
        run = RunDir(args.resume)
        cfg = TrainConfig.from_dict(run.read_config())
        if args.data and not _same_data(args.data, cfg.data):
            raise UsageError(f"the run trains on {cfg.data!r}; --data cannot change when resuming")
        # Restating a setting the run already has (the original command line again) is no change.
        bad = [k for k, v in items if k not in RESUMABLE_CHANGES and apply_overrides(cfg, {k: v}) != cfg]
        if bad:
            raise UsageError(f"cannot change {bad[0]!r} when resuming (allowed: {', '.join(RESUMABLE_CHANGES)})")
        cfg = apply_overrides(cfg, dict(items))
        done = (run.read_status() or {}).get("step", 0) or 0
        if isinstance(done, bool) or not isinstance(done, int):
            done = 0  # a hand-edited status.json: the checkpoints say where the run is
        if args.steps is not None and args.steps <= done:
            raise UsageError(f"the run is already at step {done}; --steps is the new total and must be larger")
        return cfg, run, True
    if not args.preset:
        raise UsageError("--preset is required (or --resume RUN_DIR); presets: " + ", ".join(_preset_names()))
    if not args.out:
        raise UsageError("--out RUN_DIR is required: the folder the run writes to")
    cfg = get_preset(args.preset)
    if args.data is not None:
        if not args.data.strip():
            raise UsageError("--data is empty: give a dataset name or folder (or leave --data out for the preset's)")
        items.insert(0, ("data", args.data))
    cfg = apply_overrides(cfg, dict(items))
    cfg = dataclasses.replace(cfg, data=_absolute_data(cfg.data))
    run = RunDir(args.out)
    run.check_new()
    # Channels and resolution follow the data unless given here (the preset's are for its own data).
    cfg, notes = follow_data(cfg, explicit={k for k, _ in items})
    if int(os.environ.get("RANK", "0")) == 0:
        for line in notes:
            print(f"ganstudio train: note: {line}", file=sys.stderr)
    return cfg, run, False


def _absolute_data(data: str) -> str:
    """A data path that exists, made absolute: the run's config must name the same folder from any
    working directory (the Train tab resumes from the runs folder).  Data set names stay as they are."""
    p = Path(data).expanduser()
    return str(p.resolve()) if data and p.exists() else data


def _same_data(given: str, recorded: str) -> bool:
    if given == recorded:
        return True
    a, b = Path(given).expanduser(), Path(recorded).expanduser()
    try:
        return a.exists() and b.exists() and a.samefile(b)
    except OSError:
        return False


def _progress_line(st: dict) -> str:
    losses = " ".join(f"{k} {v:.4g}" for k, v in st["losses"].items() if not k.startswith("D_"))
    extra = f" stage {st['stage']} a={st['alpha']:.2f}" if "stage" in st else ""
    return (f"step {st['step']}/{st['steps']}  kimg {st['kimg']:.{1 if st['kimg'] >= 10 else 3}f}  {losses}  "
            f"{st['img_per_s']:.0f} img/s  ETA {format_duration(st['eta_s'])}{extra}")


def run(args) -> int:
    # The stop signals are caught from the first moment: the Train tab's Stop may come while torch is
    # still importing, and their default action would kill the trainer mid start-up (shown as failed).
    requested = {"stop": False, "main": int(os.environ.get("RANK", "0")) == 0}

    def on_signal(signum, frame):
        if requested["stop"] and signum == signal.SIGINT:
            raise KeyboardInterrupt
        requested["stop"] = True
        if requested["main"]:
            print(f"\nganstudio train: {signal.Signals(signum).name}: saving a checkpoint and stopping "
                  f"(Ctrl+C again to abort)", file=sys.stderr, flush=True)

    # SIGBREAK is what the GUI's Stop sends on Windows.
    stop_signals = [signal.SIGINT, signal.SIGTERM] + ([signal.SIGBREAK] if hasattr(signal, "SIGBREAK") else [])
    old = {s: signal.signal(s, on_signal) for s in stop_signals}
    from ganstudio import cli
    if cli.EARLY_STOPS:  # stopped while starting: the run stops at its first step check
        on_signal(cli.EARLY_STOPS[0], None)
    try:
        return _run(args, requested)
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _run(args, requested: dict) -> int:
    from ganstudio.training.presets import PRESETS

    if args.list_presets:
        for name in sorted(PRESETS):
            p = PRESETS[name]
            print(f"{name:<18} model {p.model:<17} loss {p.loss:<7} data {p.data}")
        return 0
    cfg, run_dir, resume = _resolve(args)

    from ganstudio.training.loop import RunWriteError, TrainingError, train

    main_rank = int(os.environ.get("RANK", "0")) == 0
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("ganstudio train: %(levelname)s: %(message)s"))
    logger = logging.getLogger("ganstudio.training")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO if main_rank else logging.ERROR)

    tty = sys.stderr.isatty()
    show = main_rank and not args.quiet
    last = None
    try:
        for st in train(cfg, run_dir.path, resume=resume, stop=lambda: requested["stop"]):
            last = st
            if show:
                line = _progress_line(st)
                print(("\r\x1b[K" + line) if tty else line, end="" if tty else "\n", file=sys.stderr, flush=True)
    except (TrainingError, RuntimeError, OverflowError) as e:
        # RuntimeError etc.: torch refusing what the config asks (an overflowing lr, an empty layer)
        if show and tty:
            print(file=sys.stderr)
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        print(f"ganstudio train: error: {first}; the last good checkpoint is kept in {run_dir.checkpoints_dir}",
              file=sys.stderr)
        # A file the run could not write (a full disk): the environment, not the run, is at fault; once
        # it is fixed, --resume continues from that checkpoint.
        return 2 if isinstance(e, RunWriteError) else 1
    finally:
        logger.removeHandler(handler)
    if show and tty:
        print(file=sys.stderr)
    if main_rank:
        status = run_dir.read_status() or {}
        state = status.get("state", "?")
        print(f"ganstudio train: {state} at step {status.get('step', last and last['step'])}; "
              f"run folder {run_dir.path}", file=sys.stderr)
    return 0
