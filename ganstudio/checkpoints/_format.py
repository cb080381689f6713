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
import math
import os
import stat
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import torch

from ganstudio._io import atomic_write_bytes

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


def _read_header(path: Path) -> dict:
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
    header = _read_header(path)
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


_BUILD_ERRORS = (TypeError, ValueError, RuntimeError, ZeroDivisionError, OverflowError, KeyError, IndexError,
                 AttributeError, MemoryError, RecursionError, NotImplementedError)
# Floating-point dtypes a checkpoint may store weights in (float8 and others have no isfinite).
_FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


# Slack over twice the file's size (a half-precision file fills a float32 model twice over).
SIZE_SLACK = 64 * 2**20


class OverBudget(Exception):
    """A module's construction asked for more memory than its budget."""


class _Budget(torch.overrides.TorchFunctionMode):
    """Counts the bytes a module's construction asks for and stops it before the total passes
    ``limit``.  A config naming a network far larger than its file is stopped before the memory is
    taken, for a few set lookups per tensor; a meta-device twin took seconds (meta arithmetic runs
    Python reference kernels, and the first one imports TorchDynamo)."""

    _FACTORIES = {torch.empty, torch.zeros, torch.ones, torch.full, torch.randn, torch.rand}
    _NEW = {torch.Tensor.new_empty, torch.Tensor.new_zeros, torch.Tensor.new_ones, torch.Tensor.new_full}

    def __init__(self, limit: int):
        super().__init__()
        self.limit, self.used = limit, 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in self._FACTORIES or func in self._NEW:
            self.used += _request_bytes(func in self._NEW, func in (torch.full, torch.Tensor.new_full), args, kwargs)
            if self.used > self.limit:
                raise OverBudget(f"asked for {self.used / 2**20:.0f} MB, more than {self.limit / 2**20:.0f} MB")
        return func(*args, **kwargs)


def _request_bytes(method: bool, full: bool, args: tuple, kwargs: dict) -> int:
    """Bytes a factory call (torch.empty(2, 3), torch.full((2, 3), v), t.new_zeros(4) ...) will allocate."""
    rest = args[1:] if method else args
    if "size" in kwargs:
        size = kwargs["size"]
    elif rest and isinstance(rest[0], (tuple, list, torch.Size)):
        size = rest[0]
    else:
        size = [a for a in (rest[:1] if full else rest) if isinstance(a, int)]
    dtype = kwargs.get("dtype") or (args[0].dtype if method else torch.get_default_dtype())
    try:
        return math.prod(int(n) for n in size) * torch.empty((), dtype=dtype).element_size()
    except (TypeError, ValueError, RuntimeError):
        return 0  # an unusual signature: the call itself reports what is wrong


def build_within(make, limit: int, why: str):
    """``make()`` for real, raising OverBudget before its allocations pass ``limit`` bytes; any
    other failure is a CheckpointError starting with ``why``."""
    return _guarded(make, why, _Budget(limit))


def meta_build(make, why: str):
    """``make()`` on the meta device; a failure is a CheckpointError starting with ``why``."""
    return _guarded(make, why, torch.device("meta"))


def _guarded(make, why: str, context):
    try:
        with context:
            return make()
    except (CheckpointError, OverBudget):
        raise
    except _BUILD_ERRORS as e:
        raise CheckpointError(f"{why}: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None


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
