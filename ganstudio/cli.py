"""`ganstudio` entry point: opens the GUI by default; subcommands live in ganstudio/commands/.

Each module in ``ganstudio.commands`` defines ``NAME``, ``HELP``, ``add_arguments(parser)``
and ``run(args) -> int``; this file only discovers and dispatches them, so that commands
can be added without touching it.  Expected failures print one line and exit non-zero.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import threading

from ganstudio.commands import UsageError  # the one class (see its docstring); importable from here too


def _commands() -> dict:
    import ganstudio.commands as pkg
    mods = {}
    for info in pkgutil.iter_modules(pkg.__path__):
        if not info.name.startswith("_"):
            mod = importlib.import_module(f"ganstudio.commands.{info.name}")
            mods[mod.NAME] = mod
    return mods


def build_parser() -> tuple[argparse.ArgumentParser, dict]:
    from ganstudio import __version__
    parser = argparse.ArgumentParser(prog="ganstudio", description="GAN Studio: explore and train generative models.")
    parser.add_argument("--version", action="version", version=f"ganstudio {__version__}")
    parser.add_argument("--selftest", action="store_true",
                        help="check this installation offscreen (the default model and each panel's first action)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    mods = _commands()
    for name in sorted(mods):
        p = sub.add_parser(name, help=mods[name].HELP, description=mods[name].HELP)
        mods[name].add_arguments(p)
    return parser, mods


# Stop signals that reached `ganstudio train` before its own handlers were in place (building the
# parser imports torch: a second in which the Train tab's Stop would otherwise kill it).
EARLY_STOPS: list[int] = []


def _keep_early_stops(argv: list[str]) -> dict:
    """For `train`: stop signals are noted instead of killing it; returns the handlers to restore."""
    import signal
    EARLY_STOPS.clear()
    if "train" not in argv[:1] or threading.current_thread() is not threading.main_thread():
        return {}
    signals = (signal.SIGINT, signal.SIGTERM) + ((signal.SIGBREAK,) if hasattr(signal, "SIGBREAK") else ())
    return {s: signal.signal(s, lambda signum, frame: EARLY_STOPS.append(signum)) for s in signals}


def main(argv: list[str] | None = None) -> int:
    import signal
    previous = _keep_early_stops(sys.argv[1:] if argv is None else list(argv))  # before anything imports torch
    try:
        return _main(argv)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _main(argv: list[str] | None) -> int:
    from ganstudio.checkpoints import CheckpointError
    parser, mods = build_parser()
    args = parser.parse_args(argv)
    if args.selftest:
        from ganstudio.gui.selftest import run_selftest
        return run_selftest()
    command = args.command or "gui"
    if command not in mods:
        parser.error(f"unknown command {command!r}")
    try:
        return int(mods[command].run(args) or 0)
    except KeyboardInterrupt:
        print("ganstudio: interrupted", file=sys.stderr)
        return 130
    except (UsageError, CheckpointError, OSError, ValueError, KeyError) as e:
        # OSError: an output path that is a folder, a full disk, a name too long...
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        if isinstance(e, OSError) and e.filename is not None and e.strerror and e.filename2 is None:
            msg = f"{e.filename}: {e.strerror}"  # not "[Errno 28] No space left on device: 'x.png'"
        print(f"ganstudio {command}: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    # Dispatch through the imported module, not this __main__ copy: EARLY_STOPS (read by the train
    # command as ganstudio.cli.EARLY_STOPS) must be the same list the signal handlers fill.
    from ganstudio.cli import main as _entry
    sys.exit(_entry())
