"""The renderer: device choice, a network cache, and ``render(state)`` that never raises.

Order of latent operations (as in the StyleGAN papers and NVIDIA's visualizer):
z (seed, explicit z, or BigGAN-truncated) -> raw z edits -> mapping with psi truncation
-> style mixing -> w-space direction edits -> synthesis with the chosen noise.
For families without a mapping network ws = z[:, None], so the same path serves all.
"""
from __future__ import annotations

import contextlib
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
import torch

# Imported here, not in the functions: with PySide6 loaded every import statement goes through
# its import hook, which costs microseconds on each render.
from ganstudio import latent
from ganstudio.devices import pick_device  # noqa: F401 - the engine's public name for it
from ganstudio.engine.encoding import image_tensor
from ganstudio.engine.layers import LayerCapture, is_layer_capture
from ganstudio.engine.state import INPUT_TRANSFORM_FIELDS, RenderState, check_numbers
from ganstudio.imaging import to_uint8
from ganstudio.latent.library import MAX_DIRECTIONS
from ganstudio.models import Capabilities


@dataclass
class ModelInfo:
    key: str  # the model string it was loaded from
    label: str  # what the window title shows
    model_name: str  # registry name
    family: str
    capabilities: Capabilities
    class_names: list[str]
    z_dim: int
    w_dim: int
    num_ws: int
    c_dim: int
    resolution: int
    channels: int
    untrained: bool = False
    meta: dict = field(default_factory=dict)
    num_stages: int = 0  # Progressive GAN
    own_stage: tuple = (0, 1.0)  # Progressive GAN: the (stage, alpha) the checkpoint was saved at
    precision: str = "fp32"  # what renders run in: "fp32", or "fp16" (autocast) where exact enough
    precision_note: str = ""  # why (shown as the status bar's tooltip)
    code_sizes: tuple = (0, 0)  # InfoGAN: (categories of the categorical code, continuous codes), at z's end


@dataclass
class RenderResult:
    image: Optional[np.ndarray]  # uint8 [H, W, C], or [N, H, W, C] for a batch; None on error
    error: str = ""
    render_ms: float = 0.0
    state: Optional[RenderState] = None
    model: Optional[ModelInfo] = None
    request_id: int = 0
    raw: Optional[np.ndarray] = None  # float32 [N, C, H, W] in [-1, 1] before rounding, when asked for
    # What the render was asked to capture besides the image (as stylegan3's renderer returns capture_layer
    # results): {"attention": {resolution: float32 [N, HW, HW/4]}}; read under the render's lock, so no
    # other forward can overwrite them, and callers never take the lock or read the network themselves.
    captures: dict = field(default_factory=dict)
    # A fast preview (issue 17): synthesis stopped at this resolution and upsampled to the full size; 0 = full.
    preview: int = 0


def load_model(key: str, device: torch.device, prepare: bool = True):
    """Model string -> (G on device in eval mode, ModelInfo).  Raises CheckpointError / ValueError.

    ``prepare`` makes the renderer's inference copy: parametrizations baked (prepare_for_inference)
    and channels-last where it is faster; the benchmark turns it off to time the module exactly as
    the checkpoint builds it.
    """
    from ganstudio.models import create_generator, get_spec

    if not isinstance(key, str) or not key.strip():
        raise ValueError("no model given: choose a shipped model or open a checkpoint")
    if key.startswith("registry:"):
        name, _, variant = key[len("registry:"):].partition(":")
        try:
            spec = get_spec(name)
        except KeyError as e:
            raise ValueError(e.args[0]) from None
        torch.manual_seed(0)  # untrained weights, but the same ones every time
        G = create_generator(name, **(spec.tiny if variant == "tiny" else {}))
        meta, class_names = {}, [f"class {i}" for i in range(G.c_dim)]
        label, untrained = f"{name}{' (tiny)' if variant == 'tiny' else ''} — untrained", True
    else:
        from ganstudio.pretrained import resolve
        path = resolve(key)
        from ganstudio.checkpoints.importers import open_any
        ck = open_any(path)
        G, meta = ck.G, ck.meta
        class_names = ck.class_names or [f"class {i}" for i in range(G.c_dim)]
        label, untrained = Path(path).name if Path(path).exists() else key, False
    G = G.eval().requires_grad_(False).to(device)
    if prepare:
        G = prepare_for_inference(G)
        if device.type == "cuda" or (device.type == "cpu" and G.cpu_channels_last):
            G = G.to(memory_format=torch.channels_last)  # faster convs (tensor cores; oneDNN on CPU)
    info = ModelInfo(key=key, label=label, model_name=G.model_name, family=get_spec(G.model_name).family,
                     capabilities=G.capabilities(), class_names=class_names, z_dim=G.z_dim, w_dim=G.w_dim,
                     num_ws=G.num_ws, c_dim=G.c_dim, resolution=G.img_resolution, channels=G.img_channels,
                     untrained=untrained, meta=meta, num_stages=int(getattr(G, "num_stages", 0) or 0),
                     own_stage=G.current_stage() if hasattr(G, "current_stage") else (0, 1.0),
                     code_sizes=(int(getattr(G, "info_cat", 0) or 0), int(getattr(G, "info_cont", 0) or 0)))
    return G, info


def prepare_for_inference(G):
    """Bake weight parametrizations (spectral norm) into plain weights; returns G.

    In eval mode spectral norm recomputes W / sigma on every forward from the stored u, v: the
    same value each time, yet a third of a small BigGAN's forward.  Baking computes that value
    once with the same ops, so images are bit-identical and renders of SN models get faster.
    The renderer's nets are private inference copies, so no training state is lost.
    """
    from torch.nn.utils import parametrize
    for m in G.modules():
        if parametrize.is_parametrized(m):
            for name in list(m.parametrizations.keys()):
                parametrize.remove_parametrizations(m, name, leave_parametrized=True)
    return G


# fp16 is "exact enough" when 8 probe images differ from fp32 by at most this many uint8 levels
# anywhere and by at most FP16_MEAN_LEVELS on average (a 4/255 step is invisible; NaN never is).
FP16_MAX_LEVELS = 4
FP16_MEAN_LEVELS = 0.1
PRECISIONS = ("auto", "fp32", "fp16")


def choose_precision(G, info: ModelInfo, device: torch.device, preference: str = "auto") -> tuple[str, str]:
    """-> (precision, note).  auto: fp16 on a GPU (CUDA, MPS) when the probe passes, else fp32;
    fp16: fp16 wherever the probe stays finite (slow on a CPU, but the user asked); fp32: fp32."""
    if preference not in PRECISIONS:
        raise ValueError(f"unknown precision {preference!r} ({', '.join(PRECISIONS)})")
    if preference == "fp32":
        return "fp32", "fp32 (chosen in View > Precision)"
    if preference == "auto" and device.type not in ("cuda", "mps"):
        return "fp32", f"fp32: half precision is only used on a GPU (rendering on {device.type})"
    try:
        worst, mean = _half_probe(G, info, device)
    except Exception as e:  # an op without a half kernel on this device, autocast unsupported...
        return "fp32", f"fp32: fp16 failed on {device.type} ({str(e).splitlines()[0][:120]})"
    measured = f"{worst} level{'' if worst == 1 else 's'} at most, {mean:.3f} on average, over 8 probe images"
    if worst < 0:
        return "fp32", "fp32: fp16 gave NaN or infinite values on the probe images"
    if preference == "fp16" or (worst <= FP16_MAX_LEVELS and mean <= FP16_MEAN_LEVELS):
        return "fp16", f"fp16 autocast: differs from fp32 by {measured}"
    return "fp32", f"fp32: fp16 would differ by {measured} (limit {FP16_MAX_LEVELS} / {FP16_MEAN_LEVELS})"


def _half_probe(G, info: ModelInfo, device: torch.device) -> tuple[int, float]:
    """(largest, mean) |uint8 difference| between fp32 and fp16-autocast renders; (-1, nan) on NaN."""
    z = latent.seeded_z(list(range(8)), info.z_dim, device=device)
    c = None if not info.c_dim else latent.class_vector(0, info.c_dim).to(device)[None].repeat(8, 1)
    if info.num_stages:
        G.set_stage(*info.own_stage)
    with torch.inference_mode():
        ref = G.synthesis(G.mapping(z, c), c, noise_mode="const").float()
        with torch.autocast(device_type=device.type, dtype=torch.float16):
            half = G.synthesis(G.mapping(z, c), c, noise_mode="const").float()
    if not bool(torch.isfinite(half).all()):
        return -1, float("nan")
    d = np.abs(to_uint8(half).astype(np.int16) - to_uint8(ref).astype(np.int16))
    return int(d.max()), float(d.mean())


class Renderer:
    """Renders RenderStates; caches networks and directions; thread-safe (one render at a time)."""

    def __init__(self, device: str | torch.device = "auto", cache_size: int = 3, precision: str = "auto"):
        self.device = device if isinstance(device, torch.device) else pick_device(device)
        if precision not in PRECISIONS:
            raise ValueError(f"unknown precision {precision!r} ({', '.join(PRECISIONS)})")
        self.precision = precision
        self.cache_size = cache_size
        self._nets: dict[str, tuple[Any, ModelInfo]] = {}  # insertion order = recency
        self._directions: dict[tuple, torch.Tensor] = {}
        self._stamps: dict[str, Optional[tuple]] = {}  # key -> the file's identity when load() read it
        self._z_cache: dict[tuple[int, int], torch.Tensor] = {}  # (seed, z_dim) -> z [1, z_dim], LRU
        self._c_cache: dict[tuple, torch.Tensor] = {}  # (class_weights, c_dim) -> c [1, c_dim]
        self._lock = threading.RLock()

    @property
    def lock(self) -> threading.RLock:
        """Hold it to run a cached generator yourself (e.g. read attention maps after a forward)."""
        return self._lock

    # -- models ------------------------------------------------------------------------------
    def load(self, key: str) -> ModelInfo:
        """Load (or fetch from cache) a model; errors propagate so the GUI can keep the old one.

        Opening a file again reads it again if it changed on disk since (an import --force, a retrain
        to the same path): the cache must not show the old network under the file's name.
        """
        with self._lock:
            stamp = _file_stamp(key)
            if key in self._nets and self._stamps.get(key) != stamp:
                self.forget(key)
            entry = self._get(key)
            self._stamps[key] = stamp
            return entry[1]

    def forget(self, key: str) -> None:
        """Drop a model and what was computed from it (directions) from the caches."""
        with self._lock:
            self._nets.pop(key, None)
            self._stamps.pop(key, None)
            for ck in [ck for ck in self._directions if ck[0] == key]:
                del self._directions[ck]

    def _get(self, key: str):
        with self._lock:
            if key in self._nets:
                self._nets[key] = self._nets.pop(key)
                return self._nets[key]
            entry = load_model(key, self.device)
            G, info = entry
            info.precision, info.precision_note = choose_precision(G, info, self.device, self.precision)
            self._nets[key] = entry
            while len(self._nets) > self.cache_size:
                self._nets.pop(next(iter(self._nets)))
            return entry

    def generator(self, key: str):
        return self._get(key)[0]

    # -- latents -----------------------------------------------------------------------------
    def encode(self, key: str, pixels: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, logvar) [z_dim] of an image (uint8 [H, W, C] at the model's size) under the model's encoder."""
        with self._lock, torch.no_grad():
            G, _ = self._get(key)
            mu, logvar = G.encode(image_tensor(pixels).to(self.device))
        return mu[0].float().cpu(), logvar[0].float().cpu()

    def directions(self, key: str, method: str, k: int = MAX_DIRECTIONS) -> torch.Tensor:
        """Cached PCA (GANSpace) or SeFa directions [k, dim] of a model: unit rows in w for style-based
        models, else in z (GANSpace's PCA of the first layer's activations, regressed onto z: not
        orthogonal).  Fewer than k where the samples have lower rank."""
        with self._lock:
            ck = (key, method, k)
            if ck not in self._directions:
                # Directions are computed once and reused: always in fp32, even inside an fp16 render.
                no_half = torch.autocast(device_type=self.device.type, enabled=False)
                G, info = self._get(key)
                k_eff = min(k, info.w_dim)
                with no_half:
                    if method == "pca":
                        c = self._class_vector(RenderState(), info)  # the default class
                        space = "w" if info.capabilities.style_layers else "z"
                        d, _ = latent.pca_directions(G, n_samples=2000, k=k_eff, space=space, seed=0, c=c)
                    elif method == "sefa":
                        d, _ = latent.sefa_directions(G, k=k_eff)
                    else:
                        raise ValueError(f"unknown direction method {method!r} (pca, sefa)")
                self._directions[ck] = d.to(self.device, torch.float32)
            return self._directions[ck]

    def cached_directions(self, key: str, method: str, k: int = MAX_DIRECTIONS) -> int:
        """How many directions ``directions(key, method, k)`` has already computed (0: none yet).
        Never waits: a panel asks it on the GUI thread while a computation may hold the lock."""
        d = self._directions.get((key, method, k))
        return 0 if d is None else len(d)

    def _class_vector(self, state: RenderState, info: ModelInfo) -> Optional[torch.Tensor]:
        if not info.c_dim:
            return None
        key = (state.class_weights, info.c_dim)
        c = self._c_cache.get(key)
        if c is None:  # blending is a dozen small tensor ops: keep the few blends in use (read-only)
            weights = dict(state.class_weights) or {0: 1.0}
            for k in weights:
                if not 0 <= k < info.c_dim:
                    raise ValueError(f"class {k} out of range (model has {info.c_dim} classes)")
            c = latent.class_blend(weights, info.c_dim).to(self.device)[None]
            if len(self._c_cache) >= 64:
                self._c_cache.pop(next(iter(self._c_cache)))
            self._c_cache[key] = c
        return c

    def _z(self, state: RenderState, info: ModelInfo) -> torch.Tensor:
        if state.z is not None:
            if len(state.z) != info.z_dim:
                raise ValueError(f"z has {len(state.z)} values, the model needs {info.z_dim}")
            z = _tensor(state.z, "z", self.device)[None]
            if (state.z_threshold is not None and info.capabilities.truncation == "z"
                    and info.capabilities.z_truncation == "resample"):
                # BigGAN's truncation redraws values beyond the threshold; an explicit z has no seed to
                # redraw from, so they are clipped (a blend of truncated z's is already within).  A scaled
                # truncation (BigGAN-deep) takes an explicit z as it is: there t picks the statistics.
                z = z.clamp(-state.z_threshold, state.z_threshold)
            return z
        if state.z_threshold is not None and info.capabilities.truncation == "z":
            draw = latent.scaled_truncated_z if info.capabilities.z_truncation == "scaled" else latent.truncated_z
            return _seed_codes(draw([state.seed], info.z_dim, state.z_threshold), info).to(self.device)
        # Seeding a fresh torch.Generator costs tens of microseconds, a fifth of a small model's
        # forward: keep the z of recently used seeds (read-only: edits clone before changing z).
        key = (state.seed, info.z_dim)
        z = self._z_cache.pop(key, None)
        if z is None:
            z = _seed_codes(latent.seeded_z([state.seed], info.z_dim), info).to(self.device)
            if len(self._z_cache) >= 256:
                self._z_cache.pop(next(iter(self._z_cache)))
        self._z_cache[key] = z
        return z

    def latents(self, state: RenderState):
        """The exact (z, c, ws) a render of ``state`` uses (for bookmarks and arithmetic bins)."""
        with self._lock:
            G, info = self._get(state.model)
            with torch.no_grad(), self._autocast(info):
                z, c, ws = self._latents(G, info, state)
        # z and c may be cached tensors, and ws a view of z (models without a mapping): hand out copies,
        # in float32 also where the mapping ran in fp16.
        return (None if z is None else z.clone()), (None if c is None else c.clone()), ws.float().clone()

    def _autocast(self, info: ModelInfo):
        if info.precision != "fp16":
            return contextlib.nullcontext()  # a disabled autocast still costs microseconds per render
        return torch.autocast(device_type=self.device.type, dtype=torch.float16)

    def _latents(self, G, info: ModelInfo, state: RenderState):
        caps = info.capabilities
        check_numbers(state)
        c = self._class_vector(state, info)
        psi = state.truncation_psi if caps.truncation == "w" else 1.0
        cutoff = state.truncation_cutoff if caps.truncation == "w" else None
        if state.ws is not None:
            ws = _tensor(state.ws, "ws", self.device)[None]
            if tuple(ws.shape[1:]) != (info.num_ws, info.w_dim):
                raise ValueError(f"ws has shape {list(ws.shape[1:])}, the model needs [{info.num_ws}, {info.w_dim}]")
            z = None
            if psi != 1.0 and getattr(G, "w_avg", None) is not None:
                ws = latent.truncate_w(ws, G.w_avg, psi, cutoff)
            if not caps.style_layers:  # no mapping network: this w is z, so raw z edits apply to it as they are
                ws = _z_space_edits(_raw_z_edits(ws, state.edits, info.z_dim), state, info)
            # With a mapping network an explicit w has no z to edit: raw z edits wait for a seed or z
            # (the Latent panel disables them and says so).
        else:
            z = _z_space_edits(_raw_z_edits(self._z(state, info), state.edits, info.z_dim), state, info)
            ws = G.mapping(z, c, truncation_psi=psi, truncation_cutoff=cutoff)
        if state.mix_sources is not None and caps.style_layers:  # an explicit ws mixes as a seed's does
            if len(state.mix_sources) != info.num_ws:
                raise ValueError(f"mix_sources has {len(state.mix_sources)} entries, the model has {info.num_ws} layers")
            sources = [ws] + [G.mapping(latent.seeded_z([s], info.z_dim, device=self.device), c,
                                        truncation_psi=psi, truncation_cutoff=cutoff) for s in state.mix_seeds]
            if max(state.mix_sources) >= len(sources) or min(state.mix_sources) < 0:
                raise ValueError("mix_sources names a latent that mix_seeds does not have")
            ws = latent.style_mix_sources(sources, list(state.mix_sources))
        for edit in state.edits:
            if edit.method in ("raw", "code") or not edit.alpha:
                continue
            if edit.method == "user":
                d = state.user_directions[edit.index]  # check_numbers checked the index
                if d.space == "z":
                    continue  # added to z above
                if len(d.vector) != info.w_dim:
                    raise ValueError(f"user direction {d.name!r} has {len(d.vector)} values, the model's w has {info.w_dim}")
                direction = _tensor(d.vector, "a user direction", self.device)
            elif edit.method == "w":  # one raw w dimension: a unit direction in w
                if not 0 <= edit.index < info.w_dim:
                    raise ValueError(f"w dimension {edit.index} out of range (0-{info.w_dim - 1})")
                direction = torch.zeros(info.w_dim, device=self.device)
                direction[edit.index] = 1.0
            else:
                d = self.directions(state.model, edit.method)
                if not 0 <= edit.index < len(d):
                    raise ValueError(f"{edit.method} direction {edit.index} out of range (0-{len(d) - 1})")
                direction = d[edit.index]
            layers = edit.layers
            if layers is not None and not 0 <= layers[0] <= layers[1] <= info.num_ws:
                raise ValueError(f"edit layers {layers[0]}-{layers[1]} out of range (the model has {info.num_ws})")
            layer_list = None if layers is None else list(range(*layers))
            ws = latent.apply_direction(ws, direction, edit.alpha, layer_list)
        return z, c, ws

    # -- rendering ---------------------------------------------------------------------------
    def render(self, state: RenderState, seeds: Optional[Sequence[int]] = None,
               capture: Sequence[str] = (), preview: int = 0) -> RenderResult:
        """Render a state (or the state at each of ``seeds`` as one batch); never raises.
        ``capture``: what else to return in ``RenderResult.captures`` (CAPTURES); ``preview`` (one of
        the model's ``preview_resolutions``): stop synthesis there and upsample, a cheap preview."""
        if seeds is not None:
            return self.render_batch([state.replace(seed=int(s), z=None, ws=None) for s in seeds], capture=capture,
                                     preview=preview)
        res = self.render_batch([state], capture=capture, preview=preview)
        if res.image is not None:
            res.image = res.image[0]
        return res

    def render_batch(self, states: Sequence[RenderState], raw: bool = False,
                     capture: Sequence[str] = (), preview: int = 0) -> RenderResult:
        """Render several states of one model as one batch -> image [N, H, W, C]; never raises.
        ``raw`` also hands back the float images before rounding (``RenderResult.raw``); ``capture``
        names what else to return in ``RenderResult.captures`` (CAPTURES)."""
        t0 = time.perf_counter()
        state = states[0] if states else RenderState()
        info = None
        try:
            if not states:
                raise ValueError("nothing to render")
            if any(s.model != state.model for s in states):
                raise ValueError("a batch must use one model")
            # inference_mode skips autograd's version counting: a few percent on small nets.
            with self._lock, torch.inference_mode():
                G, info = self._get(state.model)
                with self._autocast(info):
                    parts = [self._latents(G, info, s) for s in states]
                    if len(parts) == 1:
                        _, c, ws = parts[0]
                    else:
                        ws = torch.cat([p[2] for p in parts])
                        c = None if parts[0][1] is None else torch.cat([p[1] for p in parts])
                    with LayerCapture(G, capture) as layers:  # hooks for "layers" / "layer:NAME", removed after
                        img = self._synthesize(G, info, state, ws, c, preview, traceable=not capture)
                captures = {**_captures(G, info, capture), **layers.captures(len(states))}
            image = to_uint8(img)
            res = RenderResult(image, "", (time.perf_counter() - t0) * 1000, state, info, captures=captures,
                               preview=preview if preview and preview != info.resolution else 0)
            if raw:
                res.raw = img.detach().to("cpu", torch.float32).numpy()
            return res
        except Exception as e:  # the renderer reports, the caller decides
            msg = str(e) or type(e).__name__
            return RenderResult(None, msg, (time.perf_counter() - t0) * 1000, state, info)

    def _synthesize(self, G, info: ModelInfo, state: RenderState, ws, c, preview: int = 0,
                    traceable: bool = True):
        caps = info.capabilities
        kwargs: dict = {"noise_mode": state.noise_mode, "noise_strength": state.noise_strength}
        if preview and preview != info.resolution:
            if preview not in caps.preview_resolutions:
                raise ValueError(f"no preview at {preview} px for this model "
                                 f"(it has {list(caps.preview_resolutions) or 'none'})")
            kwargs["stop_at"] = preview
        if state.noise is not None and caps.noise_layers:
            if len(state.noise) != len(caps.noise_layers):
                raise ValueError(f"noise has {len(state.noise)} entries, the model has {len(caps.noise_layers)} noise layers")
            layers = [latent.NoiseLayer(mode=n.mode, seed=n.seed, strength=n.strength) for n in state.noise]
            kwargs["noise_inputs"] = latent.noise_inputs(G, layers, ws.shape[0], self.device)
        if getattr(G, "synthesis_truncation", False) and state.z_threshold is not None:
            # BigGAN-deep picks its BatchNorm statistics by the truncation value as well.
            kwargs["truncation"] = state.z_threshold
        if caps.input_transform and any(getattr(state, k) for k in INPUT_TRANSFORM_FIELDS):
            # Per call, never written into the cached net (other states share it).
            from ganstudio.models.stylegan3 import make_input_transform
            kwargs["input_transform"] = make_input_transform((state.input_translate_x, state.input_translate_y),
                                                             state.input_rotate)
        if caps.progressive:
            # The cached net is shared by every state: always set the stage, the model's own when unset.
            stage, alpha = (state.stage, state.stage_alpha) if state.stage is not None else info.own_stage
            if not 0 <= stage < info.num_stages:
                raise ValueError(f"stage {stage} out of range (0-{info.num_stages - 1})")
            G.set_stage(stage, alpha)
        if self.device.type == "cuda":
            ws = ws.contiguous()
        # Captures hook the modules, which a trace would skip: traced only without them.
        img = (_traced_synthesis(G, info, self.device, ws, c, kwargs) if traceable
               else G.synthesis(ws, c, **kwargs)).float()
        if "stop_at" in kwargs:  # a preview: shown at the model's size, so the view keeps its scale
            img = torch.nn.functional.interpolate(img, size=(info.resolution, info.resolution), mode="bilinear",
                                                  align_corners=False).clamp_(-1, 1)
        return img


# A small network's forward is mostly Python: a 32 px StyleGAN2 makes ~1,100 torch calls a frame, each
# holding the GIL the GUI thread needs for the same frame (issue 17: 9 ms a frame alone, 19-21 ms in the
# window while dragging).  A traced synthesis replays the same ops from C++: the same pixels, 11.3 -> 6.6 ms
# of CPU a frame on one thread (fmnist-stylegan2).  A call is traced once it repeats (a drag) and only where
# its eager forward takes under TRACE_BELOW_MS: in a slower one the Python is a small share.
TRACE_BELOW_MS = 50.0
_SEEN_ONCE = "seen once"


def _trace_key(G, info: ModelInfo, device: torch.device, ws, c, kwargs: dict) -> Optional[tuple]:
    """The key under which a synthesis call may be traced, or None where a trace could differ from eager
    (randomness, per-call inputs, half precision, a model that does not declare it traceable)."""
    if (not getattr(G, "trace_synthesis", False) or device.type != "cpu" or info.precision != "fp32" or c is not None
            or set(kwargs) != {"noise_mode", "noise_strength"} or kwargs["noise_mode"] not in ("const", "none")):
        return None
    return kwargs["noise_mode"], float(kwargs["noise_strength"]), tuple(ws.shape), ws.dtype


def _traced_synthesis(G, info: ModelInfo, device: torch.device, ws, c, kwargs: dict) -> torch.Tensor:
    """G.synthesis(ws, c, **kwargs), by a trace of it where one is kept (see TRACE_BELOW_MS)."""
    key = _trace_key(G, info, device, ws, c, kwargs)
    traces = G.__dict__.setdefault("_render_traces", {})  # dies with the cached network
    fn = traces.get(key) if key is not None else None
    if fn is _SEEN_ONCE:
        mode, strength = key[0], key[1]
        try:
            with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
                warnings.simplefilter("ignore")  # TracerWarnings about shapes: the shapes are in the key
                fn = torch.jit.trace(lambda w: G.synthesis(w, noise_mode=mode, noise_strength=strength), (ws,),
                                     check_trace=False)
        except Exception:  # an op the tracer cannot record: this call stays eager
            fn = None
        traces[key] = fn
    if fn is not None:
        return fn(ws)
    t0 = time.perf_counter()
    img = G.synthesis(ws, c, **kwargs)
    if key is not None and key not in traces and (time.perf_counter() - t0) * 1000 < TRACE_BELOW_MS:
        while len(traces) >= 4:
            traces.pop(next(iter(traces)))
        traces[key] = _SEEN_ONCE
    return img


CAPTURES = ("attention", "layers")  # and "layer:NAME" for any name in captures["layers"] (engine/layers.py)


def _captures(G, info: ModelInfo, names: Sequence[str]) -> dict:
    """What the forward just run left behind that the caller asked for, copied off the network."""
    out: dict = {}
    for name in names:
        if not isinstance(name, str) or (name not in CAPTURES and not is_layer_capture(name)):
            raise ValueError(f"unknown capture {name!r} (one of {', '.join(CAPTURES)}, layer:NAME)")
        if name == "attention":
            maps = G.attention_maps() if info.capabilities.attention else {}
            out[name] = {int(r): a.detach().float().cpu().numpy() for r, a in maps.items()}
    return out


def _file_stamp(key: str) -> Optional[tuple]:
    """(size, mtime) of a checkpoint file, and of the files of a checkpoint folder; None for a
    registry model or a path that is not there (the loader then says why)."""
    if key.startswith("registry:"):
        return None
    from ganstudio.pretrained import resolve
    path = resolve(key)
    try:
        st = path.stat()
        if not path.is_dir():
            return (st.st_size, st.st_mtime_ns)
        return tuple(sorted((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in path.iterdir() if f.is_file()))
    except OSError:
        return None


def _raw_z_edits(z: torch.Tensor, edits, z_dim: int) -> torch.Tensor:
    """z (or a w that is z, [N, 1, z_dim]) with the state's raw z edits added; never changes ``z``
    in place (it may be a cached tensor)."""
    for edit in edits:
        if edit.method == "raw":
            if not 0 <= edit.index < z_dim:
                raise ValueError(f"z dimension {edit.index} out of range")
            z = z.clone()
            z[..., edit.index] += edit.alpha
    return z


def _seed_codes(z: torch.Tensor, info: ModelInfo) -> torch.Tensor:
    """A seed's z with its InfoGAN code dims drawn from the codes' priors (latent.codes); others unchanged."""
    if not any(info.code_sizes):
        return z
    from ganstudio.latent import codes
    return codes.codes_from_normal(z, codes.layout_of(info))


def _z_space_edits(z: torch.Tensor, state: RenderState, info: ModelInfo) -> torch.Tensor:
    """z (or a w that is z, [N, 1, z_dim]) with the state's InfoGAN code settings and z-space user
    directions applied; never in place.  Codes are set first, so a user direction adds on top."""
    codes_set = [e for e in state.edits if e.method == "code"]
    if codes_set:
        from ganstudio.latent import codes
        layout = codes.layout_of(info)
        category, values = None, {}
        for e in codes_set:
            if e.index == 0:  # the nearest category: a timeline blending two keys' categories switches halfway
                category = int(round(e.alpha))
            else:
                values[e.index] = e.alpha
        z = codes.set_codes(z, layout, category, values)
    for e in state.edits:
        if e.method == "user" and e.alpha and state.user_directions[e.index].space == "z":
            d = state.user_directions[e.index]
            if len(d.vector) != info.z_dim:
                raise ValueError(f"user direction {d.name!r} has {len(d.vector)} values, the model's z has {info.z_dim}")
            z = z + e.alpha * _tensor(d.vector, "a user direction", z.device).to(z.dtype)
    return z


def _tensor(values, name: str, device) -> torch.Tensor:
    """An explicit z or ws from a state as float32, with a clear error for text, ragged rows or NaN."""
    try:
        t = torch.tensor(values, dtype=torch.float32, device=device)
    except (TypeError, ValueError, RuntimeError):
        raise ValueError(f"{name} must be a list of numbers{' per layer' if name == 'ws' else ''}") from None
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} contains NaN or infinite values")
    return t
