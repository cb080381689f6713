"""Where the app keeps its settings: one INI-format QSettings per user (tests point it at a temp folder)."""
from __future__ import annotations

from PySide6.QtCore import QSettings

ORGANIZATION = "GANStudio"
APPLICATION = "GAN Studio"
MAX_RECENT = 8


def settings() -> QSettings:
    # An explicit INI format, so QSettings.setPath(IniFormat, UserScope, folder) redirects it in tests.
    return QSettings(QSettings.IniFormat, QSettings.UserScope, ORGANIZATION, APPLICATION)


def text(key: str, default: str = "") -> str:
    """A string setting; anything else there (a hand-edited or corrupt INI: a number, a point...) is
    the default, so a bad settings file never stops the app."""
    value = settings().value(key, default)
    return value if isinstance(value, str) else default


def recent_files() -> list[str]:
    value = settings().value("recent_files", [])
    if isinstance(value, str):  # QSettings returns a bare string for a one-element list
        value = [value]
    if not isinstance(value, (list, tuple)):
        return []
    return [v for v in value if isinstance(v, str) and v]


def add_recent_file(path: str) -> list[str]:
    files = [path] + [f for f in recent_files() if f != path]
    files = files[:MAX_RECENT]
    settings().setValue("recent_files", files)
    return files
