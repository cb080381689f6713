"""The one error every checkpoint problem raises."""


class CheckpointError(Exception):
    """The one error every checkpoint problem raises; its message names the problem and the file."""
