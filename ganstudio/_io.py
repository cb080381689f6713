"""Atomic file writes: temp file in the same folder, fsync, os.replace, fsync of the folder.

A reader (or a crash at any moment) sees either the old file or the complete new one.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open folders; the rename is still atomic there
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _naming(e: OSError, path: Path) -> OSError:
    """``e`` (same class and errno) naming ``path``: the file the caller asked for, not our temp file."""
    if e.errno is None or not e.strerror:
        return type(e)(f"{path}: {e}")
    return type(e)(e.errno, e.strerror, str(path))


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, keep_suffix: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write to; on success it replaces ``path`` atomically.

    ``keep_suffix``: the temporary name ends in path's extension too (".x.mp4.abc.tmp.mp4"), for
    writers such as ffmpeg that pick the format from it.  Others end in ".tmp" (found by clean-ups).
    An OSError about the temporary file (a folder that cannot be written, a full disk) names ``path``.
    """
    path = Path(path)
    suffix = ".tmp" + (path.suffix if keep_suffix else "")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    except OSError as e:
        raise _naming(e, path) from None
    os.close(fd)
    tmp = Path(tmp)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual permissions
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except OSError as e:
        if e.filename is None or str(e.filename) == str(tmp) or e.filename2 is not None:
            raise _naming(e, path) from None
        raise
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def read_safetensors(path: str | os.PathLike) -> tuple[dict, dict]:
    """(metadata, tensors) of a safetensors file, read without executing anything from it; ValueError
    ("PATH: not a readable safetensors file: why") when it cannot be read."""
    from safetensors import SafetensorError, safe_open
    try:
        with safe_open(str(path), "pt") as f:
            return dict(f.metadata() or {}), {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as e:
        raise ValueError(f"{path}: not a readable safetensors file: {e}") from None


def write_safetensors(path: str | os.PathLike, tensors: dict, metadata: dict) -> Path:
    """Tensors (contiguous CPU) and string metadata to one safetensors file, written atomically."""
    from safetensors.torch import save_file
    path = Path(path)
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)
    return path
