"""Checkpoints: our safetensors + JSON format, and importers of foreign formats."""
from ganstudio.checkpoints._format import (Checkpoint, CheckpointError, load_checkpoint, read_meta,
                                           save_checkpoint)

__all__ = ["Checkpoint", "CheckpointError", "load_checkpoint", "read_meta", "save_checkpoint"]
