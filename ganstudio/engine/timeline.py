"""A timeline of keyframes, without Qt: the Timeline panel plays it and exports it, `ganstudio export` reads it.

A key is a bookmark's whole RenderState (latent, classes, truncation, edits).  The segment from a
key to the next has its own length in frames, easing and path (slerp or lerp; w+ latents move layer
by layer).  With ``loop`` the last segment returns to the first key and ends one frame before it,
so the animation repeats seamlessly.  Seed drift adds a slow random walk on the sphere around the
keys' latents; a loop walk replaces the keys' path by a great circle in z through the first key.
Both are closed over the whole animation (drift and walk at the last frame lead back to the first)
and seeded: the same timeline gives the same frames on every run, here and on the command line.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterator, Optional, Sequence

import torch

from ganstudio import latent
from ganstudio._io import atomic_write_text
from ganstudio.engine.interpolation import blend_state_classes, endpoint_state
from ganstudio.engine.state import INPUT_TRANSFORM_FIELDS, Edit, RenderState

FORMAT = "ganstudio-timeline"
VERSION = 1
EASINGS = ("linear", "ease-in-out", "ease-in", "ease-out", "hold")
INTERPS = ("slerp", "lerp")
MAX_KEYS = 1000
MAX_FRAMES = 100_000  # the whole animation
MAX_FPS = 240
MAX_FILE_BYTES = 64 * 2 ** 20
DRIFT_TERMS = 3  # random Fourier terms of the drift path (its slowest turns once per animation)


class TimelineError(ValueError):
    """A timeline that cannot be used: the message names what is wrong, in one line."""


def ease(name: str, t: float) -> float:
    """Eased fraction in [0, 1] of a segment's time fraction t."""
    if name == "linear":
        return t
    if name == "ease-in-out":
        return (1 - math.cos(math.pi * t)) / 2
    if name == "ease-in":
        return 1 - math.cos(math.pi * t / 2)
    if name == "ease-out":
        return math.sin(math.pi * t / 2)
    if name == "hold":
        return 1.0 if t >= 1 else 0.0
    raise TimelineError(f"unknown easing {name!r} (one of {', '.join(EASINGS)})")


@dataclass(frozen=True)
class Key:
    """A keyframe and the segment that leaves it (towards the next key, or the first when looping)."""
    state: RenderState
    frames: int = 24
    easing: str = "linear"
    interp: str = "slerp"
    name: str = ""


@dataclass(frozen=True)
class Drift:
    amount: float = 0.0  # radians of the walk around each key's latent (0 = off)
    seed: int = 0


@dataclass(frozen=True)
class LoopWalk:
    frames: int = 0  # frames of one turn (0 = off: the keys' path)
    seed: int = 0  # the circle's second direction


@dataclass(frozen=True)
class Timeline:
    keys: tuple[Key, ...] = ()
    fps: int = 24
    loop: bool = True
    drift: Drift = field(default_factory=Drift)
    walk: LoopWalk = field(default_factory=LoopWalk)

    @property
    def model(self) -> str:
        return self.keys[0].state.model if self.keys else ""

    def frame_count(self) -> int:
        if self.walk.frames > 0:
            return self.walk.frames
        if len(self.keys) < 2:
            return len(self.keys)
        legs = self.keys if self.loop else self.keys[:-1]
        return sum(k.frames for k in legs) + (0 if self.loop else 1)

    def seconds(self) -> float:
        return self.frame_count() / self.fps

    def with_model(self, model: str) -> "Timeline":
        return replace(self, keys=tuple(replace(k, state=k.state.replace(model=model)) for k in self.keys))

    def check(self) -> None:
        """Raise TimelineError naming the first thing wrong."""
        if isinstance(self.fps, bool) or not isinstance(self.fps, int) or not 1 <= self.fps <= MAX_FPS:
            raise TimelineError(f"fps must be an integer in 1..{MAX_FPS}, got {self.fps!r}")
        if len(self.keys) > MAX_KEYS:
            raise TimelineError(f"{len(self.keys)} keys: at most {MAX_KEYS}")
        for i, k in enumerate(self.keys):
            if isinstance(k.frames, bool) or not isinstance(k.frames, int) or not 1 <= k.frames <= MAX_FRAMES:
                raise TimelineError(f"key {i + 1}: frames must be an integer in 1..{MAX_FRAMES}, got {k.frames!r}")
            if k.easing not in EASINGS:
                raise TimelineError(f"key {i + 1}: unknown easing {k.easing!r} (one of {', '.join(EASINGS)})")
            if k.interp not in INTERPS:
                raise TimelineError(f"key {i + 1}: unknown interpolation {k.interp!r} (slerp or lerp)")
            if k.state.model != self.keys[0].state.model:
                raise TimelineError(f"key {i + 1} is of another model than key 1 (a timeline renders one model)")
        if not (isinstance(self.drift.amount, (int, float)) and 0 <= self.drift.amount <= math.pi):
            raise TimelineError(f"drift amount must be in 0..pi radians, got {self.drift.amount!r}")
        w = self.walk
        if isinstance(w.frames, bool) or not isinstance(w.frames, int) or not 0 <= w.frames <= MAX_FRAMES:
            raise TimelineError(f"loop walk frames must be an integer in 0..{MAX_FRAMES}, got {w.frames!r}")
        if self.frame_count() > MAX_FRAMES:
            raise TimelineError(f"{self.frame_count()} frames: at most {MAX_FRAMES}")

    def frames(self, renderer) -> Iterator[RenderState]:
        """The animation's states, one per frame; ``renderer.latents(state)`` gives (z, c, ws)."""
        self.check()
        if self.walk.frames > 0:
            if not self.keys:
                raise TimelineError("a loop walk starts from the first key: add a key")
            yield from _walk_states(self, renderer)
            return
        if len(self.keys) < 2:
            raise TimelineError(f"a timeline needs at least two keys (or a loop walk), it has {len(self.keys)}")
        yield from _key_states(self, renderer)


# -- frames ------------------------------------------------------------------------------------
def _latents(renderer, keys: Sequence[Key]) -> tuple[str, list[torch.Tensor]]:
    space = "ws" if any(k.state.ws is not None for k in keys) else "z"
    pick = 2 if space == "ws" else 0
    out = []
    for k in keys:
        x = renderer.latents(endpoint_state(k.state))[pick]
        if x is None:
            raise TimelineError(f"the model has no {space} latent to interpolate")
        out.append(x[0].detach().cpu().double())
    return space, out


def _values(x: torch.Tensor):
    if x.ndim == 2:
        return tuple(tuple(float(v) for v in row) for row in x.float().tolist())
    return tuple(float(v) for v in x.float().tolist())


def _blend_edits(a: Sequence[Edit], b: Sequence[Edit], t: float) -> tuple:
    """Each edit's strength a fraction t of the way from a's to b's (an edit one key lacks has strength 0)."""
    ea = {(e.method, e.index, e.layers): e.alpha for e in a}
    eb = {(e.method, e.index, e.layers): e.alpha for e in b}
    order = list(ea) + [k for k in eb if k not in ea]
    return tuple(Edit(m, i, (1 - t) * ea.get((m, i, lay), 0.0) + t * eb.get((m, i, lay), 0.0), lay)
                 for m, i, lay in order)


def _blend(a: RenderState, b: RenderState, t: float, space: str, x: torch.Tensor) -> RenderState:
    """The state a fraction t from key a to key b with latent x: classes, truncation, edit strengths and the
    input transform blend; the other settings (noise, mixing, stage) are the nearer key's."""
    base = a if t < 0.5 else b
    changes = {space: _values(x), ("z" if space == "ws" else "ws"): None,
               "truncation_psi": (1 - t) * a.truncation_psi + t * b.truncation_psi,
               "edits": _blend_edits(a.edits, b.edits, t) if (a.edits or b.edits) else ()}
    if t == 0 or t == 1:
        changes["truncation_psi"], changes["edits"] = base.truncation_psi, base.edits
    if a.class_weights or b.class_weights:
        changes["class_weights"] = blend_state_classes(a, b, t)
    for k in INPUT_TRANSFORM_FIELDS:  # StyleGAN3's pan and turn move linearly, a camera move between keys
        va, vb = getattr(a, k), getattr(b, k)
        if va or vb:
            changes[k] = va if t == 0 else vb if t == 1 else (1 - t) * va + t * vb
    return base.replace(**changes)


def _key_steps(tl: Timeline) -> list[tuple[int, int, float, str, str]]:
    n = len(tl.keys)
    legs = [(i, (i + 1) % n) for i in range(n if tl.loop else n - 1)]
    steps = [(i, j, ease(tl.keys[i].easing, f / tl.keys[i].frames), tl.keys[i].interp)
             for i, j in legs for f in range(tl.keys[i].frames)]
    if not tl.loop:
        steps.append((n - 2, n - 1, 1.0, tl.keys[n - 2].interp))
    return steps


def _key_states(tl: Timeline, renderer) -> Iterator[RenderState]:
    space, lat = _latents(renderer, tl.keys)
    steps = _key_steps(tl)
    drift = _drift_path(tl.drift, lat[0].shape, len(steps))
    for f, (i, j, t, interp) in enumerate(steps):
        x = (latent.slerp if interp == "slerp" else latent.lerp)(lat[i], lat[j], t)
        if drift is not None:
            x = _on_sphere(x, drift[f], tl.drift.amount)
        yield _blend(tl.keys[i].state, tl.keys[j].state, t, space, x)


def _unit_rows(x: torch.Tensor) -> torch.Tensor:
    return x / x.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def _drift_path(drift: Drift, shape, n: int) -> Optional[torch.Tensor]:
    """[n, *shape]: a smooth seeded random path of directions, closed over the n frames (frame n would be
    frame 0 again): a few random Fourier terms, the slowest turning once per animation."""
    if drift.amount <= 0 or n == 0:
        return None
    g = torch.Generator().manual_seed(int(drift.seed))
    u = torch.arange(n, dtype=torch.float64) * (2 * math.pi / n)
    path = torch.zeros((n, *shape), dtype=torch.float64)
    for k in range(1, DRIFT_TERMS + 1):
        a = torch.randn(shape, generator=g, dtype=torch.float64)
        b = torch.randn(shape, generator=g, dtype=torch.float64)
        path += (torch.cos(k * u).view(-1, *[1] * len(shape)) * a
                 + torch.sin(k * u).view(-1, *[1] * len(shape)) * b) / k
    return path


def _on_sphere(x: torch.Tensor, direction: torch.Tensor, angle: float) -> torch.Tensor:
    """x turned by up to ``angle`` radians towards ``direction`` (its part orthogonal to x), norm kept, per row."""
    n = x.norm(dim=-1, keepdim=True)
    u = _unit_rows(x)
    d = direction - (direction * u).sum(-1, keepdim=True) * u
    scale = d.norm(dim=-1, keepdim=True) / math.sqrt(max(x.shape[-1], 1))  # ~1 for a random direction
    theta = angle * torch.tanh(scale)
    return n * (torch.cos(theta) * u + torch.sin(theta) * _unit_rows(d))


def _walk_states(tl: Timeline, renderer) -> Iterator[RenderState]:
    """A great circle through the first key's latent x0: x(t) = cos(2 pi t) x0 + sin(2 pi t) p for t in
    [0, 1), p a seeded direction orthogonal to x0 with x0's norm (per row for w+), so every point keeps
    x0's norm (it stays on the sphere) and frame n would be frame 0 again."""
    key = tl.keys[0]
    space, (x0,) = _latents(renderer, [key])
    g = torch.Generator().manual_seed(int(tl.walk.seed))
    p = torch.randn(x0.shape, generator=g, dtype=torch.float64)
    u = _unit_rows(x0)
    p = _unit_rows(p - (p * u).sum(-1, keepdim=True) * u) * x0.norm(dim=-1, keepdim=True)
    n = tl.walk.frames
    drift = _drift_path(tl.drift, x0.shape, n)
    for f in range(n):
        x = math.cos(2 * math.pi * f / n) * x0 + math.sin(2 * math.pi * f / n) * p
        if drift is not None:
            x = _on_sphere(x, drift[f], tl.drift.amount)
        yield key.state.replace(**{space: _values(x), ("z" if space == "ws" else "ws"): None})


# -- files -------------------------------------------------------------------------------------
def to_dict(tl: Timeline) -> dict:
    return {"format": FORMAT, "version": VERSION, "fps": tl.fps, "loop": tl.loop,
            "drift": {"amount": tl.drift.amount, "seed": tl.drift.seed},
            "walk": {"frames": tl.walk.frames, "seed": tl.walk.seed},
            "keys": [{"name": k.name, "frames": k.frames, "easing": k.easing, "interp": k.interp,
                      "state": k.state.to_dict()} for k in tl.keys]}


def _get(d: dict, name: str, kind, default, where: str):
    v = d.get(name, default)
    ok = isinstance(v, kind) and not (kind is not bool and isinstance(v, bool))
    if not ok:
        raise TimelineError(f"{where}{name} must be {getattr(kind, '__name__', 'a number')}, got {v!r}")
    return v


def from_dict(d) -> Timeline:
    """A Timeline from its JSON value; TimelineError names the first thing wrong."""
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise TimelineError(f"not a timeline file (no \"format\": \"{FORMAT}\")")
    version = d.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= VERSION:
        raise TimelineError(f"timeline version {version!r} is not supported (this GAN Studio reads 1..{VERSION})")
    keys_in = d.get("keys", [])
    if not isinstance(keys_in, list):
        raise TimelineError("keys must be a list")
    if len(keys_in) > MAX_KEYS:
        raise TimelineError(f"{len(keys_in)} keys: at most {MAX_KEYS}")
    keys = []
    for i, k in enumerate(keys_in):
        where = f"key {i + 1}: "
        if not isinstance(k, dict) or not isinstance(k.get("state"), dict):
            raise TimelineError(f"{where}must be an object with a state")
        try:
            state = RenderState.from_dict(k["state"])
        except (ValueError, TypeError) as e:
            raise TimelineError(f"{where}{e}") from None
        keys.append(Key(state, _get(k, "frames", int, 24, where), _get(k, "easing", str, "linear", where),
                        _get(k, "interp", str, "slerp", where), _get(k, "name", str, "", where)))
    drift, walk = d.get("drift") or {}, d.get("walk") or {}
    if not isinstance(drift, dict) or not isinstance(walk, dict):
        raise TimelineError("drift and walk must be objects")
    num = (int, float)
    tl = Timeline(tuple(keys), _get(d, "fps", int, 24, ""), _get(d, "loop", bool, True, ""),
                  Drift(float(_get(drift, "amount", num, 0.0, "drift ")), _get(drift, "seed", int, 0, "drift ")),
                  LoopWalk(_get(walk, "frames", int, 0, "walk "), _get(walk, "seed", int, 0, "walk ")))
    if not math.isfinite(tl.drift.amount):
        raise TimelineError("drift amount must be a finite number")
    tl.check()
    return tl


def save_timeline(path: str | os.PathLike, tl: Timeline) -> None:
    tl.check()
    atomic_write_text(path, json.dumps(to_dict(tl), indent=1))


def load_timeline(path: str | os.PathLike) -> Timeline:
    """Read a timeline file; TimelineError (one line, naming the file) for anything wrong with it."""
    name = Path(path).name
    try:
        size = os.path.getsize(path)
        if size > MAX_FILE_BYTES:
            raise TimelineError(f"{size // 2 ** 20} MB, more than a timeline can be ({MAX_FILE_BYTES // 2 ** 20} MB)")
        with open(path, "rb") as f:
            text = f.read().decode("utf-8")
        return from_dict(json.loads(text))
    except TimelineError as e:
        raise TimelineError(f"{name}: {e}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e).splitlines()[0]
        raise TimelineError(f"{name}: not a readable timeline file ({reason})") from None


def is_timeline_file(path: str | os.PathLike) -> bool:
    """Whether a .json file says it is a timeline (reads at most its first 4 kB)."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096).decode("utf-8", "replace")
    except OSError:
        return False
    return f'"{FORMAT}"' in head
