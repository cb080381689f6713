"""OSC control without Qt: the address table, value clamping, and one message -> one application-core edit.

Every control a user can move has an address.  A message is checked before anything changes:
a wrong type, an unknown address or a control the model lacks is refused with one line saying
why (``OscMap.handle`` returns it; the window logs it), and a number outside the control's range
is clamped into it, as the control's slider would.  ``osc_values`` lists the current value of
every address, so an OSC output can make a controller's faders follow.

Things that live in the window rather than the state (the interpolation slider and its Play
button, the blend pad's corner seeds) go through ``OscHooks``; without hooks the pad uses
seeds 1-4 (the Blend pad panel's defaults) and /interp/t, /play and /stop are refused.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, NamedTuple, Optional, Sequence

from ganstudio.engine.renderer import ModelInfo
from ganstudio.engine.state import INPUT_ROTATE_RANGE, INPUT_TRANSLATE_RANGE, RenderState
from ganstudio.engine.transforms import edit_alpha, noise_layers, pad_z, seed_state, set_edit
from ganstudio.latent.noise import MODES as NOISE_MODES
from ganstudio.latent.sampling import MAX_SEED

# The ranges of the window's controls (the Latent, Truncation, Noise and Class panels' sliders).
Z_RANGE = (-3.0, 3.0)  # a raw z / w dimension
DIRECTION_RANGE = (-5.0, 5.0)  # a PCA / SeFa direction's strength
DIRECTION_SLIDERS = 10  # directions the Latent panel shows per method
PSI_RANGE = (-1.0, 2.0)
NOISE_STRENGTH_RANGE = (0.0, 3.0)
CLASS_RANGE = (0.0, 1.0)  # a class weight from a fader
DIRECTION_METHODS = ("pca", "sefa")
PAD_SEEDS = (1, 2, 3, 4)  # the blend pad's corners when the window does not say otherwise
MAX_ADDRESS = 200  # characters: longer addresses are refused before any parsing


class OscAddress(NamedTuple):
    """One row of the address table."""
    address: str
    value: str  # the argument it takes
    control: str  # what it moves


ADDRESSES: tuple[OscAddress, ...] = (
    OscAddress("/seed", f"int 0..{MAX_SEED}", "the seed (an explicit latent gives way to it)"),
    OscAddress("/latent/z/<i>", "float -3..3", "raw z dimension i (an edit on top of the seed's z)"),
    OscAddress("/latent/w/<i>", "float -3..3", "raw w dimension i on every w layer (style models)"),
    OscAddress("/direction/<method>/<i>", "float -5..5", "direction i of pca or sefa (GANSpace / SeFa)"),
    OscAddress("/psi", "float -1..2", "truncation psi"),
    OscAddress("/cutoff", "int 0..num_ws", "truncation cutoff: psi applies to layers below it; 0 = all layers"),
    OscAddress("/class", "int or name", "show that class alone"),
    OscAddress("/class/<name or index>", "float 0..1", "that class's weight in the class blend"),
    OscAddress("/pad/x", "float 0..1", "blend pad position, left to right"),
    OscAddress("/pad/y", "float 0..1", "blend pad position, top to bottom"),
    OscAddress("/mix/<layer>", "int 0..mix seeds", "style mixing: layer's source (0 = main latent, k = mix seed k)"),
    OscAddress("/noise/mode", "string: " + ", ".join(NOISE_MODES), "every noise layer's mode"),
    OscAddress("/noise/strength", "float 0..3", "global noise strength"),
    OscAddress("/transform/x", "float -1..1", "input transform: translate x, image widths (StyleGAN3)"),
    OscAddress("/transform/y", "float -1..1", "input transform: translate y, image widths (StyleGAN3)"),
    OscAddress("/transform/rotate", "float -180..180", "input transform: rotation in degrees (StyleGAN3)"),
    OscAddress("/interp/t", "float 0..1", "interpolation between the Interpolation panel's two bookmarks"),
    OscAddress("/play", "(none)", "play the interpolation"),
    OscAddress("/stop", "(none)", "stop playing"),
    OscAddress("/bookmark/<n>", "(none)", "recall gallery bookmark n (1 = the first)"),
)


def markdown_table() -> str:
    """The address table as markdown (README, Help > OSC addresses)."""
    rows = ["| Address | Value | Control |", "|---|---|---|"]
    rows += [f"| `{a.address}` | {a.value} | {a.control} |" for a in ADDRESSES]
    return "\n".join(rows)


class OscError(ValueError):
    """A message that changes nothing; its text says why."""


@dataclass
class OscHooks:
    """Window-side controls: each None one refuses its address (the engine alone has no such control)."""
    interp_t: Optional[Callable[[float], None]] = None
    play: Optional[Callable[[bool], None]] = None
    pad: Optional[Callable[[float, float], None]] = None  # moves the window's pad (its own corner seeds)


def _number(args: Sequence, what: str) -> float:
    if len(args) != 1:
        raise OscError(f"{what} takes one number, got {len(args)} arguments")
    v = args[0]
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise OscError(f"{what} takes a number, got {type(v).__name__}")
    try:
        v = float(v)
    except OverflowError:
        raise OscError(f"{what}: number too large") from None
    if not math.isfinite(v):
        raise OscError(f"{what} takes a finite number, got {v}")
    return v


def _clamped(args: Sequence, what: str, lo: float, hi: float) -> float:
    return min(max(_number(args, what), lo), hi)


def _int_clamped(args: Sequence, what: str, lo: int, hi: int) -> int:
    v = _number(args, what)
    return int(min(max(round(v), lo), hi))


def _index(part: str, what: str, count: int) -> int:
    if not part.isdigit() or len(part) > 9:
        raise OscError(f"{what}: {part!r} is not an index")
    i = int(part)
    if i >= count:
        raise OscError(f"{what}: index {i} is out of range (the model has {count})")
    return i


def _no_args(args: Sequence, what: str) -> None:
    """A trigger: no argument, or a button's one number."""
    if args:
        _number(args, f"{what} takes no argument or")


class OscMap:
    """Turns OSC messages into edits of ``core`` (an AppCore); ``handle`` never raises."""

    def __init__(self, core, hooks: Optional[OscHooks] = None):
        self.core = core
        self.hooks = hooks or OscHooks()
        self.pad = (0.5, 0.5)  # the last pad position asked for

    def handle(self, address, args: Sequence = ()) -> Optional[str]:
        """Apply one message; None when applied, else one line naming why it changed nothing."""
        try:
            if not isinstance(address, str) or not address.startswith("/") or len(address) > MAX_ADDRESS:
                raise OscError(f"not an OSC address: {str(address)[:60]!r}")
            if self.core.info is None:
                raise OscError("no model is open")
            self._dispatch(address, list(args))
        except OscError as e:
            if not isinstance(address, str):
                return f"?: {e}"
            text = str(e)  # the address leads the line once
            return f"{address[:80]}: {text[len(address):].lstrip(': ') if text.startswith(address) else text}"
        return None

    def _edit(self, address: str, text: str, **changes) -> None:
        self.core.edit(self.core.state.replace(**changes), f"OSC {text}", merge=("osc", address))

    def _dispatch(self, address: str, args: list) -> None:
        parts = address.strip("/").split("/")
        head, rest = parts[0], parts[1:]
        handler = _HANDLERS.get((head, len(rest)))
        if handler is None:
            raise OscError("unknown address (Help ▸ OSC addresses lists them)")
        handler(self, address, rest, args)

    # -- one handler per address ---------------------------------------------------------------------
    def _seed(self, address, rest, args) -> None:
        seed = _int_clamped(args, "/seed", 0, MAX_SEED)
        new = seed_state(self.core.state, seed)
        self.core.edit(new, f"OSC seed {seed}", merge=("osc", address))

    def _latent(self, address, rest, args) -> None:
        space, part = rest
        info = self.core.info
        if space == "z":
            method, count = "raw", info.z_dim
        elif space == "w" and info.capabilities.style_layers:
            method, count = "w", info.w_dim
        else:
            raise OscError("unknown latent space (z, or w for style models)")
        i = _index(part, address, count)
        alpha = _clamped(args, address, *Z_RANGE)
        self._edit(address, f"{space}[{i}]", edits=set_edit(self.core.state.edits, method, i, alpha))

    def _direction(self, address, rest, args) -> None:
        method, part = rest[0].lower(), rest[1]
        if method not in DIRECTION_METHODS:
            raise OscError(f"unknown direction method {rest[0]!r} ({', '.join(DIRECTION_METHODS)})")
        i = _index(part, address, DIRECTION_SLIDERS)
        alpha = _clamped(args, address, *DIRECTION_RANGE)
        edits = self.core.state.edits
        # The direction keeps the layer range it already has (set in the Latent panel); else every layer.
        layers = next((e.layers for e in edits if (e.method, e.index) == (method, i)), None)
        self._edit(address, f"{method} #{i}", edits=set_edit(edits, method, i, alpha, layers))

    def _psi(self, address, rest, args) -> None:
        if self.core.info.capabilities.truncation is None:
            raise OscError("the model has no truncation")
        self._edit(address, "psi", truncation_psi=_clamped(args, address, *PSI_RANGE))

    def _cutoff(self, address, rest, args) -> None:
        if self.core.info.capabilities.truncation != "w":
            raise OscError("the model has no truncation cutoff (w truncation)")
        v = _int_clamped(args, address, 0, self.core.info.num_ws)
        self._edit(address, "cutoff", truncation_cutoff=None if v == 0 else v)

    def _class_index(self, key) -> int:
        info = self.core.info
        if not info.c_dim:
            raise OscError("the model has no classes")
        if isinstance(key, str) and not key.isdigit():
            names = [n.lower() for n in info.class_names]
            if key.lower() not in names:
                raise OscError(f"no class named {key[:40]!r}")
            return names.index(key.lower())
        if isinstance(key, bool) or not isinstance(key, (int, str)) or int(key) >= info.c_dim or int(key) < 0:
            raise OscError(f"class {str(key)[:20]} is out of range (the model has {info.c_dim})")
        return int(key)

    def _class_pure(self, address, rest, args) -> None:
        if len(args) != 1 or not isinstance(args[0], (int, float, str)) or isinstance(args[0], bool):
            raise OscError("takes one class index or name")
        key = args[0]
        if isinstance(key, float):  # many controllers send only floats
            if not key.is_integer():
                raise OscError(f"class index {key} is not a whole number")
            key = int(key)
        k = self._class_index(key)
        self._edit(address, f"class {k}", class_weights=((k, 1.0),))

    def _class_weight(self, address, rest, args) -> None:
        k = self._class_index(rest[0])
        w = _clamped(args, address, *CLASS_RANGE)
        weights = dict(self.core.state.class_weights)
        weights[k] = w
        weights = {c: x for c, x in weights.items() if x > 0}
        self._edit(address, f"class {k} weight", class_weights=tuple(sorted(weights.items())))

    def _pad(self, address, rest, args) -> None:
        axis = rest[0]
        if axis not in ("x", "y"):
            raise OscError("the pad has /pad/x and /pad/y")
        v = _clamped(args, address, 0.0, 1.0)
        u, w = (v, self.pad[1]) if axis == "x" else (self.pad[0], v)
        self.pad = (u, w)
        if self.hooks.pad is not None:
            self.hooks.pad(u, w)
            return
        z = pad_z(self.core.state, self.core.info, PAD_SEEDS, u, w)
        self._edit("/pad", "blend pad", z=tuple(float(x) for x in z), ws=None)

    def _mix(self, address, rest, args) -> None:
        info = self.core.info
        if not info.capabilities.style_layers or info.num_ws < 2:
            raise OscError("the model has no style layers to mix")
        layer = _index(rest[0], address, info.num_ws)
        st = self.core.state
        seeds = st.mix_seeds or (1, 2)  # the Mixing panel's default mix seeds
        source = _int_clamped(args, address, 0, len(seeds))
        sources = list(st.mix_sources or (0,) * info.num_ws)
        sources[layer] = source
        self._edit(address, f"layer {layer} source", mix_seeds=seeds,
                   mix_sources=tuple(sources) if any(sources) else None)

    def _noise(self, address, rest, args) -> None:
        count = len(self.core.info.capabilities.noise_layers)
        if not count:
            raise OscError("the model has no noise layers")
        if rest[0] == "strength":
            self._edit(address, "noise strength", noise_strength=_clamped(args, address, *NOISE_STRENGTH_RANGE))
        elif rest[0] == "mode":
            if len(args) != 1 or not isinstance(args[0], str) or args[0] not in NOISE_MODES:
                raise OscError(f"takes one of {', '.join(NOISE_MODES)}")
            layers = [n._replace(mode=args[0]) for n in noise_layers(self.core.state, count)]
            self._edit(address, f"noise {args[0]}", noise=tuple(layers))
        else:
            raise OscError("the noise has /noise/mode and /noise/strength")

    def _transform(self, address, rest, args) -> None:
        field, lo_hi = _TRANSFORM.get(rest[0], (None, None))
        if field is None:
            raise OscError("the input transform has /transform/x, /transform/y and /transform/rotate")
        if not self.core.info.capabilities.input_transform:
            raise OscError("the model has no input transform (StyleGAN3's)")
        self._edit(address, f"transform {rest[0]}", **{field: _clamped(args, address, *lo_hi)})

    def _interp(self, address, rest, args) -> None:
        if rest[0] != "t":
            raise OscError("interpolation has /interp/t")
        t = _clamped(args, address, 0.0, 1.0)
        if self.hooks.interp_t is None:
            raise OscError("no interpolation here")
        self.hooks.interp_t(t)

    def _play(self, address, rest, args) -> None:
        _no_args(args, address)
        if self.hooks.play is None:
            raise OscError("nothing to play here")
        self.hooks.play(address == "/play")

    def _bookmark(self, address, rest, args) -> None:
        _no_args(args, address)
        marks = self.core.bookmarks
        if not rest[0].isdigit() or not 1 <= int(rest[0][:9]) <= len(marks):
            raise OscError(f"no bookmark {rest[0][:20]} (the gallery has {len(marks)})")
        state = marks[int(rest[0]) - 1].state
        if state.model != self.core.state.model:
            raise OscError("that bookmark belongs to another model")
        self.core.edit(state, f"OSC bookmark {rest[0]}")


_HANDLERS = {
    ("seed", 0): OscMap._seed, ("latent", 2): OscMap._latent, ("direction", 2): OscMap._direction,
    ("psi", 0): OscMap._psi, ("cutoff", 0): OscMap._cutoff, ("class", 0): OscMap._class_pure,
    ("class", 1): OscMap._class_weight, ("pad", 1): OscMap._pad, ("mix", 1): OscMap._mix,
    ("noise", 1): OscMap._noise, ("interp", 1): OscMap._interp, ("play", 0): OscMap._play,
    ("stop", 0): OscMap._play, ("bookmark", 1): OscMap._bookmark, ("transform", 1): OscMap._transform,
}
_TRANSFORM = {"x": ("input_translate_x", INPUT_TRANSLATE_RANGE), "y": ("input_translate_y", INPUT_TRANSLATE_RANGE),
              "rotate": ("input_rotate", INPUT_ROTATE_RANGE)}  # /transform/<part> -> (state field, range)


def osc_values(state: RenderState, info: Optional[ModelInfo]) -> dict:
    """{address: value} of every state-held control of the model, for an OSC output (faders follow)."""
    if info is None:
        return {}
    caps = info.capabilities
    out: dict = {"/seed": state.seed}
    for i in range(info.z_dim):
        out[f"/latent/z/{i}"] = edit_alpha(state.edits, "raw", i)
    for method in DIRECTION_METHODS:
        for i in range(DIRECTION_SLIDERS):
            out[f"/direction/{method}/{i}"] = next(
                (e.alpha for e in state.edits if (e.method, e.index) == (method, i)), 0.0)
    if caps.truncation is not None:
        out["/psi"] = state.truncation_psi
    if caps.truncation == "w":
        out["/cutoff"] = state.truncation_cutoff or 0
    weights = dict(state.class_weights)
    for k in range(info.c_dim):
        out[f"/class/{k}"] = weights.get(k, 0.0)
    if caps.style_layers and info.num_ws > 1:
        for layer in range(info.num_ws):
            out[f"/mix/{layer}"] = state.mix_sources[layer] if state.mix_sources else 0
    if caps.noise_layers:
        out["/noise/strength"] = state.noise_strength
    if caps.input_transform:
        for part, (field, _) in _TRANSFORM.items():
            out[f"/transform/{part}"] = getattr(state, field)
    return out


def changed_values(before: dict, now: dict) -> dict:
    """The entries of ``now`` that ``before`` lacks or holds with another value."""
    return {k: v for k, v in now.items() if before.get(k) != v}
