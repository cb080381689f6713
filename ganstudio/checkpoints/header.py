"""Parsing a checkpoint's header as a hostile file may write it: every malformation (a length past the
end, JSON nested to recursion, numbers beyond any architecture, a pipe instead of a file) is a
:class:`CheckpointError` naming the problem, raised before anything large is read or built.
"""
from __future__ import annotations

import json
import os
import stat
import struct
from pathlib import Path

from ganstudio.checkpoints.errors import CheckpointError

FORMAT = "ganstudio"
FORMAT_VERSION = 1
META_KEY = "ganstudio"


def parse_json(raw, where: str):
    """json.loads whose every failure (bad UTF-8, bad JSON, nesting deep enough to recurse out) is
    a CheckpointError naming ``where``."""
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise CheckpointError(f"{where} is not valid JSON (or nests too deeply)") from None


def regular_file(path: Path) -> int:
    """The size of ``path``; a CheckpointError unless it is a regular file (a FIFO or a device
    would block or never end) or when the name itself is unusable (too long, a NUL byte)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file") from None
    except (OSError, ValueError) as e:
        raise CheckpointError(f"{str(path)[:200]}: cannot open: {getattr(e, 'strerror', None) or e}") from None
    if stat.S_ISDIR(st.st_mode):
        raise CheckpointError(f"{path}: is a folder, not a checkpoint file")
    if not stat.S_ISREG(st.st_mode):
        raise CheckpointError(f"{path}: not a regular file (a pipe or a device?)")
    return st.st_size


def read_header(path: Path) -> dict:
    """Parse the safetensors header ourselves so that every malformation gets a named message."""
    size = regular_file(path)
    if size == 0:
        raise CheckpointError(f"{path}: the file is empty")
    with open(path, "rb") as f:
        head = f.read(9)
        if len(head) < 9:
            raise CheckpointError(f"{path}: not a checkpoint (only {size} bytes)")
        n = struct.unpack("<Q", head[:8])[0]
        if n > size - 8 or n > 100_000_000:
            if head[8:9] == b"{" and n <= 100_000_000:  # a header that starts, then the file ends
                raise CheckpointError(f"{path}: truncated: the header alone promises {8 + n} bytes, "
                                      f"the file has {size}")
            if head[:2] == b"PK" or head[:1] == b"\x80":
                raise CheckpointError(f"{path}: this is a PyTorch/pickle file, not a GAN Studio checkpoint; "
                                      "use `ganstudio import` to convert a foreign checkpoint")
            raise CheckpointError(f"{path}: not a GAN Studio checkpoint (no safetensors header), or truncated")
        f.seek(8)
        raw = f.read(n)
    header = parse_json(raw, f"{path}: corrupt header: it")
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: corrupt header (not a JSON object)")
    end = 0
    for k, info in header.items():
        if k == "__metadata__":
            continue
        try:
            end = max(end, int(info["data_offsets"][1]))
        except (TypeError, KeyError, IndexError, ValueError, OverflowError):
            raise CheckpointError(f"{path}: corrupt header entry for tensor {k!r}") from None
    if 8 + n + end > size:
        raise CheckpointError(f"{path}: truncated: the header promises {8 + n + end} bytes, the file has {size}")
    return header


# Entries of the metadata that readers index into, with the type they must have when present.
_META_TYPES = {"model": str, "config": dict, "family": str, "class_names": list, "training": dict,
               "metrics": dict, "extra": dict, "has_D": bool}
_KIND_NAMES = {str: "a text", dict: "an object", list: "a list", bool: "true or false"}


def read_meta(path: str | os.PathLike) -> dict:
    """The JSON config of a checkpoint, reading only its header."""
    path = Path(path)
    header = read_header(path)
    md = header.get("__metadata__") or {}
    if not isinstance(md, dict) or META_KEY not in md:
        raise CheckpointError(f"{path}: a safetensors file without a GAN Studio config; "
                              "it may be weights from another tool (try `ganstudio import`)")
    if not isinstance(md[META_KEY], str):
        raise CheckpointError(f"{path}: the embedded config is not a JSON text")
    meta = parse_json(md[META_KEY], f"{path}: the embedded config")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: the embedded config is not a GAN Studio config")
    version = meta.get("format_version", 0)
    if isinstance(version, bool) or not isinstance(version, int):
        raise CheckpointError(f"{path}: the config's format_version is not a whole number: {version!r}")
    if version > FORMAT_VERSION:
        raise CheckpointError(f"{path}: written by a newer GAN Studio (format {version}); "
                              f"this one reads format {FORMAT_VERSION}")
    for key in ("model", "config"):
        if key not in meta:
            raise CheckpointError(f"{path}: the config has no {key!r} entry")
    for key, kind in _META_TYPES.items():
        if key in meta and not isinstance(meta[key], kind):
            raise CheckpointError(f"{path}: the config's {key!r} entry is not {_KIND_NAMES[kind]}")
    check_config(meta["config"], f"{path}: the config")
    return meta


# No architecture field needs more (channel_base is 32768 in NVIDIA's largest configs); a larger
# value can only make the model build itself for minutes and gigabytes before any check runs.
MAX_CONFIG_INT = 2**17


def check_config(config: dict, where: str, depth: int = 0) -> None:
    """Every number in a model config finite and at most MAX_CONFIG_INT in size, lists short."""
    values = config.values() if isinstance(config, dict) else config
    if depth > 3 or len(values) > 4096:
        raise CheckpointError(f"{where} nests too deeply or is too long to be a model config")
    for v in values:
        if isinstance(v, (dict, list, tuple)):
            check_config(v, where, depth + 1)
        elif isinstance(v, (int, float)) and not isinstance(v, bool) and not abs(v) <= MAX_CONFIG_INT:
            raise CheckpointError(f"{where} holds the number {v!r}, beyond what any architecture uses "
                                  f"(at most {MAX_CONFIG_INT})")
