"""Subcommands of the `ganstudio` command line, one module each (see ganstudio/cli.py)."""
