"""Old home of the checkpoint format, kept so that existing imports keep working: the code lives in
:mod:`ganstudio.checkpoints.format` (save / load), :mod:`~ganstudio.checkpoints.header` (parsing a
possibly hostile header) and :mod:`~ganstudio.checkpoints.budget` (the memory budget of a build)."""
from ganstudio.checkpoints.budget import SIZE_SLACK, Budget, OverBudget, build_within, meta_build  # noqa: F401
from ganstudio.checkpoints.errors import CheckpointError  # noqa: F401
from ganstudio.checkpoints.format import Checkpoint, check_fit, load_checkpoint, load_fitted, save_checkpoint  # noqa: F401
from ganstudio.checkpoints.header import (FORMAT, FORMAT_VERSION, MAX_CONFIG_INT, META_KEY, check_config,  # noqa: F401
                                          parse_json, read_header, read_meta, regular_file)
