"""Read NVIDIA network pickles and PyTorch files without running code from them.

NVIDIA's StyleGAN2-ADA / StyleGAN3 snapshots are plain pickles whose networks are
``torch_utils.persistence`` records: the module *source code* plus the object's state, and
unpickling them normally ``exec``s that source.  :func:`load_pickle` instead rebuilds every
record as an inert :class:`PersistentObject` (class name, init args/kwargs, state dict) and
ignores the source.  Every global the pickle names must be on a short whitelist (tensors,
storages, OrderedDict, a few numpy and builtin reconstructors); anything else is refused with a
:class:`CheckpointError` naming the global, before it is ever called.

:func:`safe_torch_load` is ``torch.load(weights_only=True)`` with the same one-line errors.
"""
from __future__ import annotations

import collections
import io
import math
import os
import pickle
import re
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
import torch

from ganstudio.checkpoints import CheckpointError, regular_file

__all__ = ["EasyDict", "PersistentObject", "load_pickle", "safe_torch_load", "loads_pickle"]


class EasyDict(dict):
    """Stand-in for ``dnnlib.EasyDict``: a dict whose keys also read as attributes."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class PersistentObject:
    """What a ``torch_utils.persistence`` record holds, as plain data (its source code is dropped).

    ``state`` is the object's ``__dict__`` (for a torch module: ``_parameters``, ``_buffers``,
    ``_modules`` and plain attributes such as ``z_dim``); ``init_kwargs`` the constructor arguments.
    """

    def __init__(self, class_name: str, state: dict, version: Any = None):
        self.class_name = class_name
        self.state = state
        self.version = version

    def __repr__(self) -> str:
        return f"<persistent {self.class_name}>"

    @property
    def init_args(self) -> tuple:
        return tuple(self.state.get("_init_args") or ())

    @property
    def init_kwargs(self) -> dict:
        return dict(self.state.get("_init_kwargs") or {})

    def attr(self, name: str, default: Any = None) -> Any:
        return self.state.get(name, default)

    @property
    def children(self) -> dict[str, Any]:
        return dict(self.state.get("_modules") or {})

    def child(self, name: str) -> Optional["PersistentObject"]:
        c = self.children.get(name)
        return c if isinstance(c, PersistentObject) else None

    def state_dict(self, prefix: str = "", _seen: Optional[set] = None) -> dict[str, torch.Tensor]:
        """Parameters and persistent buffers under their ``nn.Module.state_dict`` names."""
        # A submodule reachable twice (or a cycle) is no network NVIDIA saves, and a crafted pickle
        # of shared records would make this walk exponential.
        _seen = set() if _seen is None else _seen
        if id(self) in _seen:
            raise CheckpointError(f"network record {prefix or '<top>'} appears twice in the module tree")
        _seen.add(id(self))
        out: dict[str, torch.Tensor] = {}
        skip = set(self.state.get("_non_persistent_buffers_set") or ())
        for group in ("_parameters", "_buffers"):
            for k, v in (self.state.get(group) or {}).items():
                if isinstance(v, torch.Tensor) and not (group == "_buffers" and k in skip):
                    out[prefix + k] = v.detach()
        for name, child in self.children.items():
            if isinstance(child, PersistentObject):
                out.update(child.state_dict(f"{prefix}{name}.", _seen))
            elif child is not None:
                raise CheckpointError(f"submodule {prefix}{name} is a {type(child).__name__}, not a network record")
        return out


# -- whitelisted reconstructors ---------------------------------------------------------------------

def _rebuild_persistent(meta: Any) -> PersistentObject:
    # The record's module_src is never compiled or executed; only the state is kept.
    if not isinstance(meta, dict) or meta.get("type") != "class" or not isinstance(meta.get("class_name"), str):
        raise pickle.UnpicklingError("malformed torch_utils.persistence record")
    state = meta.get("state")
    if state is None:
        state = {}
    if not isinstance(state, dict):
        raise pickle.UnpicklingError(f"persistence record {meta['class_name']} has a non-dict state")
    return PersistentObject(meta["class_name"], dict(state), meta.get("version"))


def _load_storage_bytes(b: Any):
    # Plain pickles of tensors embed each storage as a small torch.save file; read it weights-only.
    if not isinstance(b, (bytes, bytearray)):
        raise pickle.UnpicklingError("tensor storage payload is not bytes")
    try:
        return torch.load(io.BytesIO(bytes(b)), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:  # torch's text is a paragraph about weights_only; name the global
        detail = _weights_only_detail(e)
        found = _GLOBAL_RE.search(detail)
        if found:
            module, _, name = found.group(1).rpartition(".")
            raise RefusedGlobal(module, name) from None
        raise pickle.UnpicklingError(f"a tensor storage holds more than tensors: {detail}") from None


_GLOBAL_RE = re.compile(r"GLOBAL\s+([\w.]+\.\w+)")


def _is_storage(s: Any) -> bool:
    return isinstance(s, (torch.storage.TypedStorage, torch.storage.UntypedStorage))


def _rebuild_tensor_v2(storage, offset, size, stride, requires_grad=False, backward_hooks=None, metadata=None):
    if not _is_storage(storage):
        raise pickle.UnpicklingError("tensor rebuilt from something that is not a storage")
    return torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad,
                                           collections.OrderedDict(), metadata)


def _rebuild_tensor(storage, offset, size, stride):
    if not _is_storage(storage):
        raise pickle.UnpicklingError("tensor rebuilt from something that is not a storage")
    return torch._utils._rebuild_tensor(storage, offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, state=None):
    if not isinstance(data, torch.Tensor):
        raise pickle.UnpicklingError("parameter rebuilt from something that is not a tensor")
    return torch.nn.Parameter(data, requires_grad=bool(requires_grad))  # hooks and extra state are dropped


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    return _rebuild_parameter(data, requires_grad)


def _numpy_scalar(dtype, data=None):
    if not isinstance(dtype, np.dtype) or dtype.hasobject:
        raise pickle.UnpicklingError("numpy scalar with an object dtype")
    if not isinstance(data, (bytes, bytearray)):
        raise pickle.UnpicklingError("numpy scalar without raw bytes")
    return np.frombuffer(bytes(data), dtype=dtype, count=1)[0]


def _array_bytes(shape, dtype) -> int:
    """Bytes of a numpy array of ``shape`` and ``dtype`` as a pickle declares them, checked first."""
    if isinstance(shape, int) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)) or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0
                                                       for n in shape):
        raise pickle.UnpicklingError(f"numpy array with a malformed shape {shape!r}"[:200])
    try:
        dtype = np.dtype(dtype)
    except (TypeError, ValueError):
        raise pickle.UnpicklingError("numpy array with an unknown dtype") from None
    if dtype.hasobject:
        raise pickle.UnpicklingError("numpy array of Python objects")
    return math.prod(shape) * dtype.itemsize


def _check_array_size(shape, dtype, budget: int) -> None:
    size = _array_bytes(shape, dtype)
    if size > budget:
        raise pickle.UnpicklingError(f"it declares a numpy array of {size / 2**20:.1f} MB (shape {shape!r}) in a "
                                     f"{budget}-byte pickle; refused before allocating it"[:300])


def _numpy_reconstruct(cls, shape, dtype_code, budget: int):
    if cls is not np.ndarray:
        raise pickle.UnpicklingError("numpy array of a subclass")
    # Sized by what the pickle declares, before numpy allocates it (a small pickle asked numpy for 93 GiB).
    _check_array_size(shape, dtype_code, budget)
    a = np.ndarray.__new__(_CheckedArray, shape, dtype_code)
    a.budget = budget
    return a


class _CheckedArray(np.ndarray):
    """An unpickled ndarray whose state (shape and dtype, set by the opcode after _reconstruct) is
    checked against the pickle's size before numpy allocates it; otherwise a plain array."""

    budget = 0  # set per array by _numpy_reconstruct

    def __setstate__(self, state):
        if not isinstance(state, tuple) or len(state) not in (4, 5):  # (version,) shape, dtype, fortran, data
            raise pickle.UnpicklingError("numpy array with a malformed state")
        _check_array_size(state[-4], state[-3], self.budget)
        super().__setstate__(state)


def _codecs_encode(text, encoding="utf-8"):
    # Protocol-2 pickles write bytes as _codecs.encode(str, "latin1").
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("unexpected _codecs.encode call")
    return text.encode("latin1")


def _copyreg_reconstructor(cls, base, state):
    if cls not in (EasyDict, collections.OrderedDict, dict) or base not in (object, dict):
        raise pickle.UnpicklingError(f"copyreg reconstruction of {getattr(cls, '__name__', cls)!r}")
    return cls() if state is None else cls(state)


def _whitelist() -> dict[tuple[str, str], Callable]:
    w: dict[tuple[str, str], Any] = {
        ("torch_utils.persistence", "_reconstruct_persistent_obj"): _rebuild_persistent,
        ("dnnlib.util", "EasyDict"): EasyDict,
        ("dnnlib", "EasyDict"): EasyDict,
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
        ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
        ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
        ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter_with_state,
        ("torch.storage", "_load_from_bytes"): _load_storage_bytes,
        ("torch", "Size"): torch.Size,
        ("torch", "device"): torch.device,
        ("numpy", "dtype"): np.dtype,
        ("numpy", "ndarray"): np.ndarray,
        ("_codecs", "encode"): _codecs_encode,
        ("copyreg", "_reconstructor"): _copyreg_reconstructor,
        ("builtins", "set"): set,
        ("builtins", "frozenset"): frozenset,
        ("builtins", "slice"): slice,
        ("builtins", "complex"): complex,
    }
    for mod in ("numpy.core.multiarray", "numpy._core.multiarray"):  # _reconstruct: see find_class
        w[(mod, "scalar")] = _numpy_scalar
    for name in ("float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool"):
        w[("torch", name)] = getattr(torch, name)
    return w


class RefusedGlobal(pickle.UnpicklingError):
    def __init__(self, module: str, name: str):
        super().__init__(f"{module}.{name}")
        self.module, self.name = module, name


class _RestrictedUnpickler(pickle.Unpickler):
    _allowed = None

    def __init__(self, file, budget: int):
        super().__init__(file)
        self.budget = budget  # bytes: nothing in a pickle legitimately outgrows the pickle itself

    def find_class(self, module: str, name: str):
        if (module, name) == ("builtins", "bytearray"):
            return self._bytearray
        if name == "_reconstruct" and module in ("numpy.core.multiarray", "numpy._core.multiarray"):
            return lambda cls, shape, dtype_code: _numpy_reconstruct(cls, shape, dtype_code, self.budget)
        if _RestrictedUnpickler._allowed is None:
            _RestrictedUnpickler._allowed = _whitelist()
        try:
            return _RestrictedUnpickler._allowed[(module, name)]
        except KeyError:
            raise RefusedGlobal(module, name) from None

    def _bytearray(self, *args):
        # bytearray(n) allocates n zero bytes: a 30-byte pickle could ask for gigabytes.
        if args and isinstance(args[0], int) and not 0 <= args[0] <= self.budget:
            raise pickle.UnpicklingError(f"a bytearray of {args[0]} bytes in a {self.budget}-byte pickle")
        return bytearray(*args)

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("persistent ids are not used by network pickles")


def _refusal(where: str, e: RefusedGlobal) -> CheckpointError:
    what = f"{e.module}.{e.name}"
    hint = ""
    if e.module.startswith("dnnlib.tflib"):
        hint = "; this is a TensorFlow StyleGAN pickle, which GAN Studio does not read"
    elif e.module.startswith(("training.", "torch.nn.")):
        hint = "; the pickle stores a network class that is not a torch_utils.persistence record"
    return CheckpointError(f"{where}: refused to unpickle: it references {what}, which is not on the list of "
                           f"safe names (loading it could run code){hint}")


def loads_pickle(data: bytes, where: str = "<bytes>") -> Any:
    """Unpickle bytes with the restricted unpickler (see module docstring)."""
    try:
        return _RestrictedUnpickler(io.BytesIO(data), len(data)).load()
    except RefusedGlobal as e:
        raise _refusal(where, e) from None
    except CheckpointError as e:
        raise CheckpointError(f"{where}: {e}") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, KeyError, IndexError,
            RuntimeError, UnicodeDecodeError, MemoryError, RecursionError, OverflowError) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise CheckpointError(f"{where}: corrupt or unsupported pickle: {first}") from None


def load_pickle(path: str | os.PathLike) -> Any:
    """Load an NVIDIA network pickle (``network-snapshot-*.pkl``) without importing or executing its code."""
    path = Path(path)
    regular_file(path)
    return loads_pickle(path.read_bytes(), str(path))


def safe_torch_load(path: str | os.PathLike) -> Any:
    """``torch.load(weights_only=True)`` on CPU; refusals and corruption become one-line CheckpointErrors."""
    path = Path(path)
    regular_file(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        detail = _weights_only_detail(e)
        raise CheckpointError(f"{path}: refused to load: {detail}; the file holds Python objects other than "
                              "tensors and plain data, and loading those could run code") from None
    except (RuntimeError, EOFError, OSError, ValueError, KeyError, AttributeError, TypeError, IndexError,
            UnicodeDecodeError, MemoryError, RecursionError, OverflowError) as e:
        if _is_npz(path):  # both are zip files: a NumPy archive is not a corrupt PyTorch one
            raise CheckpointError(f"{path}: a NumPy archive (.npz), not a checkpoint; latents such as "
                                  "projected_w.npz open with Gallery > Import latents or `ganstudio sample "
                                  "--latents`") from None
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise CheckpointError(f"{path}: cannot read this PyTorch file (corrupt or truncated?): {first}") from None


def _is_npz(path: Path) -> bool:
    """A zip whose members are all .npy arrays (what numpy.savez writes)."""
    import zipfile
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
    return bool(names) and all(n.endswith(".npy") for n in names)


def _weights_only_detail(e: Exception) -> str:
    text = str(e)
    for line in text.splitlines():
        line = line.strip()
        for marker in ("Unsupported global:", "unsupported GLOBAL", "Unsupported operand", "Can only build"):
            if marker in line:
                return line[line.index(marker):].rstrip(".")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[0] if lines else type(e).__name__
