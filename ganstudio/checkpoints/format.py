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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import torch

from ganstudio._io import atomic_write_bytes
from ganstudio.checkpoints.budget import SIZE_SLACK, OverBudget, build_within, meta_build
from ganstudio.checkpoints.errors import CheckpointError
from ganstudio.checkpoints.header import FORMAT, FORMAT_VERSION, META_KEY, read_meta


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
    from safetensors.torch import save as safetensors_bytes

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
    # Serialized in memory, then written through our own temp + fsync + rename: safetensors' save_file
    # writes a temp file of its own (".<name>.tmpXXXXXX") that a kill leaves behind under a name no
    # clean-up knows, and a full disk surfaces as its SafetensorError instead of an OSError.
    data = safetensors_bytes(tensors, metadata={META_KEY: json.dumps(meta)})
    atomic_write_bytes(path, data)
    return path


def _family(name: str) -> str:
    from ganstudio.models import get_spec
    return get_spec(name).family


def _maker(kind: str, name, config: dict, path: Path):
    """A function building G or D (it returns None for families without a D) of a known model."""
    from ganstudio.models import create_discriminator, create_generator, get_spec
    if not isinstance(name, str):
        raise CheckpointError(f"{path}: the model name is not a text: {name!r}")
    try:
        get_spec(name)
    except KeyError:
        raise CheckpointError(f"{path}: unknown model {name!r} (is this checkpoint from a newer GAN Studio?)") from None
    make = create_generator if kind == "G" else create_discriminator
    return lambda: make(name, config)


# Floating-point dtypes a checkpoint may store weights in (float8 and others have no isfinite).
_FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def check_fit(own: dict[str, torch.Tensor], tensors: dict[str, torch.Tensor], what: str, path,
              source: str = "the config") -> None:
    """The file's tensors are exactly the module's: names, shapes, float-ness, finite values."""
    missing = sorted(set(own) - set(tensors))
    unexpected = sorted(set(tensors) - set(own))
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} tensor(s), e.g. {missing[0]}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected tensor(s), e.g. {unexpected[0]}")
        raise CheckpointError(f"{path}: the weights of {what} do not fit {source}: {'; '.join(parts)}")
    for k, v in own.items():
        t = tensors[k]
        if not isinstance(t, torch.Tensor):
            raise CheckpointError(f"{path}: {what} entry {k} is a {type(t).__name__}, not a tensor")
        if tuple(t.shape) != tuple(v.shape):
            raise CheckpointError(f"{path}: wrong shape for {what} tensor {k}: "
                                  f"file has {list(t.shape)}, {source} needs {list(v.shape)}")
        if t.is_floating_point() != v.is_floating_point() or (t.is_floating_point() and t.dtype not in _FLOAT_DTYPES):
            raise CheckpointError(f"{path}: unsupported dtype for {what} tensor {k}: {t.dtype}, expected {v.dtype}")
        if t.is_floating_point() and not torch.isfinite(t).all():
            raise CheckpointError(f"{path}: {what} tensor {k} contains NaN or Inf (a diverged run?)")


def load_fitted(module, tensors: dict[str, torch.Tensor]):
    own = module.state_dict()
    module.load_state_dict({k: tensors[k].to(own[k].dtype) for k in own})
    return module


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
    G = _fitted("G", meta, groups["G"], path)
    G.eval().requires_grad_(False).to(device)
    D = None
    if load_D and groups["D"]:
        D = _fitted("D", meta, groups["D"], path)
        if D is not None:
            D.to(device)
    names = meta.get("class_names") or []
    if not isinstance(names, list) or (names and len(names) != G.c_dim):
        raise CheckpointError(f"{path}: {len(names) if isinstance(names, list) else 'invalid'} class names "
                              f"for a model with {G.c_dim} classes")
    return Checkpoint(path=path, meta=meta, G=G, D=D, extra=groups["extra"])


def _fitted(kind: str, meta: dict, tensors: dict, path: Path):
    """G or D (None for families without one) holding the file's tensors.  A config can name any
    size; the file bounds what gets built: the build stops once it asks for more than twice the
    file's weights, and a meta-device twin then tells a misfit (refused) from a network whose
    construction needs working room (built)."""
    name = meta["model"]
    make = _maker(kind, name, meta["config"], path)
    why = f"{path}: the config does not describe a valid {name}"
    have = sum(t.numel() * t.element_size() for t in tensors.values())
    try:
        module = build_within(make, 2 * have + SIZE_SLACK, why)
    except OverBudget:
        probe = meta_build(make, why)
        if probe is not None:
            check_fit(probe.state_dict(), tensors, kind, path)
        module = make()
    if module is None:
        return None
    check_fit(module.state_dict(), tensors, kind, path)
    return load_fitted(module, tensors)
