"""Subcommands of the `ganstudio` command line, one module each (see ganstudio/cli.py)."""


class UsageError(Exception):
    """A user mistake a command reports as one line (bad argument, missing file...).

    Defined here, not in cli.py: run as ``python -m ganstudio.cli`` that file is ``__main__``, and a
    class defined there would be a second UsageError that the commands never raise."""
