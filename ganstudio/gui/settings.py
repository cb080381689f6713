"""Where the app keeps its settings: one INI-format QSettings per user (tests point it at a temp folder)."""
from __future__ import annotations

from PySide6.QtCore import QSettings

ORGANIZATION = "GANStudio"
APPLICATION = "GAN Studio"
MAX_RECENT = 8


def settings() -> QSettings:
    # An explicit INI format, so QSettings.setPath(IniFormat, UserScope, folder) redirects it in tests.
    return QSettings(QSettings.IniFormat, QSettings.UserScope, ORGANIZATION, APPLICATION)


def recent_files() -> list[str]:
    value = settings().value("recent_files", [])
    if isinstance(value, str):  # QSettings returns a bare string for a one-element list
        value = [value]
    return [str(v) for v in (value or [])]


def add_recent_file(path: str) -> list[str]:
    files = [path] + [f for f in recent_files() if f != path]
    files = files[:MAX_RECENT]
    settings().setValue("recent_files", files)
    return files
