"""Checkpoints: our safetensors + JSON format, and importers of foreign formats."""
from ganstudio.checkpoints._format import (Checkpoint, CheckpointError, load_checkpoint, read_meta,
                                           save_checkpoint)
from ganstudio.checkpoints.naming import step_of

__all__ = ["Checkpoint", "CheckpointError", "load_checkpoint", "read_meta", "save_checkpoint", "step_of"]
