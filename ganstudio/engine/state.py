"""RenderState: everything needed to reproduce one image, as a plain JSON-able value.

The GUI edits a state, the engine renders it; undo stores states, session files store
states, and ``ganstudio sample --session`` renders them.  Floats survive the JSON round
trip exactly (Python writes shortest-repr doubles; float32 values are exact doubles).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, NamedTuple, Optional

from ganstudio.latent.library import MAX_DIRECTIONS, LibraryError, UserDirection, check_direction
from ganstudio.latent.noise import MODES as LAYER_NOISE_MODES
from ganstudio.latent.sampling import MAX_SEED


# raw: a z dimension (before the mapping); w: a w dimension over a layer range; pca / sefa: a
# direction found by GANSpace / SeFa, in w for style models (else in z), over a layer range; user:
# a direction of the state's user_directions (the library), added in its space; code: an InfoGAN
# code SET to alpha (index 0 = the category, alpha its number; index k >= 1 = continuous code k).
EDIT_METHODS = ("raw", "w", "pca", "sefa", "user", "code")
NOISE_MODES = ("const", "random", "none")  # noise_mode: the generator's own modes
MAX_MIX_SEEDS = 256  # more than any model has layers; guards a hostile session's list

class Edit(NamedTuple):
    """One direction edit of a state: ``alpha`` along direction ``index`` of ``method``, on ``layers``."""
    method: str  # raw | w | pca | sefa | user | code (EDIT_METHODS)
    index: int  # a z / w dimension (raw, w) or a direction number (pca, sefa)
    alpha: float  # strength
    layers: Optional[tuple[int, int]] = None  # (first, end) ws layers; None = every layer


class LayerNoise(NamedTuple):
    """The noise setting of one noise layer (see latent.noise.MODES)."""
    mode: str
    seed: int = 0
    strength: float = 1.0


# The fields that may hold lists or dicts (the others are scalars, strings or None).
INPUT_TRANSFORM_FIELDS = ("input_translate_x", "input_translate_y", "input_rotate")
_CONTAINER_FIELDS = ("z", "ws", "class_weights", "mix_seeds", "mix_sources", "noise", "edits", "user_directions")
# The input transform's control ranges (the Input transform panel's sliders; OSC clamps to them too)
INPUT_TRANSLATE_RANGE = (-1.0, 1.0)  # image widths; one whole width brings the neighbouring content in view
INPUT_ROTATE_RANGE = (-180.0, 180.0)  # degrees


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
    noise: Optional[tuple[LayerNoise, ...]] = None  # per noise layer
    noise_mode: str = "const"  # for layers without an explicit entry
    noise_strength: float = 1.0  # multiplies all noise
    edits: tuple[Edit, ...] = ()
    stage: Optional[int] = None  # Progressive GAN stage (None = the model's own)
    stage_alpha: float = 1.0
    user_directions: tuple[UserDirection, ...] = ()  # the direction library: "user" edits index it
    # StyleGAN3's input transform (models whose capabilities().input_transform is set; others ignore it):
    input_translate_x: float = 0.0  # the content moves right by this many image widths
    input_translate_y: float = 0.0  # ... and down
    input_rotate: float = 0.0  # degrees, counter-clockwise on screen

    def __post_init__(self):
        # Accept dicts and lists from callers and JSON; store hashable tuples.  Scalars and empty
        # tuples need nothing, and skipping them keeps a state change cheap (it is on the render path).
        d = self.__dict__
        for k in _CONTAINER_FIELDS:
            v = d[k]
            if k == "user_directions":  # long vectors: frozen once, then passed on by every replace() as they are
                if v and not (type(v) is tuple and all(type(u) is UserDirection and type(u.vector) is tuple
                                                         for u in v)):
                    object.__setattr__(self, k, _freeze_directions(v))
                continue
            if v is not None and not (type(v) is tuple and not v):
                object.__setattr__(self, k, _freeze_value(v))
        if self.class_weights:
            object.__setattr__(self, "class_weights", tuple((int(k), float(w)) for k, w in self.class_weights))
        # Named tuples (equal to, and hashing as, the plain tuples older code and callers pass); a value
        # of another shape stays as it is for check_state to name.
        if d["edits"]:
            object.__setattr__(self, "edits", _named(Edit, 4, d["edits"]))
        if d["noise"]:
            object.__setattr__(self, "noise", _named(LayerNoise, 3, d["noise"]))

    def replace(self, **kw) -> "RenderState":
        return dataclasses.replace(self, **kw)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["class_weights"] = {str(k): w for k, w in self.class_weights}
        d["noise"] = None if self.noise is None else [n._asdict() for n in self.noise]
        d["edits"] = [{**e._asdict(), "layers": None if e.layers is None else list(e.layers)} for e in self.edits]
        if self.user_directions:  # left out when empty: a state without them writes what it wrote before
            d["user_directions"] = [{"name": u.name, "space": u.space, "vector": list(u.vector),
                                     "layers": None if u.layers is None else list(u.layers)}
                                    for u in self.user_directions]
        else:
            del d["user_directions"]
        if not any(d[k] for k in INPUT_TRANSFORM_FIELDS):  # likewise: older states write what they wrote
            for k in INPUT_TRANSFORM_FIELDS:
                del d[k]
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
        for name in ("class_weights", "mix_seeds", "edits", "user_directions"):  # lists, never null: checked below
            if name in d and not isinstance(d[name], (list, tuple) if name != "class_weights" else (list, tuple, dict)):
                raise ValueError(f"{name} must be a list{' or an object' if name == 'class_weights' else ''}, "
                                 f"got {_r(d[name])}")
        for name in ("z", "ws", "mix_sources", "noise"):  # a list, or null for unset
            if d.get(name) is not None and not isinstance(d[name], (list, tuple)):
                raise ValueError(f"{name} must be a list or null, got {_r(d[name])}")
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
            if d.get("user_directions"):
                if len(d["user_directions"]) > MAX_DIRECTIONS:
                    raise ValueError(f"at most {MAX_DIRECTIONS} user directions, got {len(d['user_directions'])}")
                d["user_directions"] = [check_direction(u, f"user direction {i + 1}")
                                        for i, u in enumerate(d["user_directions"])]
            state = cls(**_freeze(d))
        except (TypeError, KeyError, ValueError, AttributeError, OverflowError) as e:
            raise ValueError(f"malformed render state: {e}") from None
        except RecursionError:
            raise ValueError("malformed render state: nested too deeply") from None
        try:
            check_state(state)
        except TypeError as e:  # a value of a shape the checks do not expect
            raise ValueError(f"malformed render state: {e}") from None
        return state


def _named(kind, size: int, values):
    if type(values) is not tuple:
        return values
    return tuple(v if type(v) is kind else kind(*v) if type(v) is tuple and len(v) == size else v
                 for v in values)


def _r(v) -> str:
    """repr cut short: a hostile value may be a 5000-digit number."""
    try:
        text = repr(v)
    except ValueError:  # Python refuses to print ints of over 4300 digits
        return "a number too long to show"
    return text if len(text) <= 60 else text[:57] + "..."


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _finite(v) -> bool:
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        return False
    try:
        return math.isfinite(v)
    except OverflowError:  # an int beyond any float
        return False


def check_numbers(state: RenderState) -> None:
    """The cheap checks every render makes: NaN or text in the scalars, negative layer counts.

    Without them a NaN psi or edit renders a silent grey image and a negative cutoff counts
    layers from the end.
    """
    for name in ("truncation_psi", "noise_strength", "stage_alpha") + INPUT_TRANSFORM_FIELDS:
        v = getattr(state, name)
        if not _finite(v):
            raise ValueError(f"{name} must be a finite number, got {_r(v)}")
    cut = state.truncation_cutoff
    if cut is not None and (not _is_int(cut) or cut < 0):
        raise ValueError(f"truncation_cutoff must be a non-negative integer or unset, got {_r(cut)}")
    for edit in state.edits:
        if not (isinstance(edit, tuple) and len(edit) == 4):
            raise ValueError(f"an edit must be (method, index, alpha, layers), got {_r(edit)}")
        method, index, alpha, _ = edit
        if method not in EDIT_METHODS:
            raise ValueError(f"unknown edit method {_r(method)} ({', '.join(EDIT_METHODS)})")
        if not _is_int(index):
            raise ValueError(f"edit index must be an integer, got {_r(index)}")
        if not _finite(alpha):
            raise ValueError(f"edit strength must be a finite number, got {_r(alpha)}")
        if method == "user" and not 0 <= index < len(state.user_directions):
            raise ValueError(f"user direction {index} out of range (the state has {len(state.user_directions)})")


def _check_seed(name: str, v) -> None:
    if not _is_int(v) or not 0 <= v <= MAX_SEED:
        raise ValueError(f"{name} must be an integer in [0, {MAX_SEED}], got {_r(v)}")


def _check_vector(name: str, v) -> None:
    if not isinstance(v, tuple) or not v or not all(_finite(x) for x in v):
        raise ValueError(f"{name} must be a non-empty list of finite numbers")


def check_state(state: RenderState) -> None:
    """Every field's type and range that does not depend on the model; raises ValueError naming it.

    Run on states from files (sessions, bookmarks, latents): the panels mirror a state into spin
    boxes and sliders, which raise on text or out-of-range values instead of reporting them.
    """
    check_numbers(state)
    if not isinstance(state.model, str):
        raise ValueError(f"model must be a text (a path or a model name), got {_r(state.model)}")
    _check_seed("seed", state.seed)
    if state.z is not None:
        _check_vector("z", state.z)
    if state.ws is not None:
        if not isinstance(state.ws, tuple) or not state.ws:
            raise ValueError("ws must be a list of layers")
        for row in state.ws:
            _check_vector("each layer of ws", row)
        if len({len(row) for row in state.ws}) != 1:
            raise ValueError("the layers of ws differ in length")
    for k, w in state.class_weights:
        if k < 0 or not math.isfinite(w) or w < 0:
            raise ValueError(f"class weights must be finite and >= 0 for classes >= 0, got {k}: {w}")
    if state.z_threshold is not None and not (_finite(state.z_threshold) and state.z_threshold > 0):
        raise ValueError(f"z_threshold must be a positive number or unset, got {_r(state.z_threshold)}")
    if not isinstance(state.mix_seeds, tuple) or len(state.mix_seeds) > MAX_MIX_SEEDS:
        raise ValueError(f"mix_seeds must be a list of at most {MAX_MIX_SEEDS} seeds")
    for v in state.mix_seeds:
        _check_seed("each mix seed", v)
    if state.mix_sources is not None and not (
            isinstance(state.mix_sources, tuple) and all(_is_int(v) and v >= 0 for v in state.mix_sources)):
        raise ValueError("mix_sources must be a list of non-negative integers")
    if state.noise_mode not in NOISE_MODES:
        raise ValueError(f"noise_mode must be one of {', '.join(NOISE_MODES)}, got {_r(state.noise_mode)}")
    for mode, seed, strength in state.noise or ():
        if mode not in LAYER_NOISE_MODES:
            raise ValueError(f"a layer's noise mode must be one of {', '.join(LAYER_NOISE_MODES)}, got {_r(mode)}")
        if not _is_int(seed) or not 0 <= seed < 2**63:
            raise ValueError(f"a layer's noise seed must be a non-negative integer, got {_r(seed)}")
        if not math.isfinite(strength):
            raise ValueError(f"a layer's noise strength must be finite, got {_r(strength)}")
    for _, _, _, layers in state.edits:
        if layers is not None and not (isinstance(layers, tuple) and len(layers) == 2
                                       and all(_is_int(v) and v >= 0 for v in layers)):
            raise ValueError(f"an edit's layers must be (first, end) layer numbers, got {_r(layers)}")
    _check_user_directions(state.user_directions)
    if state.stage is not None and (not _is_int(state.stage) or state.stage < 0):
        raise ValueError(f"stage must be a non-negative integer or unset, got {_r(state.stage)}")
    if not 0 <= state.stage_alpha <= 1:
        raise ValueError(f"stage_alpha must be in [0, 1], got {_r(state.stage_alpha)}")


def _freeze_directions(dirs):
    if not isinstance(dirs, (list, tuple)):
        return dirs  # for check_state to name
    out = []
    for u in dirs:
        if isinstance(u, dict):
            u = (u.get("name"), u.get("space"), u.get("vector"), u.get("layers"))
        out.append(UserDirection(*(_freeze_value(x) for x in u)) if isinstance(u, (list, tuple)) and len(u) == 4
                   else u)
    return tuple(out)


def _check_user_directions(dirs) -> None:
    if not isinstance(dirs, tuple) or len(dirs) > MAX_DIRECTIONS:
        raise ValueError(f"user_directions must be a list of at most {MAX_DIRECTIONS} directions")
    for i, u in enumerate(dirs):
        try:
            check_direction(u, f"user direction {i + 1}")
        except LibraryError as e:
            raise ValueError(str(e)) from None


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
