"""Session files: a JSON document holding a RenderState (plus GUI extras), written atomically."""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from ganstudio._io import atomic_write_text
from ganstudio.engine.state import RenderState

SESSION_FORMAT = "ganstudio-session"
MAX_SESSION_BYTES = 256 * 2**20  # bookmarks of explicit ws add up, but not to this


def save_session(path: str | os.PathLike, state: RenderState, extra: dict | None = None) -> Path:
    doc = {"format": SESSION_FORMAT, "version": 1, "state": state.to_dict(), "extra": extra or {}}
    atomic_write_text(path, json.dumps(doc, indent=1))
    return Path(path)


def load_session(path: str | os.PathLike) -> tuple[RenderState, dict]:
    """Read a session file; any problem is a ValueError naming it."""
    path = Path(path)
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):  # a folder; a FIFO would block the read
            raise ValueError("a folder or a device, not a file")
        too_big = st.st_size > MAX_SESSION_BYTES
        doc = None if too_big else json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path}: no such session file") from None
    except (OSError, ValueError) as e:  # unreadable, not UTF-8, not JSON, an int of 5000 digits
        raise ValueError(f"{path}: not a session file ({str(e)[:200]})") from None
    except RecursionError:
        raise ValueError(f"{path}: not a session file (nested too deeply)") from None
    if too_big:
        raise ValueError(f"{path}: too large for a session file (over {MAX_SESSION_BYTES // 2**20} MB)")
    if not isinstance(doc, dict) or doc.get("format") != SESSION_FORMAT:
        raise ValueError(f"{path}: not a GAN Studio session file")
    try:
        state = RenderState.from_dict(doc.get("state"))
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
    # A relative checkpoint path is relative to the session file, so sessions travel with their models.
    if state.model and not state.model.startswith("registry:"):
        p = Path(state.model)
        try:
            if not p.is_absolute() and (path.parent / p).exists():
                state = state.replace(model=str(path.parent / p))
        except (OSError, ValueError):
            pass  # a name no file can have: opening the model says so
    extra = doc.get("extra") or {}
    return state, extra if isinstance(extra, dict) else {}
