"""`ganstudio open FILE`: open a checkpoint (or a session file) in the explorer window."""
NAME = "open"
HELP = "open a checkpoint or a session file in the explorer window"


def add_arguments(p):
    p.add_argument("file", help="a GAN Studio checkpoint (.safetensors), a session (.json) or a shipped model name")


def run(args) -> int:
    from pathlib import Path

    from ganstudio.cli import UsageError
    from ganstudio.pretrained import resolve

    path = resolve(args.file)
    if not path.exists():
        raise UsageError(f"{args.file}: no such file or shipped model")
    if path.suffix.lower() == ".json":
        from ganstudio.engine import load_session
        load_session(path)  # a bad session file is a one-line error here, not a dialog
    elif path.suffix.lower() == ".safetensors":
        from ganstudio.checkpoints import read_meta
        read_meta(path)  # header check only; the window loads the weights
    from ganstudio.gui.app import run_app
    return run_app(str(Path(args.file) if not Path(args.file).exists() else path))
