"""`ganstudio gui` (the default): open the window."""
NAME = "gui"
HELP = "open the GAN Studio window (the default when no command is given)"


def add_arguments(p):
    p.add_argument("checkpoint", nargs="?", help="a checkpoint or shipped model name to open")


def run(args) -> int:
    from ganstudio.gui.app import run_app
    return run_app(getattr(args, "checkpoint", None))
