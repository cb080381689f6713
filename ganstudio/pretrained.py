"""The shipped models in pretrained/: ``manifest.json`` lists each model's file, recipe and metrics.

Installed, the folder travels inside the package as ``ganstudio.pretrained_data`` (see :func:`shipped_dir`).

Manifest entry fields: name, family, model (registry name), file, data, classes, resolution,
channels, command (the `ganstudio train` recipe), steps, wall_time_s, device, metrics
({"fcd": ..., "fcd_untrained": ..., "class_accuracy": ...}), paper, grid (docs/ image),
default (true for the model the app opens on).
"""
from __future__ import annotations

import importlib.resources
import json
import sys
from pathlib import Path
from typing import Optional

# pyproject.toml maps the repository's pretrained/ into the package under this name, so a wheel
# or a bundle carries the files; a source checkout installed before that mapping reads pretrained/.
DATA_PACKAGE = "ganstudio.pretrained_data"
SOURCE_DIR = Path(__file__).resolve().parents[1] / "pretrained"


def shipped_dir() -> Path:
    """The folder holding manifest.json and the shipped files, found through importlib.resources."""
    try:
        root = importlib.resources.files(DATA_PACKAGE)
    except ModuleNotFoundError:
        root = None
    if root is not None:
        # safetensors maps files by path: the data must be on disk (wheels install unzipped, a
        # PyInstaller bundle collects it as files), so only a real folder is taken
        folder = Path(str(root))
        if folder.is_dir():
            return folder
    frozen = Path(getattr(sys, "_MEIPASS", "")) / DATA_PACKAGE.replace(".", "/")
    if getattr(sys, "frozen", False) and frozen.is_dir():
        return frozen
    return SOURCE_DIR


PRETRAINED_DIR = shipped_dir()
MANIFEST = PRETRAINED_DIR / "manifest.json"


def read_manifest(path: Path = MANIFEST) -> list[dict]:
    """All manifest entries (an absent or broken manifest lists nothing)."""
    try:
        entries = json.loads(Path(path).read_text())["models"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    return [e for e in entries if isinstance(e, dict) and isinstance(e.get("name"), str)]


def list_pretrained() -> list[dict]:
    """Manifest entries whose file is present."""
    return [e for e in read_manifest() if (PRETRAINED_DIR / e.get("file", "")).is_file()]


def get_entry(name: str) -> Optional[dict]:
    return next((e for e in list_pretrained() if e["name"] == name), None)


def default_model() -> Optional[str]:
    """The shipped model the app opens on: the one marked default, else the first; None if none shipped."""
    models = list_pretrained()
    for e in models:
        if e.get("default"):
            return e["name"]
    return models[0]["name"] if models else None


def resolve(name_or_path: str) -> Path:
    """A shipped model's name, or a path, to a file path."""
    e = get_entry(name_or_path)
    return PRETRAINED_DIR / e["file"] if e else Path(name_or_path)
