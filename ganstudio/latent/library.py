"""A direction library: named latent directions of one model, kept in one JSON file.

File format (``.json``, UTF-8)::

    {"format": "ganstudio-directions", "version": 1,
     "model": {"name": "shapes-stylegan2", "model": "stylegan2", "z_dim": 64, "w_dim": 64, "num_ws": 8,
               "fingerprint": "sha256:..."},
     "directions": [{"name": "wider", "space": "w", "vector": [0.1, ...], "layers": [0, 4]}, ...]}

``space`` is "z" (added to z before the mapping) or "w" (added to w on ``layers``: [first, end) of
the ws layers, null for all; z directions have none).  A step of 1.0 adds the vector as stored (no
renormalization), so a saved edit replays exactly.  ``model`` names what the directions were made
for: a file whose dimensions or fingerprint (the checkpoint file's sha256) differ is refused,
since a direction of another network means nothing in this one.  Loading checks every value and
raises :class:`LibraryError` with one line; nothing is executed from the file.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import stat
from pathlib import Path
from typing import Any, NamedTuple, Optional

FORMAT = "ganstudio-directions"
VERSION = 1
MAX_DIRECTIONS = 64  # the Latent panel's sliders (four pages of 16)
MAX_DIM = 8192  # longest vector accepted (a z or w of any shipped or imported model is far shorter)
MAX_NAME = 80  # characters of a direction's name
MAX_BYTES = 32 * 2 ** 20  # 64 directions of 8192 floats written as shortest-repr text stay below this
SPACES = ("z", "w")


class LibraryError(ValueError):
    """A direction file that cannot be used; the message is one line naming the file and why."""


class UserDirection(NamedTuple):
    name: str
    space: str  # "z" | "w"
    vector: tuple  # floats; a step of 1.0 adds it as stored
    layers: Optional[tuple] = None  # (first, end) ws layers of a w direction; None = every layer


class ModelIdentity(NamedTuple):
    name: str  # the model as the user knows it (shipped name or file name)
    model: str  # registry name of the family variant
    z_dim: int
    w_dim: int
    num_ws: int
    fingerprint: str  # "sha256:<hex>" of the checkpoint's bytes; of the key for untrained registry models


class Library(NamedTuple):
    model: Optional[ModelIdentity]
    directions: tuple  # UserDirection, ...


# -- identity ----------------------------------------------------------------------------------------

_fingerprints: dict = {}  # (key, stamp) -> fingerprint


def fingerprint(key: str) -> str:
    """sha256 of the checkpoint a model string names (all files of a checkpoint folder, by name)."""
    if key.startswith("registry:"):
        return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()
    from ganstudio.pretrained import resolve
    path = Path(resolve(key))
    files = sorted(f for f in path.iterdir() if f.is_file()) if path.is_dir() else [path]
    stamp = tuple((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files)
    if (key, stamp) not in _fingerprints:
        h = hashlib.sha256()
        for f in files:
            if path.is_dir():
                h.update(f.name.encode("utf-8") + b"\0")
            with open(f, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
        _fingerprints[(key, stamp)] = "sha256:" + h.hexdigest()
    return _fingerprints[(key, stamp)]


def model_identity(key: str, info) -> ModelIdentity:
    """The identity of the model ``key`` (``info``: its ModelInfo, or a generator with the same attributes)."""
    label = getattr(info, "label", None) or Path(key).name or key
    return ModelIdentity(str(label), str(getattr(info, "model_name", "")), int(info.z_dim), int(info.w_dim),
                         int(info.num_ws), fingerprint(key))


def check_model(lib: Library, identity: ModelIdentity, what: str = "the direction file") -> None:
    """Raise LibraryError (one line) when ``lib`` was made for another model than ``identity``."""
    m = lib.model
    if m is None:
        return
    dims = (m.z_dim, m.w_dim, m.num_ws) != (identity.z_dim, identity.w_dim, identity.num_ws)
    if dims or m.fingerprint != identity.fingerprint:
        detail = (f"z {m.z_dim}, w {m.w_dim}, {m.num_ws} w layers; this one has z {identity.z_dim}, "
                  f"w {identity.w_dim}, {identity.num_ws}" if dims else "other weights")
        raise LibraryError(f"{what} is for the model {m.name!r} ({m.model}; {detail}), not {identity.name!r}: "
                           "its directions mean nothing here")


# -- checking values --------------------------------------------------------------------------------

def _short(v: Any) -> str:
    try:
        text = repr(v)
    except ValueError:
        return "a number too long to show"
    return text if len(text) <= 40 else text[:37] + "..."


def _int(v: Any, what: str, lo: int = 0, hi: int = 1 << 20) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise LibraryError(f"{what} must be an integer in [{lo}, {hi}], got {_short(v)}")
    return v


def check_direction(d: Any, where: str = "a direction", dims: Optional[tuple] = None) -> UserDirection:
    """A UserDirection from a dict or a tuple, every value checked; ``dims``: (z_dim, w_dim, num_ws) to fit."""
    if isinstance(d, dict):
        unknown = sorted(set(d) - {"name", "space", "vector", "layers"})
        if unknown:
            raise LibraryError(f"{where}: unknown field(s) {', '.join(map(_short, unknown[:4]))}")
        d = (d.get("name"), d.get("space"), d.get("vector"), d.get("layers"))
    if not isinstance(d, (tuple, list)) or len(d) != 4:
        raise LibraryError(f"{where} must be an object with name, space, vector and layers")
    name, space, vector, layers = d
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME or not name.isprintable():
        raise LibraryError(f"{where}: the name must be printable text of 1-{MAX_NAME} characters, got {_short(name)}")
    if space not in SPACES:
        raise LibraryError(f"{where} ({name}): space must be 'z' or 'w', got {_short(space)}")
    if not isinstance(vector, (list, tuple)) or not 1 <= len(vector) <= MAX_DIM:
        raise LibraryError(f"{where} ({name}): the vector must be a list of 1-{MAX_DIM} numbers")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and _finite(v) for v in vector):
        raise LibraryError(f"{where} ({name}): the vector holds a value that is not a finite number")
    if layers is not None:
        if space == "z":
            raise LibraryError(f"{where} ({name}): a z direction has no layer range (layers must be null)")
        if not isinstance(layers, (list, tuple)) or len(layers) != 2:
            raise LibraryError(f"{where} ({name}): layers must be [first, end] or null, got {_short(layers)}")
        first, end = (_int(v, f"{where} ({name}): a layer number") for v in layers)
        if first >= end:
            raise LibraryError(f"{where} ({name}): the layer range [{first}, {end}) is empty")
        layers = (first, end)
    if dims is not None:
        _check_fits(name, space, len(vector), layers, dims, where)
    return UserDirection(name, space, tuple(float(v) for v in vector), layers)


def _finite(v) -> bool:
    try:
        return math.isfinite(v)
    except OverflowError:
        return False


def _check_fits(name: str, space: str, n: int, layers, dims: tuple, where: str) -> None:
    z_dim, w_dim, num_ws = dims
    want = z_dim if space == "z" else w_dim
    if n != want:
        raise LibraryError(f"{where} ({name}): a {space} vector of {n} values, the model's {space} has {want}")
    if layers is not None and layers[1] > num_ws:
        raise LibraryError(f"{where} ({name}): layers [{layers[0]}, {layers[1]}) beyond the model's {num_ws} w layers")


def _identity(m: Any, name: str) -> ModelIdentity:
    if not isinstance(m, dict):
        raise LibraryError(f"{name}: 'model' must be an object naming the model the directions are for")
    try:
        return ModelIdentity(str(m["name"])[:200], str(m["model"])[:80], _int(m["z_dim"], "model z_dim", 1),
                             _int(m["w_dim"], "model w_dim", 1), _int(m["num_ws"], "model num_ws", 1),
                             str(m["fingerprint"])[:100])
    except KeyError as e:
        raise LibraryError(f"{name}: the model entry lacks {e.args[0]!r}") from None
    except LibraryError as e:
        raise LibraryError(f"{name}: {e}") from None


# -- files -------------------------------------------------------------------------------------------

def library_to_dict(lib: Library) -> dict:
    return {"format": FORMAT, "version": VERSION,
            "model": None if lib.model is None else lib.model._asdict(),
            "directions": [{"name": d.name, "space": d.space, "vector": list(d.vector),
                            "layers": None if d.layers is None else list(d.layers)} for d in lib.directions]}


def library_from_dict(doc: Any, name: str = "the direction file") -> Library:
    """Check a parsed document; raises LibraryError naming ``name`` and the first problem."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise LibraryError(f"{name}: not a GAN Studio direction file (no \"format\": \"{FORMAT}\")")
    if doc.get("version") != VERSION:
        raise LibraryError(f"{name}: direction file version {_short(doc.get('version'))} is not supported "
                           f"(this version of GAN Studio reads {VERSION})")
    model = None if doc.get("model") is None else _identity(doc["model"], name)
    dirs = doc.get("directions")
    if not isinstance(dirs, list):
        raise LibraryError(f"{name}: 'directions' must be a list")
    if len(dirs) > MAX_DIRECTIONS:
        raise LibraryError(f"{name}: {len(dirs)} directions, at most {MAX_DIRECTIONS} fit the sliders")
    dims = None if model is None else (model.z_dim, model.w_dim, model.num_ws)
    out = []
    for i, d in enumerate(dirs):
        try:
            out.append(check_direction(d, f"direction {i + 1}", dims))
        except LibraryError as e:
            raise LibraryError(f"{name}: {e}") from None
    return Library(model, tuple(out))


def save_library(path: str | os.PathLike, lib: Library) -> None:
    """Write ``lib`` to ``path`` atomically (a crash leaves the old file or the whole new one)."""
    from ganstudio._io import atomic_write_text
    for i, d in enumerate(lib.directions):
        check_direction(d, f"direction {i + 1}")
    if len(lib.directions) > MAX_DIRECTIONS:
        raise LibraryError(f"{len(lib.directions)} directions, at most {MAX_DIRECTIONS}")
    atomic_write_text(path, json.dumps(library_to_dict(lib), indent=1, allow_nan=False) + "\n")


def _reject_constant(token: str):
    raise ValueError(f"{token} is not a number JSON allows")


def load_library(path: str | os.PathLike, identity: Optional[ModelIdentity] = None) -> Library:
    """Read and check a direction file; with ``identity``, also refuse a file made for another model."""
    p = Path(path)
    name = p.name[:200] or str(p)[:200]
    try:
        st = p.stat()
        if not stat.S_ISREG(st.st_mode):
            raise LibraryError(f"{name}: not a regular file")
        if st.st_size > MAX_BYTES:
            raise LibraryError(f"{name}: {st.st_size / 2 ** 20:.0f} MB is too large for a direction file")
        raw = p.read_bytes()
    except FileNotFoundError:
        raise LibraryError(f"{name}: no such file") from None
    except (OSError, ValueError) as e:
        if isinstance(e, LibraryError):
            raise
        raise LibraryError(f"{name}: cannot be read ({getattr(e, 'strerror', None) or e})") from None
    try:
        doc = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise LibraryError(f"{name}: not a text file (a direction file is UTF-8 JSON)") from None
    except RecursionError:
        raise LibraryError(f"{name}: not valid JSON (nested too deeply)") from None
    except ValueError as e:
        raise LibraryError(f"{name}: not valid JSON ({str(e).splitlines()[0][:120]})") from None
    lib = library_from_dict(doc, name)
    if identity is not None:
        check_model(lib, identity, name)
        dims = (identity.z_dim, identity.w_dim, identity.num_ws)
        for i, d in enumerate(lib.directions):  # a file that names no model must still fit this one
            try:
                _check_fits(d.name, d.space, len(d.vector), d.layers, dims, f"direction {i + 1}")
            except LibraryError as e:
                raise LibraryError(f"{name}: {e}") from None
    return lib
