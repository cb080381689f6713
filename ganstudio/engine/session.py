"""Session files: a JSON document holding a RenderState (plus GUI extras), written atomically."""
from __future__ import annotations

import json
import os
from pathlib import Path

from ganstudio._io import atomic_write_text
from ganstudio.engine.state import RenderState

SESSION_FORMAT = "ganstudio-session"


def save_session(path: str | os.PathLike, state: RenderState, extra: dict | None = None) -> Path:
    doc = {"format": SESSION_FORMAT, "version": 1, "state": state.to_dict(), "extra": extra or {}}
    atomic_write_text(path, json.dumps(doc, indent=1))
    return Path(path)


def load_session(path: str | os.PathLike) -> tuple[RenderState, dict]:
    """Read a session file; any problem is a ValueError naming it."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path}: no such session file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: not a session file ({e})") from None
    if not isinstance(doc, dict) or doc.get("format") != SESSION_FORMAT:
        raise ValueError(f"{path}: not a GAN Studio session file")
    state = RenderState.from_dict(doc.get("state"))
    # A relative checkpoint path is relative to the session file, so sessions travel with their models.
    if state.model and not state.model.startswith("registry:"):
        p = Path(state.model)
        if not p.is_absolute() and (path.parent / p).exists():
            state = state.replace(model=str(path.parent / p))
    extra = doc.get("extra") or {}
    return state, extra if isinstance(extra, dict) else {}
