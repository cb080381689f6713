"""Checkpoints: our safetensors + JSON format, and importers of foreign formats.

- :mod:`.format`: ``save_checkpoint`` / ``load_checkpoint`` and the :class:`Checkpoint` they exchange
- :mod:`.header`: reading a file's header and config as a hostile file may write them (``read_meta``)
- :mod:`.budget`: building a network on a memory budget set by the file
- :mod:`.naming`: the step in checkpoint file names (``step_of``)
- :mod:`.importers`: checkpoints trained elsewhere (PyTorch DCGAN, BigGAN, StyleGAN...)
"""
from ganstudio.checkpoints.budget import SIZE_SLACK, OverBudget, build_within, meta_build
from ganstudio.checkpoints.errors import CheckpointError
from ganstudio.checkpoints.format import Checkpoint, check_fit, load_checkpoint, load_fitted, save_checkpoint
from ganstudio.checkpoints.header import (FORMAT, FORMAT_VERSION, MAX_CONFIG_INT, META_KEY, check_config, parse_json,
                                          read_header, read_meta, regular_file)
from ganstudio.checkpoints.naming import step_of

__all__ = ["Checkpoint", "CheckpointError", "FORMAT", "FORMAT_VERSION", "MAX_CONFIG_INT", "META_KEY", "OverBudget",
           "SIZE_SLACK", "build_within", "check_config", "check_fit", "load_checkpoint", "load_fitted", "meta_build",
           "parse_json", "read_header", "read_meta", "regular_file", "save_checkpoint", "step_of"]
