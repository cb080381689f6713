"""`ganstudio gui` (the default): open the window."""
NAME = "gui"
HELP = "open the GAN Studio window (the default when no command is given)"


def add_arguments(p):
    p.add_argument("checkpoint", nargs="?", help="a checkpoint or shipped model name to open")


def run(args) -> int:
    checkpoint = getattr(args, "checkpoint", None)
    if checkpoint is not None:  # refused files say why on the terminal, as `ganstudio open` does
        from ganstudio.commands.open import checked
        checkpoint = checked(checkpoint)
    from ganstudio.gui.app import run_app
    return run_app(checkpoint)
