"""Reading latent files into render states: .npy, .npz and .json, checked before anything is used.

Accepted (for a model with z_dim, num_ws and w_dim):
- z:  [z_dim] or [N, z_dim]                          -> N states with an explicit z
- ws: [num_ws, w_dim] (what Gallery > Latents .npy writes) or [N, num_ws, w_dim]
- w:  [N, 1, w_dim]; [w_dim] or [N, w_dim] when w_dim differs from z_dim; or anything under a key
      named w / ws in an .npz (NVIDIA's projector writes ``w``): broadcast to every layer
- .json: Gallery > Latents .json (its render state), or a bare nested list read like an array
Only style-based models (a mapping network, several ws entries) take ws; for the others ws is z.
Pickled arrays are refused (numpy's allow_pickle=False): a latent file never runs code.
"""
from __future__ import annotations

import json
import os
import stat
import zipfile
from pathlib import Path
from typing import Optional

import numpy as np

from ganstudio.engine.state import RenderState

MAX_LATENTS = 256  # one bookmark each: more is a mistake (a dataset, not latents)
MAX_BYTES = 256 * 2 ** 20  # 256 latents of even a 1024 px StyleGAN's ws are ~9 MB
# JSON numbers become Python floats, ~12 bytes of memory per byte of text: a smaller cap keeps a
# hostile file near 200 MB (a 1024 px StyleGAN ws is ~0.2 MB of JSON: 80 of them fit).
MAX_JSON_BYTES = 16 * 2 ** 20
# No model means a latent this large: z is standard normal (|z| < 6 in practice) and w / ws are what
# a mapping network outputs, orders of magnitude below it.  Far larger values overflow the network to
# Inf / NaN (a float32 .npy of 3e38 rendered all-NaN images).
MAX_ABS_LATENT = 1e4


class LatentFileError(ValueError):
    """A latent file that cannot be used; the message names the file and the reason."""


def read_latent_file(path: str | os.PathLike) -> tuple[Optional[np.ndarray], Optional[str], Optional[dict]]:
    """-> (array, hint, state dict): hint is "z" or "w" when an .npz key says which; the state
    dict is set for a GAN Studio latents .json.  Raises LatentFileError with the reason."""
    p = Path(path)
    name = p.name[:200]
    try:
        st = p.stat()
        if stat.S_ISDIR(st.st_mode):
            raise LatentFileError(f"{name}: is a folder, not a latent file")
        if not stat.S_ISREG(st.st_mode):  # reading a FIFO or a device would block
            raise LatentFileError(f"{name}: not a regular file")
        with open(p, "rb") as f:
            head = f.read(8)
    except FileNotFoundError:
        raise LatentFileError(f"{name}: no such file") from None
    except (OSError, ValueError) as e:  # unreadable, a name too long, a NUL byte in it
        raise LatentFileError(f"{name}: cannot be read ({getattr(e, 'strerror', None) or e})") from None
    if not head:
        raise LatentFileError(f"{name}: the file is empty")
    if st.st_size > MAX_BYTES:
        raise LatentFileError(f"{name}: {st.st_size / 2 ** 20:.0f} MB is too large for a latent file")
    try:
        if head.startswith(b"\x93NUMPY"):
            return _numeric(np.load(p, allow_pickle=False), name), None, None
        if head.startswith(b"PK"):
            return _read_npz(p, name)
        if head.lstrip()[:1] in (b"{", b"["):
            if st.st_size > MAX_JSON_BYTES:
                raise LatentFileError(f"{name}: {st.st_size / 2 ** 20:.0f} MB is too large for a latents .json "
                                      f"(at most {MAX_JSON_BYTES // 2 ** 20} MB; save large latents as .npy)")
            return _read_json(p, name)
    except LatentFileError:
        raise
    except ValueError as e:
        if "allow_pickle" in str(e) or "Object arrays" in str(e):
            raise LatentFileError(f"{name}: holds pickled Python objects, which are not loaded for safety; "
                                  "save a plain float array") from None
        raise LatentFileError(f"{name}: corrupt file ({e})") from None
    except Exception as e:  # numpy raises many kinds on a corrupt header (EOFError, TokenError, SyntaxError...)
        raise LatentFileError(f"{name}: corrupt file ({type(e).__name__}: {e})") from None
    raise LatentFileError(f"{name}: not a latent file (.npy, .npz or .json); starts with bytes {head!r}")


def _read_npz(p: Path, name: str):
    with zipfile.ZipFile(p) as zf:  # sizes from the directory, before anything is inflated
        unpacked = sum(i.file_size for i in zf.infolist())
        members = zf.namelist()
    if any(m.endswith("data.pkl") or m.endswith(".format_version") for m in members):
        raise LatentFileError(f"{name}: a PyTorch file (torch.save), not a latent file; its contents are not "
                              "unpickled for safety: save the latents with numpy (np.save, np.savez) or as JSON")
    if unpacked > MAX_BYTES:
        raise LatentFileError(f"{name}: the .npz unpacks to {unpacked / 2 ** 20:.0f} MB, too large for latents")
    with np.load(p, allow_pickle=False) as z:
        keys = list(z.keys())
        if not keys:
            raise LatentFileError(f"{name}: the .npz archive holds no arrays")
        for key, hint in (("ws", "w"), ("w", "w"), ("z", "z")):
            if key in keys:
                return _numeric(z[key], f"{name}[{key}]"), hint, None
        if len(keys) > 1:
            raise LatentFileError(f"{name}: the .npz holds several arrays ({', '.join(keys[:8])}); "
                             "name the latent array z, w or ws")
        return _numeric(z[keys[0]], name), None, None


def _read_json(p: Path, name: str):
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise LatentFileError(f"{name}: not valid JSON ({e})") from None
    if isinstance(doc, dict) and isinstance(doc.get("state"), dict):
        return None, None, doc["state"]  # Gallery > Latents .json: the exact render state
    if isinstance(doc, dict):
        for key, hint in (("ws", "w"), ("w", "w"), ("z", "z")):
            if doc.get(key) is not None:
                return _numeric(_array(doc[key], name), name), hint, None
        raise LatentFileError(f"{name}: a JSON object needs a 'state' (GAN Studio latents) or a z / w / ws array")
    return _numeric(_array(doc, name), name), None, None


def _array(values, name: str) -> np.ndarray:
    try:
        a = np.array(values)  # no dtype: true/false and "0.5" must not pass as numbers
    except (TypeError, ValueError):
        a = None
    if a is None or a.dtype.kind not in "iuf":
        raise LatentFileError(f"{name}: the latents must be a (nested) list of numbers of equal lengths") from None
    return a.astype(np.float64)


def _numeric(a: np.ndarray, name: str) -> np.ndarray:
    if a.dtype.kind not in "iuf":
        raise LatentFileError(f"{name}: expected a numeric (float) array, got dtype {a.dtype}")
    if a.size == 0:
        raise LatentFileError(f"{name}: the array is empty (shape {list(a.shape)})")
    a = a.astype(np.float32)
    if not np.isfinite(a).all():
        raise LatentFileError(f"{name}: contains NaN or infinite values")
    _check_magnitude(float(np.abs(a).max()), name)
    return a


def _check_magnitude(biggest: float, name: str) -> None:
    if biggest > MAX_ABS_LATENT:
        raise LatentFileError(f"{name}: holds a value of magnitude {biggest:.3g}; latents are a few units in size "
                              f"(at most {MAX_ABS_LATENT:g} is accepted)")


def check_latent_size(state: RenderState, name: str) -> None:
    """LatentFileError unless the explicit z / ws of ``state`` (a session, a Gallery .json) are of a
    size a model could mean (see MAX_ABS_LATENT)."""
    values = list(state.z or ()) + [v for layer in (state.ws or ()) for v in layer]
    if values:
        _check_magnitude(max(abs(v) for v in values), name)


def latent_states(path: str | os.PathLike, base: RenderState, z_dim: int, num_ws: int, w_dim: int,
                  style: bool) -> list[RenderState]:
    """The states a latent file describes, on ``base``'s model and settings.

    z imports keep base's class, truncation and noise (z still goes through them) but drop its
    edits and mixing; ws imports are the exact ws, so they also drop truncation.
    """
    name = Path(path).name
    a, hint, state = read_latent_file(path)
    if state is not None:
        try:
            s = RenderState.from_dict(state)
        except ValueError as e:
            raise LatentFileError(f"{name}: {e}") from None
        check_latent_size(s, name)
        return [s.replace(model=base.model)]
    kind, rows = _rows(a, hint, z_dim, num_ws, w_dim, style, name)
    if len(rows) > MAX_LATENTS:
        raise LatentFileError(f"{name}: holds {len(rows)} latents; import at most {MAX_LATENTS} at a time")
    clean = base.replace(z=None, ws=None, edits=(), mix_sources=None, mix_seeds=())
    if kind == "z":
        return [clean.replace(z=tuple(float(v) for v in r)) for r in rows]
    return [clean.replace(ws=tuple(tuple(float(v) for v in layer) for layer in r), truncation_psi=1.0,
                          truncation_cutoff=None) for r in rows]


def _rows(a: np.ndarray, hint: Optional[str], z_dim: int, num_ws: int, w_dim: int, style: bool, name: str):
    shape = tuple(a.shape)
    if style:
        if a.ndim == 3 and shape[1:] == (num_ws, w_dim):
            return "ws", list(a)
        if a.ndim == 3 and shape[1:] == (1, w_dim):
            return "ws", [np.repeat(r, num_ws, axis=0) for r in a]
        if a.ndim == 2 and shape == (num_ws, w_dim) and hint != "z":
            return "ws", [a]  # what Gallery > Latents .npy writes
        # w vectors: named so in an .npz, or sized w_dim where that differs from z_dim
        if a.ndim in (1, 2) and shape[-1] == w_dim and (hint == "w" or (hint is None and w_dim != z_dim)):
            return "ws", [np.repeat(r[None], num_ws, axis=0) for r in a.reshape(-1, w_dim)]
    if a.ndim == 1 and shape[0] == z_dim:
        return "z", [a]
    if a.ndim == 2 and shape[1] == z_dim:
        return "z", list(a)
    if a.ndim == 3 and shape[1:] == (1, z_dim) and not style:
        return "z", list(a[:, 0])
    if a.ndim == 4 and shape[1:] == (z_dim, 1, 1):  # the PyTorch DCGAN example's noise, [N, nz, 1, 1]
        return "z", list(a[:, :, 0, 0])
    want = f"z [{z_dim}] or [N, {z_dim}]"
    if style:
        want += f", ws [{num_ws}, {w_dim}] or [N, {num_ws}, {w_dim}], or w [N, 1, {w_dim}]"
    raise LatentFileError(f"{name}: shape {list(shape)} does not fit this model; expected {want}")


def is_latents_file(path: str) -> bool:
    """Latents (.npy, .npz, a Gallery latents .json) rather than a checkpoint or a session."""
    low = path.lower()
    return low.endswith((".npy", ".npz")) or (low.endswith(".json") and _is_latents_json(path))


def _is_latents_json(path: str) -> bool:
    """Gallery > Latents .json (a "state" and no session "format"), as opposed to a session file."""
    try:
        if Path(path).stat().st_size > 64 * 2 ** 20:
            return False
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False  # open_session reports what is wrong with it
    return isinstance(doc, list) or (isinstance(doc, dict) and "format" not in doc
                                     and any(k in doc for k in ("state", "z", "w", "ws")))
