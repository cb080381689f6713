"""`ganstudio open FILE`: open a checkpoint (or a session file) in the explorer window."""
NAME = "open"
HELP = "open a checkpoint, a session file or latents (as bookmarks) in the explorer window"


def add_arguments(p):
    p.add_argument("file", help="a checkpoint (ours or a foreign one), a session (.json), latents (.npy/.npz/.json: "
                                "bookmarks on the default model) or a shipped model name")


def run(args) -> int:
    from pathlib import Path

    from ganstudio.cli import UsageError
    from ganstudio.pretrained import resolve

    path = resolve(args.file)
    if not path.exists():
        raise UsageError(f"{args.file}: no such file or shipped model")
    from ganstudio.engine.latent_files import is_latents_file
    if is_latents_file(str(path)):
        pass  # latents: the window opens the default model and imports them as bookmarks
    elif path.suffix.lower() == ".json":
        from ganstudio.engine import load_session
        load_session(path)  # a bad session file is a one-line error here, not a dialog
    elif path.suffix.lower() == ".safetensors":
        from ganstudio.checkpoints import read_meta
        read_meta(path)  # header check only; the window loads the weights
    from ganstudio.gui.app import run_app
    return run_app(str(Path(args.file) if not Path(args.file).exists() else path))
