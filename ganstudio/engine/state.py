"""RenderState: everything needed to reproduce one image, as a plain JSON-able value.

The GUI edits a state, the engine renders it; undo stores states, session files store
states, and ``ganstudio sample --session`` renders them.  Floats survive the JSON round
trip exactly (Python writes shortest-repr doubles; float32 values are exact doubles).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Optional


# The fields that may hold lists or dicts (the others are scalars, strings or None).
_CONTAINER_FIELDS = ("z", "ws", "class_weights", "mix_seeds", "mix_sources", "noise", "edits")


@dataclass(frozen=True)
class RenderState:
    model: str = ""  # checkpoint path, shipped model name, or "registry:<name>" (untrained)
    seed: int = 0
    z: Optional[tuple[float, ...]] = None  # explicit z (pad, interpolation, arithmetic) overrides seed
    ws: Optional[tuple[tuple[float, ...], ...]] = None  # explicit ws [num_ws][w_dim] overrides z
    class_weights: tuple[tuple[int, float], ...] = ()  # ((class, weight), ...); empty -> class 0
    truncation_psi: float = 1.0  # StyleGAN: w_avg + psi (w - w_avg)
    truncation_cutoff: Optional[int] = None  # psi applies to ws layers < cutoff
    z_threshold: Optional[float] = None  # BigGAN: resample |z_i| > threshold; None = off
    mix_seeds: tuple[int, ...] = ()  # extra latents for style mixing
    mix_sources: Optional[tuple[int, ...]] = None  # per ws layer: 0 = main latent, i = mix_seeds[i-1]
    noise: Optional[tuple[tuple[str, int, float], ...]] = None  # per noise layer (mode, seed, strength)
    noise_mode: str = "const"  # for layers without an explicit entry
    noise_strength: float = 1.0  # multiplies all noise
    edits: tuple[tuple[str, int, float, Optional[tuple[int, int]]], ...] = ()  # (method raw|w|pca|sefa, index, alpha, layers)
    stage: Optional[int] = None  # Progressive GAN stage (None = the model's own)
    stage_alpha: float = 1.0

    def __post_init__(self):
        # Accept dicts and lists from callers and JSON; store hashable tuples.  Scalars and empty
        # tuples need nothing, and skipping them keeps a state change cheap (it is on the render path).
        d = self.__dict__
        for k in _CONTAINER_FIELDS:
            v = d[k]
            if v is not None and not (type(v) is tuple and not v):
                object.__setattr__(self, k, _freeze_value(v))
        if self.class_weights:
            object.__setattr__(self, "class_weights", tuple((int(k), float(w)) for k, w in self.class_weights))

    def replace(self, **kw) -> "RenderState":
        return dataclasses.replace(self, **kw)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["class_weights"] = {str(k): w for k, w in self.class_weights}
        d["noise"] = None if self.noise is None else [
            {"mode": m, "seed": s, "strength": st} for m, s, st in self.noise]
        d["edits"] = [{"method": m, "index": i, "alpha": a, "layers": None if l is None else list(l)}
                      for m, i, a, l in self.edits]
        return _thaw(d)

    @classmethod
    def from_dict(cls, d: dict) -> "RenderState":
        if not isinstance(d, dict):
            raise ValueError("a render state must be a JSON object")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown render-state field(s): {', '.join(unknown)}")
        d = dict(d)
        try:
            if isinstance(d.get("class_weights"), dict):
                d["class_weights"] = [(int(k), float(w)) for k, w in d["class_weights"].items()]
            if d.get("noise") is not None:
                d["noise"] = [(str(n["mode"]), int(n.get("seed", 0)), float(n.get("strength", 1.0)))
                              for n in d["noise"]]
            if d.get("edits"):
                d["edits"] = [(str(e["method"]), int(e["index"]), float(e["alpha"]),
                               None if e.get("layers") is None else tuple(int(x) for x in e["layers"]))
                              for e in d["edits"]]
            return cls(**_freeze(d))
        except (TypeError, KeyError, ValueError) as e:
            raise ValueError(f"malformed render state: {e}") from None


def _freeze_value(v: Any):
    # Lists from JSON or callers become tuples so states are hashable, comparable values.
    if isinstance(v, (list, tuple)):
        return tuple(_freeze_value(x) for x in v)
    if isinstance(v, dict):
        return tuple((k, _freeze_value(x)) for k, x in v.items())
    if hasattr(v, "tolist") and getattr(v, "ndim", 0):  # a numpy array or torch tensor
        return _freeze_value(v.tolist())
    return v


def _freeze(d: dict) -> dict:
    return {k: _freeze_value(v) for k, v in d.items()}


def _thaw(v: Any):
    if isinstance(v, tuple) or isinstance(v, list):
        return [_thaw(x) for x in v]
    if isinstance(v, dict):
        return {k: _thaw(x) for k, x in v.items()}
    return v
