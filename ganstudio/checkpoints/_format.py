"""Our checkpoint format: one safetensors file whose header metadata holds a JSON config.

Tensors are stored under prefixes: ``G.`` (the generator used for rendering; the EMA copy
when training kept one), ``D.`` (discriminator, optional) and ``extra.`` (anything else a
caller wants to keep, e.g. training state).  The ``ganstudio`` metadata entry is JSON:
``{"format": "ganstudio", "format_version": 1, "model": <registry name>, "family": ...,
"config": {...}, "class_names": [...], "training": {...}, "metrics": {...}, "extra": {...}}``.
Loading parses the header with safetensors, never unpickles, so it cannot run code.
"""
from __future__ import annotations

import dataclasses
import json
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import torch

from ganstudio._io import atomic_path

FORMAT = "ganstudio"
FORMAT_VERSION = 1
META_KEY = "ganstudio"


class CheckpointError(Exception):
    """The one error every checkpoint problem raises; its message names the problem and the file."""


@dataclass
class Checkpoint:
    path: Path
    meta: dict
    G: Any  # ganstudio.models.Generator, in eval mode
    D: Any = None
    extra: dict = field(default_factory=dict)  # the ``extra.`` tensors, prefix stripped

    @property
    def model_name(self) -> str:
        return self.meta["model"]

    @property
    def class_names(self) -> list[str]:
        return list(self.meta.get("class_names") or [])


def _tensors(prefix: str, module: torch.nn.Module, dtype: Optional[torch.dtype]) -> dict[str, torch.Tensor]:
    out = {}
    for k, v in module.state_dict().items():
        v = v.detach().cpu()
        if dtype is not None and v.is_floating_point():
            v = v.to(dtype)
        out[prefix + k] = v.contiguous().clone()  # clone: safetensors refuses shared storage
    return out


def save_checkpoint(path: str | os.PathLike, G, *, D=None, class_names: Optional[list[str]] = None,
                    training: Optional[dict] = None, metrics: Optional[dict] = None,
                    extra_tensors: Optional[dict[str, torch.Tensor]] = None, extra: Optional[dict] = None,
                    dtype: Optional[torch.dtype] = None) -> Path:
    """Write G (and optionally D and extra tensors) with its config, atomically.

    ``dtype=torch.float16`` stores floating-point tensors at half size (shipped models).
    """
    from safetensors.torch import save_file

    if not getattr(G, "model_name", ""):
        raise CheckpointError("the generator was not built through the registry (no model_name); cannot save its config")
    if class_names is not None and G.c_dim and len(class_names) != G.c_dim:
        raise CheckpointError(f"{len(class_names)} class names given for a model with c_dim={G.c_dim}")
    meta = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "model": G.model_name,
        "family": _family(G.model_name), "config": dataclasses.asdict(G.config),
        "class_names": list(class_names or []), "training": training or {}, "metrics": metrics or {},
        "extra": extra or {}, "has_D": D is not None,
    }
    tensors = _tensors("G.", G, dtype)
    if D is not None:
        tensors.update(_tensors("D.", D, dtype))
    for k, v in (extra_tensors or {}).items():
        tensors["extra." + k] = v.detach().cpu().contiguous().clone()
    path = Path(path)
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={META_KEY: json.dumps(meta)})
    return path


def _family(name: str) -> str:
    from ganstudio.models import get_spec
    return get_spec(name).family


def _read_header(path: Path) -> dict:
    """Parse the safetensors header ourselves so that every malformation gets a named message."""
    if not path.exists():
        raise CheckpointError(f"{path}: no such file")
    if path.is_dir():
        raise CheckpointError(f"{path}: is a folder, not a checkpoint file")
    size = path.stat().st_size
    if size == 0:
        raise CheckpointError(f"{path}: the file is empty")
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise CheckpointError(f"{path}: not a checkpoint (only {size} bytes)")
        n = struct.unpack("<Q", head)[0]
        if n > size - 8 or n > 100_000_000:
            if head[:2] == b"PK" or head[:1] == b"\x80":
                raise CheckpointError(f"{path}: this is a PyTorch/pickle file, not a GAN Studio checkpoint; "
                                      "use `ganstudio import` to convert a foreign checkpoint")
            raise CheckpointError(f"{path}: not a GAN Studio checkpoint (no safetensors header), or truncated")
        raw = f.read(n)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CheckpointError(f"{path}: corrupt header (not valid JSON)") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: corrupt header (not a JSON object)")
    end = 0
    for k, info in header.items():
        if k == "__metadata__":
            continue
        try:
            end = max(end, int(info["data_offsets"][1]))
        except (TypeError, KeyError, IndexError, ValueError):
            raise CheckpointError(f"{path}: corrupt header entry for tensor {k!r}") from None
    if 8 + n + end > size:
        raise CheckpointError(f"{path}: truncated: the header promises {8 + n + end} bytes, the file has {size}")
    return header


def read_meta(path: str | os.PathLike) -> dict:
    """The JSON config of a checkpoint, reading only its header."""
    path = Path(path)
    header = _read_header(path)
    md = header.get("__metadata__") or {}
    if not isinstance(md, dict) or META_KEY not in md:
        raise CheckpointError(f"{path}: a safetensors file without a GAN Studio config; "
                              "it may be weights from another tool (try `ganstudio import`)")
    try:
        meta = json.loads(md[META_KEY])
    except (TypeError, json.JSONDecodeError):
        raise CheckpointError(f"{path}: the embedded config is not valid JSON") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: the embedded config is not a GAN Studio config")
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(f"{path}: written by a newer GAN Studio (format {meta.get('format_version')}); "
                              f"this one reads format {FORMAT_VERSION}")
    for key in ("model", "config"):
        if key not in meta:
            raise CheckpointError(f"{path}: the config has no {key!r} entry")
    if not isinstance(meta["config"], dict):
        raise CheckpointError(f"{path}: the config's 'config' entry is not an object")
    return meta


def _build(kind: str, name: str, config: dict, path: Path):
    from ganstudio.models import create_discriminator, create_generator, get_spec
    try:
        get_spec(name)
    except KeyError:
        raise CheckpointError(f"{path}: unknown model {name!r} (is this checkpoint from a newer GAN Studio?)") from None
    try:
        return (create_generator if kind == "G" else create_discriminator)(name, config)
    except (TypeError, ValueError, RuntimeError, ZeroDivisionError, OverflowError) as e:
        raise CheckpointError(f"{path}: the config does not describe a valid {name}: {e}") from None


def _load_into(module: torch.nn.Module, tensors: dict[str, torch.Tensor], what: str, path: Path) -> None:
    own = module.state_dict()
    missing = sorted(set(own) - set(tensors))
    unexpected = sorted(set(tensors) - set(own))
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} tensor(s) (e.g. {missing[0]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected tensor(s) (e.g. {unexpected[0]})")
        raise CheckpointError(f"{path}: config and weights of {what} disagree: {'; '.join(parts)}")
    for k, v in own.items():
        t = tensors[k]
        if tuple(t.shape) != tuple(v.shape):
            raise CheckpointError(f"{path}: wrong shape for {what} tensor {k}: "
                                  f"file has {list(t.shape)}, the config needs {list(v.shape)}")
        if t.is_floating_point() != v.is_floating_point():
            raise CheckpointError(f"{path}: wrong dtype for {what} tensor {k}: {t.dtype}, expected {v.dtype}")
        if t.is_floating_point() and not torch.isfinite(t).all():
            raise CheckpointError(f"{path}: {what} tensor {k} contains NaN or Inf (a diverged run?)")
    module.load_state_dict({k: tensors[k].to(own[k].dtype) for k in own})


def load_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu", load_D: bool = False) -> Checkpoint:
    """Load a GAN Studio checkpoint; any problem raises :class:`CheckpointError`."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    meta = read_meta(path)
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"{path}: corrupt tensor data: {e}") from None
    groups: dict[str, dict[str, torch.Tensor]] = {"G": {}, "D": {}, "extra": {}}
    for k, v in tensors.items():
        prefix, _, rest = k.partition(".")
        if prefix not in groups or not rest:
            raise CheckpointError(f"{path}: unexpected tensor {k!r} (not under G., D. or extra.)")
        groups[prefix][rest] = v
    if not groups["G"]:
        raise CheckpointError(f"{path}: the file holds no generator weights")
    G = _build("G", meta["model"], meta["config"], path)
    _load_into(G, groups["G"], "G", path)
    G.eval().requires_grad_(False).to(device)
    D = None
    if load_D and groups["D"]:
        D = _build("D", meta["model"], meta["config"], path)
        if D is not None:
            _load_into(D, groups["D"], "D", path)
            D.to(device)
    names = meta.get("class_names") or []
    if not isinstance(names, list) or (names and len(names) != G.c_dim):
        raise CheckpointError(f"{path}: {len(names) if isinstance(names, list) else 'invalid'} class names "
                              f"for a model with {G.c_dim} classes")
    return Checkpoint(path=path, meta=meta, G=G, D=D, extra=groups["extra"])
