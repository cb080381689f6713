"""Open checkpoints trained elsewhere: read them safely, detect the format by content, convert.

Every public module in this package is an importer exposing ``NAME``, ``DESCRIPTION``,
``sniff(path, obj) -> bool`` and ``convert(path, obj) -> (Generator, meta)``; ``meta`` may hold
``class_names`` and a ``details`` dict saying what was inferred.  Optional: ``PRIORITY``
(lower sniffs first) and ``SAFE_GLOBALS`` (inert stand-in classes that a weights-only load may
build in place of a foreign config class, as ``(cls, "module.QualName")`` pairs).

Reading never runs code from the file: safetensors are parsed, PyTorch files go through
``torch.load(weights_only=True)`` and NVIDIA pickles through a restricted unpickler.
"""
from __future__ import annotations

import dataclasses
import importlib
import pickle
import pkgutil
import struct
from pathlib import Path
from typing import Any, Optional

import torch

from ganstudio.checkpoints import (FORMAT, FORMAT_VERSION, META_KEY, Checkpoint, CheckpointError, load_checkpoint,
                                   parse_json, regular_file, save_checkpoint)
from ganstudio.checkpoints.importers._common import describe
from ganstudio.checkpoints.importers._unpickle import load_pickle, safe_torch_load

__all__ = ["Detection", "convert_foreign", "default_destination", "detect", "importers",
           "import_file", "is_ganstudio_checkpoint", "load_foreign", "open_any", "refuse_own", "save_imported"]

# Legacy (pre-zip) torch.save files begin with the pickled magic number; other pickles do not.
_TORCH_LEGACY_HEAD = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)
_HF_WEIGHTS = ("pytorch_model.bin", "model.safetensors")

_importers: Optional[list] = None


def importers() -> list:
    """The importer modules, in sniffing order."""
    global _importers
    if _importers is None:
        found = []
        for info in pkgutil.iter_modules(__path__):
            if info.name.startswith("_"):
                continue
            mod = importlib.import_module(f"{__name__}.{info.name}")
            if all(hasattr(mod, a) for a in ("NAME", "sniff", "convert")):
                found.append(mod)
        _importers = sorted(found, key=lambda m: (getattr(m, "PRIORITY", 50), m.NAME))
    return _importers


def _supported() -> str:
    names = ["GAN Studio checkpoints (.safetensors)"] + [f"{m.NAME} ({m.DESCRIPTION})" for m in importers()]
    return "; ".join(names)


# -- reading -----------------------------------------------------------------------------------
def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError) as e:  # a name too long, a NUL byte
        raise CheckpointError(f"{str(path)[:200]}: cannot open: {getattr(e, 'strerror', None) or e}") from None


def _file_kind(path: Path) -> str:
    if not _exists(path):
        raise CheckpointError(f"{path}: no such file or folder")
    if path.is_dir():
        return "folder"
    size = regular_file(path)  # sniffing a FIFO would block
    with open(path, "rb") as f:
        head = f.read(16)
    if size == 0:
        raise CheckpointError(f"{path}: the file is empty")
    if head[:4] == b"PK\x03\x04":
        return "zip"
    if head.startswith(_TORCH_LEGACY_HEAD[:len(head)]) and len(head) >= 8:
        return "torch-legacy"
    if len(head) >= 9:
        n = struct.unpack("<Q", head[:8])[0]
        # No size check: a truncated one is still ours to report (its length bytes can read "\x80\x04",
        # a pickle's opening, and "{" at byte 8 opens no pickle).
        if 2 <= n and head[8:9] == b"{":
            return "safetensors"
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "pickle"
    return "unknown"


def _safe_globals() -> list:
    out = []
    for mod in importers():
        out += list(getattr(mod, "SAFE_GLOBALS", ()))
    return out


def _torch_load(path: Path) -> Any:
    """torch.load(weights_only=True), the importers' inert stand-ins allowed; one-line CheckpointErrors."""
    with torch.serialization.safe_globals(_safe_globals()):
        return safe_torch_load(path)


def _load_pickle(path: Path) -> Any:
    """A plain pickle (NVIDIA's network snapshots) through the restricted unpickler."""
    return load_pickle(path)


def _load_safetensors(path: Path) -> dict:
    from safetensors import SafetensorError
    from safetensors.torch import load_file
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"{path}: corrupt safetensors file: {e}") from None


def _load_folder(path: Path) -> dict:
    """A save_pretrained-style folder: config.json beside the weights, returned as one dict."""
    config_file = path / "config.json"
    weights = next((path / w for w in _HF_WEIGHTS if (path / w).is_file()), None)
    if not config_file.is_file() or weights is None:
        present = ", ".join(sorted(p.name for p in path.iterdir())[:8]) or "nothing"
        raise CheckpointError(f"{path}: a folder; GAN Studio opens folders holding config.json and "
                              f"{' or '.join(_HF_WEIGHTS)} (found: {present})")
    config = parse_json(config_file.read_bytes(), str(config_file))
    if not isinstance(config, dict):
        raise CheckpointError(f"{config_file}: expected a JSON object")
    sd = _load_safetensors(weights) if weights.suffix == ".safetensors" else _torch_load(weights)
    return {"config.json": config, weights.name: sd}


def load_foreign(path) -> Any:
    """Read a foreign checkpoint without running code from it; CheckpointError when refused or unreadable."""
    path = Path(path)
    kind = _file_kind(path)
    if kind == "folder":
        return _load_folder(path)
    if kind in ("zip", "torch-legacy"):
        return _torch_load(path)
    if kind == "safetensors":
        return _load_safetensors(path)
    if kind == "pickle":
        return _load_pickle(path)
    with open(path, "rb") as f:
        head = f.read(8)
    raise CheckpointError(f"{path}: not a checkpoint in any supported format (starts with bytes {head!r}); "
                          f"supported: {_supported()}")


# -- detection and conversion ----------------------------------------------------------------------
@dataclasses.dataclass
class Detection:
    importer: str  # importer NAME
    description: str
    model: str  # registry name of the model it converts to
    summary: str  # what was found, one line


def is_ganstudio_checkpoint(path) -> bool:
    """A safetensors file carrying our metadata entry (its problems are then ours to report)."""
    path = Path(path)
    if path.is_dir() or _file_kind(path) != "safetensors":
        return False
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        raw = f.read(min(n, 100_000_000))
    try:
        header = parse_json(raw, str(path))
    except CheckpointError:
        return True  # a broken header: let load_checkpoint name the problem
    md = header.get("__metadata__") if isinstance(header, dict) else None
    return isinstance(md, dict) and META_KEY in md


def detect(path, obj: Any = None):
    """(importer module, loaded object) for a foreign file; CheckpointError naming what was found if none fits."""
    path = Path(path)
    if obj is None:
        obj = load_foreign(path)
    for mod in importers():
        try:
            ok = mod.sniff(path, obj)
        except Exception:  # a sniffer's bug must not hide the other formats
            ok = False
        if ok:
            return mod, obj
    raise CheckpointError(f"{path}: no importer recognises this file. Found: {describe(obj)}. "
                          f"Supported: {_supported()}")


_MALFORMED = (KeyError, IndexError, TypeError, ValueError, AttributeError, RuntimeError, OverflowError,
              ZeroDivisionError, MemoryError, RecursionError, NotImplementedError)


def convert_foreign(path, obj: Any = None):
    """(Generator in eval mode, meta, importer module) for a foreign checkpoint."""
    path = Path(path)
    mod, obj = detect(path, obj)
    try:
        G, meta = mod.convert(path, obj)
    except CheckpointError as e:
        if str(path) in str(e):
            raise
        raise CheckpointError(f"{path}: {e}") from None
    except _MALFORMED as e:  # a record that looks right to the sniffer but is broken inside
        detail = str(e).splitlines()[0][:300] if str(e) else ""
        raise CheckpointError(f"{path}: a malformed {mod.NAME} checkpoint ({type(e).__name__}"
                              f"{': ' + detail if detail else ''})") from None
    meta = dict(meta or {})
    meta.setdefault("class_names", [])
    meta.setdefault("details", {})
    return G.eval().requires_grad_(False), meta, mod


def _meta_for(G, meta: dict, mod, src: Path) -> dict:
    from ganstudio.models import get_spec
    return {
        "format": FORMAT, "format_version": FORMAT_VERSION, "model": G.model_name,
        "family": get_spec(G.model_name).family, "config": dataclasses.asdict(G.config),
        "class_names": list(meta.get("class_names") or []), "training": {}, "metrics": {},
        "extra": {"imported": _imported(meta, mod, src)}, "has_D": False,
    }


def _imported(meta: dict, mod, src: Path) -> dict:
    return {"from": src.name, "importer": mod.NAME, "details": meta.get("details", {}),
            "notes": list(meta.get("notes") or [])}


def open_any(path, device: str | torch.device = "cpu") -> Checkpoint:
    """Open our checkpoints directly and foreign ones through the importer that recognises them."""
    path = Path(path)
    if not _exists(path):
        raise CheckpointError(f"{path}: no such file or folder")
    if is_ganstudio_checkpoint(path):
        return load_checkpoint(path, device=device)
    G, meta, mod = convert_foreign(path)
    return Checkpoint(path=path, meta=_meta_for(G, meta, mod, path), G=G.to(device))


def default_destination(src) -> Path:
    src = Path(src)
    if src.is_dir():
        return src.parent / (src.name + ".safetensors")
    dst = src.with_suffix(".safetensors")
    return dst if dst != src else src.with_name(src.stem + ".ganstudio.safetensors")


def refuse_own(src) -> None:
    """For an import source: a CheckpointError when ``src`` is one of our checkpoints, naming what is
    wrong with it when it does not load (truncated, a malformed config), else saying there is
    nothing to import."""
    src = Path(src)
    if is_ganstudio_checkpoint(src):
        load_checkpoint(src)  # a broken one says why, as `ganstudio sample` does
        raise CheckpointError(f"{src}: already a GAN Studio checkpoint; nothing to import")


def import_file(src, dst=None) -> Path:
    """Convert a foreign checkpoint to our format (written atomically); returns the destination."""
    src = Path(src)
    if not _exists(src):
        raise CheckpointError(f"{src}: no such file or folder")
    refuse_own(src)
    dst = Path(dst) if dst is not None else default_destination(src)
    if dst.resolve() == src.resolve():
        raise CheckpointError(f"{dst}: the destination would overwrite the source")
    G, meta, mod = convert_foreign(src)
    return save_imported(dst, G, meta, mod, src)


def save_imported(dst, G, meta: dict, mod, src) -> Path:
    """Write a converted generator in our format, recording where it came from."""
    return save_checkpoint(dst, G, class_names=meta.get("class_names") or None,
                           extra={"imported": _imported(meta, mod, Path(src))})
