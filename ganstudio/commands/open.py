"""`ganstudio open FILE`: open a checkpoint (or a session file) in the explorer window."""
NAME = "open"
HELP = "open a checkpoint, a session file or latents (as bookmarks) in the explorer window"


def add_arguments(p):
    p.add_argument("file", help="a checkpoint (ours or a foreign one), a session (.json), latents (.npy/.npz/.json: "
                                "bookmarks on the default model) or a shipped model name")


def checked(file: str) -> str:
    """``file`` as the window should be given it, once loaded here as `ganstudio sample` loads it.

    A file the loader refuses (a pickle naming a forbidden global, a corrupt checkpoint, a session
    whose model does not load) raises the same one-line error `sample` prints, on the terminal the
    user typed the command in, before any window opens.  A model is read twice (here, then in the
    window): the price of saying on the terminal why a file does not open.
    """
    from pathlib import Path

    import torch

    from ganstudio.cli import UsageError
    from ganstudio.engine.latent_files import LatentFileError, check_latent_size, is_latents_file, read_latent_file
    from ganstudio.engine.renderer import load_model
    from ganstudio.pretrained import resolve

    path = resolve(file)
    if not path.exists():
        raise UsageError(f"{file}: no such file or shipped model")
    if is_latents_file(str(path)):  # the window opens the default model and imports them as bookmarks
        try:
            read_latent_file(path)
        except LatentFileError as e:
            raise UsageError(str(e)) from None
    elif path.suffix.lower() == ".json":
        from ganstudio.engine import load_session
        state, _ = load_session(path)
        try:
            check_latent_size(state, path.name)
        except LatentFileError as e:
            raise UsageError(str(e)) from None
        load_model(state.model, torch.device("cpu"), prepare=False)
    else:
        load_model(str(path), torch.device("cpu"), prepare=False)
    return str(Path(file) if not Path(file).exists() else path)


def run(args) -> int:
    path = checked(args.file)
    from ganstudio.gui.app import run_app
    return run_app(path)
