"""The checkpoints package's API is public (no underscores) and split by concern; the old private
module still answers for code written against it."""
import re
from pathlib import Path

import ganstudio.checkpoints as checkpoints

PACKAGE = Path(checkpoints.__file__).resolve().parents[1]


def test_every_public_name_is_importable_and_the_old_module_re_exports_it():
    from ganstudio.checkpoints import _format
    for name in checkpoints.__all__:
        assert not name.startswith("_") and getattr(checkpoints, name) is not None
    for name in ("Checkpoint", "CheckpointError", "load_checkpoint", "save_checkpoint", "read_meta", "META_KEY",
                 "FORMAT_VERSION", "SIZE_SLACK", "OverBudget", "build_within", "check_config", "regular_file"):
        assert getattr(_format, name) is getattr(checkpoints, name)


def test_no_module_imports_the_private_one():
    private = re.compile(r"checkpoints\._format\b|from ganstudio\.checkpoints import [^\n]*\b_format\b")
    users = [str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
             if p.name != "_format.py" and private.search(p.read_text(encoding="utf-8"))]
    assert users == []
