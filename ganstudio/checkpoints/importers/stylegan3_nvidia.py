"""NVIDIA StyleGAN3 (alias-free) network pickles: ``stylegan3-t-*.pkl``, ``stylegan3-r-*.pkl`` and snapshots.

The file is read by the same restricted unpickler as StyleGAN2 pickles (:mod:`._unpickle`): the
``torch_utils.persistence`` records come back as inert data and their embedded source is never run.
A StyleGAN3 generator is told from a StyleGAN2 one by its synthesis network: a Fourier-feature
``input`` and layers named ``L{i}_{size}_{channels}`` instead of ``b4 ... b{res}`` blocks; this
importer sniffs before the StyleGAN2 one.

Our "stylegan3-t" / "stylegan3-r" models use NVIDIA's module names, so the state dict (weights,
the designed filters, Fourier frequencies and phases, magnitude averages, the input transform)
loads as is.  The configuration comes from the shapes, the recorded layer attributes (sampling
rates, cutoffs, sizes, clamp) and the init kwargs; the frequency plan our model derives from it
is then checked against every recorded layer, so a network we would render differently is refused
instead of imported wrong.
"""
from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Optional

import torch

from ganstudio.checkpoints import CheckpointError
from ganstudio.checkpoints.importers._common import create_checked, load_exact
from ganstudio.checkpoints.importers._unpickle import PersistentObject

NAME = "stylegan3-nvidia"
DESCRIPTION = "NVIDIA StyleGAN3 (alias-free, -T / -R) network pickle (.pkl with G_ema)"
PRIORITY = 19  # before stylegan2-nvidia, which would take any NVIDIA generator record

_NETWORK_KEYS = ("G_ema", "G")
_LAYER = re.compile(r"L(\d+)_(\d+)_(\d+)")
# Layer attributes NVIDIA records that our frequency plan must reproduce (name in the record, in LayerSpec).
_PLAN_ATTRS = ("in_sampling_rate", "out_sampling_rate", "in_cutoff", "out_cutoff", "in_half_width",
               "out_half_width")


def _is_stylegan3(rec: Any) -> bool:
    if not isinstance(rec, PersistentObject) or rec.class_name != "Generator":
        return False
    syn = rec.child("synthesis")
    return syn is not None and ("input" in syn.children or any(_LAYER.fullmatch(k) for k in syn.children))


def _network(obj: Any) -> Optional[tuple[str, PersistentObject]]:
    if _is_stylegan3(obj):
        return "<top level>", obj
    if isinstance(obj, dict):
        for k in _NETWORK_KEYS:
            if _is_stylegan3(obj.get(k)):
                return k, obj[k]
    return None


def sniff(path, obj) -> bool:
    """An NVIDIA persistence pickle whose generator has a StyleGAN3 synthesis network."""
    return _network(obj) is not None


def _num(v: Any, what: str, path: Path) -> float:
    try:
        x = float(v if not hasattr(v, "reshape") else v.reshape(-1)[0])
    except (TypeError, ValueError, IndexError):
        raise CheckpointError(f"{path}: {what} is not a number ({type(v).__name__})") from None
    if not math.isfinite(x):
        raise CheckpointError(f"{path}: {what} is not finite")
    return x


def _layers(path: Path, syn: PersistentObject) -> list[tuple[str, PersistentObject]]:
    found = sorted((int(m.group(1)), k) for k in syn.children if (m := _LAYER.fullmatch(k)))
    if not found or [i for i, _ in found] != list(range(len(found))):
        raise CheckpointError(f"{path}: the synthesis layers {[k for _, k in found] or 'none'} are not "
                              "L0_..., L1_..., ... in order")
    if len(found) < 3 or syn.child("input") is None:
        raise CheckpointError(f"{path}: a StyleGAN3 synthesis network needs an input and at least 3 layers")
    out = []
    for _, k in found:
        rec = syn.child(k)
        if rec is None:
            raise CheckpointError(f"{path}: synthesis.{k} is not a network record")
        out.append((k, rec))
    return out


def _mapping_config(path: Path, G: PersistentObject, sd: dict[str, torch.Tensor]) -> dict:
    n_fc = 0
    while f"mapping.fc{n_fc}.weight" in sd:
        n_fc += 1
    if n_fc == 0:
        raise CheckpointError(f"{path}: the mapping network has no fc0 layer")
    w_dim = sd[f"mapping.fc{n_fc - 1}.weight"].shape[0]
    c_dim = sd["mapping.embed.weight"].shape[1] if "mapping.embed.weight" in sd else 0
    embed = sd["mapping.embed.weight"].shape[0] if c_dim else 0
    hidden = {sd[f"mapping.fc{i}.weight"].shape[0] for i in range(n_fc - 1)}
    if (c_dim and embed != w_dim) or hidden - {w_dim}:
        raise CheckpointError(f"{path}: the mapping network's embed/hidden widths differ from w_dim={w_dim}")
    mapping = G.child("mapping")
    fc0 = mapping.child("fc0") if mapping is not None else None
    lr = fc0.attr("bias_gain") if fc0 is not None else None
    beta = mapping.attr("w_avg_beta") if mapping is not None else None
    return dict(z_dim=int(sd["mapping.fc0.weight"].shape[1] - embed), w_dim=int(w_dim), c_dim=int(c_dim),
                mapping_layers=n_fc,
                mapping_lr_multiplier=0.01 if lr is None else _num(lr, "mapping.fc0.bias_gain", path),
                w_avg_beta=0.998 if beta is None else _num(beta, "mapping.w_avg_beta", path))


def _channel_base(kw: dict, channels: list[int], cutoffs: list[float], channel_max: int) -> Optional[int]:
    """A channel_base for which rint(min(base / 2 / cutoff, channel_max)) gives every layer's channels."""
    fits = lambda b: all(round(min(b / 2 / f, channel_max)) == c for c, f in zip(channels, cutoffs))  # noqa: E731
    cands = [kw.get("channel_base"), 32768, 65536] + [round(2 * c * f) for c, f in zip(channels, cutoffs)]
    return next((int(b) for b in cands if isinstance(b, (int, float)) and b > 0 and fits(b)), None)


def _synthesis_config(path: Path, G: PersistentObject, sd: dict[str, torch.Tensor]) -> dict:
    syn = G.child("synthesis")
    layers = _layers(path, syn)
    kw = G.init_kwargs
    first, last = layers[0][1], layers[-1][1]
    weight = sd.get(f"synthesis.{layers[0][0]}.weight")
    if weight is None or weight.ndim != 4:
        raise CheckpointError(f"{path}: synthesis.{layers[0][0]} has no 4-d weight")
    res = syn.attr("img_resolution", G.attr("img_resolution", last.attr("out_sampling_rate")))
    res = int(_num(res, "img_resolution", path))
    channels = [int(sd[f"synthesis.{k}.weight"].shape[0]) for k, _ in layers[:-1]]
    cutoffs = [_num(r.attr("out_cutoff"), f"{k}.out_cutoff", path) for k, r in layers[:-1]]
    channel_max = int(kw.get("channel_max") or max(channels))
    base = _channel_base(kw, channels, cutoffs, channel_max)
    if base is None:
        raise CheckpointError(f"{path}: the channels per layer {channels} do not follow min(channel_base / 2 / "
                              "cutoff, channel_max); GAN Studio cannot represent this network")
    in_rate = _num(first.attr("in_sampling_rate"), "L0.in_sampling_rate", path)
    tmp_rate = _num(first.attr("tmp_sampling_rate", 2 * in_rate), "L0.tmp_sampling_rate", path)
    up_factor = int(_num(first.attr("up_factor", 2), "L0.up_factor", path))
    up_filter = sd.get(f"synthesis.{layers[0][0]}.up_filter")
    conv_clamp = last.attr("conv_clamp", kw.get("conv_clamp", 256))
    margin = syn.attr("margin_size", kw.get("margin_size"))
    size0 = _num(syn.child("input").attr("size", 0), "input.size", path)
    return dict(
        img_resolution=res, img_channels=int(sd[f"synthesis.{layers[-1][0]}.weight"].shape[0]),
        channel_base=base, channel_max=channel_max, num_layers=len(layers) - 1,
        num_critical=int(syn.attr("num_critical", sum(bool(r.attr("is_critically_sampled")) for _, r in layers) - 1)),
        first_cutoff=_num(first.attr("in_cutoff"), "L0.in_cutoff", path),
        first_stopband=_num(kw.get("first_stopband", 2 ** 2.1), "first_stopband", path),
        last_stopband_rel=_num(kw.get("last_stopband_rel", 2 ** 0.3), "last_stopband_rel", path),
        margin_size=int(_num(margin, "margin_size", path)) if margin is not None else int(size0 - in_rate) // 2,
        output_scale=_num(syn.attr("output_scale", kw.get("output_scale", 0.25)), "output_scale", path),
        conv_kernel=int(weight.shape[-1]),
        filter_size=int(up_filter.shape[0] // up_factor) if up_filter is not None and up_factor > 1 else 6,
        lrelu_upsampling=int(round(tmp_rate / in_rate)),
        use_radial_filters=any(k.endswith(".down_filter") and v.ndim == 2 for k, v in sd.items()),
        conv_clamp=None if conv_clamp is None else _num(conv_clamp, "conv_clamp", path),
        magnitude_ema_beta=_num(last.attr("magnitude_ema_beta", 0.999), "magnitude_ema_beta", path),
    )


def _check_plan(path: Path, G, rec: PersistentObject) -> None:
    """Every recorded layer attribute agrees with the plan our model derived from the inferred config."""
    layers = _layers(path, rec.child("synthesis"))
    names = [k for k, _ in layers]
    if names != G.synthesis.layer_names:  # the names carry each layer's size and channels
        raise CheckpointError(f"{path}: the synthesis layers {', '.join(names)} differ from those of the inferred "
                              f"network ({', '.join(G.synthesis.layer_names)}); GAN Studio cannot represent it")
    for (name, layer), mine in zip(layers, G.synthesis.layers()):
        spec = mine.spec._asdict()
        for attr in _PLAN_ATTRS:
            v = layer.attr(attr)
            if v is not None and not math.isclose(_num(v, f"{name}.{attr}", path), spec[attr], rel_tol=1e-6,
                                                  abs_tol=1e-9):
                raise CheckpointError(f"{path}: synthesis.{name}.{attr} is {float(v):g} but the frequency plan "
                                      f"of its configuration gives {spec[attr]:g}; GAN Studio cannot represent "
                                      "this network")
        for attr, want in (("padding", list(mine.padding)), ("up_factor", mine.up_factor),
                           ("down_factor", mine.down_factor)):
            v = layer.attr(attr)
            if v is not None and [int(x) for x in (v if isinstance(v, (list, tuple)) else [v])] != \
                    (want if isinstance(want, list) else [want]):
                raise CheckpointError(f"{path}: synthesis.{name}.{attr} is {v} where the inferred network has "
                                      f"{want}; GAN Studio cannot represent this network")


def convert(path, obj):
    path = Path(path)
    found = _network(obj)
    if found is None:
        raise CheckpointError(f"{path}: no StyleGAN3 G_ema or G generator record in this pickle")
    where, rec = found
    sd = rec.state_dict()
    if "mapping.w_avg" not in sd:
        raise CheckpointError(f"{path}: the generator has no mapping.w_avg (needed for truncation)")
    cfg = {**_mapping_config(path, rec, sd), **_synthesis_config(path, rec, sd)}
    name = "stylegan3-r" if cfg["conv_kernel"] == 1 else "stylegan3-t"
    G = create_checked(name, path, f"{path}: the inferred StyleGAN3 configuration is invalid", **cfg)
    _check_plan(path, G, rec)
    load_exact(G, {k: v.float() for k, v in sd.items()}, path, f"StyleGAN3 {where}")
    details = {"network": where, "configuration": name.rpartition("-")[2].upper(),
               **{k: cfg[k] for k in ("img_resolution", "z_dim", "w_dim", "c_dim", "mapping_layers", "num_layers",
                                      "channel_base", "channel_max")}}
    return G, {"class_names": [], "details": details}
