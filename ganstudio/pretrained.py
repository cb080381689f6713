"""The shipped models in pretrained/: a manifest.json listing each model's file, data and metrics."""
from __future__ import annotations

import json
from pathlib import Path

PRETRAINED_DIR = Path(__file__).resolve().parents[1] / "pretrained"
MANIFEST = PRETRAINED_DIR / "manifest.json"


def list_pretrained() -> list[dict]:
    """Manifest entries whose file is present; an absent or broken manifest lists nothing."""
    try:
        entries = json.loads(MANIFEST.read_text())["models"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    return [e for e in entries if isinstance(e, dict) and (PRETRAINED_DIR / e.get("file", "")).is_file()]


def resolve(name_or_path: str) -> Path:
    """A shipped model's name, or a path, to a file path."""
    for e in list_pretrained():
        if e.get("name") == name_or_path:
            return PRETRAINED_DIR / e["file"]
    return Path(name_or_path)
