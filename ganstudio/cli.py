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


class UsageError(Exception):
    """A user mistake a command reports as one line (bad argument, missing file...)."""


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
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    mods = _commands()
    for name in sorted(mods):
        p = sub.add_parser(name, help=mods[name].HELP, description=mods[name].HELP)
        mods[name].add_arguments(p)
    return parser, mods


def main(argv: list[str] | None = None) -> int:
    from ganstudio.checkpoints import CheckpointError
    parser, mods = build_parser()
    args = parser.parse_args(argv)
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
        print(f"ganstudio {command}: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
