"""NVIDIA StyleGAN2 / StyleGAN2-ADA PyTorch network pickles (``network-snapshot-*.pkl``, ``ffhq.pkl`` ...).

The pickle is a dict with ``G``, ``D``, ``G_ema`` (and ``augment_pipe``, ``training_set_kwargs``)
whose networks are ``torch_utils.persistence`` records; :mod:`._unpickle` reads them as inert
records without running their embedded source.  ``G_ema`` (the generator NVIDIA renders with)
is converted: our "stylegan2" family uses NVIDIA's module names, so its state dict loads as is.
The architecture is read from the tensor shapes (resolution, channels, mapping depth, z/w/c
dims) and from the recorded init kwargs and layer attributes where shapes do not tell
(mapping lr multiplier, conv clamp, output architecture).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Optional

import torch

from ganstudio.checkpoints import CheckpointError
from ganstudio.checkpoints.importers._common import create_checked, load_exact
from ganstudio.checkpoints.importers._unpickle import PersistentObject

NAME = "stylegan2-nvidia"
DESCRIPTION = "NVIDIA StyleGAN2 / StyleGAN2-ADA PyTorch network pickle (.pkl with G_ema)"
PRIORITY = 20

_NETWORK_KEYS = ("G_ema", "G")


def _network(obj: Any) -> Optional[tuple[str, PersistentObject]]:
    if isinstance(obj, PersistentObject) and obj.class_name == "Generator":
        return "<top level>", obj
    if isinstance(obj, dict):
        for k in _NETWORK_KEYS:
            v = obj.get(k)
            if isinstance(v, PersistentObject) and v.class_name == "Generator":
                return k, v
    return None


def sniff(path, obj) -> bool:
    """An NVIDIA persistence pickle holding a generator (StyleGAN3 ones: stylegan3-nvidia sniffs first)."""
    return _network(obj) is not None


def _gain(rec: Optional[PersistentObject], name: str, default: float) -> float:
    v = rec.attr(name) if rec is not None else None
    try:
        return float(v) if v is not None else default
    except (TypeError, ValueError):
        return default


def _infer_config(path: Path, G: PersistentObject, sd: dict[str, torch.Tensor]) -> dict:
    mapping, synthesis = G.child("mapping"), G.child("synthesis")
    if mapping is None or synthesis is None:
        raise CheckpointError(f"{path}: the generator record has no mapping/synthesis submodules")
    blocks = sorted(int(m.group(1)) for k in synthesis.children if (m := re.fullmatch(r"b(\d+)", k)))
    if not blocks or "synthesis.b4.const" not in sd:
        layers = [k for k in synthesis.children][:3]
        if any(k.startswith("L") for k in layers) or "input" in synthesis.children:
            raise CheckpointError(f"{path}: a StyleGAN3 (alias-free) generator; GAN Studio imports StyleGAN2 "
                                  "networks only")
        raise CheckpointError(f"{path}: the generator's synthesis network has no b4 ... b<res> blocks "
                              f"(found {', '.join(layers) or 'nothing'}); not a StyleGAN2 network")
    res = blocks[-1]
    if blocks != [2 ** i for i in range(2, res.bit_length())]:
        raise CheckpointError(f"{path}: synthesis blocks {blocks} are not 4, 8, ..., {res}")
    n_fc = 0
    while f"mapping.fc{n_fc}.weight" in sd:
        n_fc += 1
    if n_fc == 0:
        raise CheckpointError(f"{path}: the mapping network has no fc0 layer")
    w_dim = sd[f"mapping.fc{n_fc - 1}.weight"].shape[0]
    c_dim = sd["mapping.embed.weight"].shape[1] if "mapping.embed.weight" in sd else 0
    embed = sd["mapping.embed.weight"].shape[0] if c_dim else 0
    z_dim = sd["mapping.fc0.weight"].shape[1] - embed
    hidden = {sd[f"mapping.fc{i}.weight"].shape[0] for i in range(n_fc - 1)}
    if (c_dim and embed != w_dim) or hidden - {w_dim}:
        raise CheckpointError(f"{path}: the mapping network's embed/hidden widths differ from w_dim={w_dim}; "
                              "GAN Studio's StyleGAN2 uses w_dim for both")
    ch = {r: sd[f"synthesis.b{r}.conv1.weight"].shape[0] for r in blocks}
    kw = G.init_kwargs
    syn_kw = dict(kw.get("synthesis_kwargs") or {})
    map_kw = dict(kw.get("mapping_kwargs") or {})
    channel_max = ch[4]
    candidates = [syn_kw.get("channel_base"), ch[res] * res]
    channel_base = next((int(b) for b in candidates if isinstance(b, (int, float)) and b > 0
                         and all(min(int(b) // r, channel_max) == ch[r] for r in blocks)), None)
    if channel_base is None:
        raise CheckpointError(f"{path}: channels per resolution {ch} do not follow min(channel_base / res, "
                              "channel_max); GAN Studio cannot represent this network")
    last = synthesis.child(f"b{res}")
    if all(f"synthesis.b{r}.torgb.weight" in sd for r in blocks):
        arch = "skip"
    elif any(f"synthesis.b{r}.skip.weight" in sd for r in blocks):
        arch = "resnet"
    else:
        arch = "orig"
    conv1 = last.child("conv1") if last is not None else None
    conv_clamp = conv1.attr("conv_clamp") if conv1 is not None else syn_kw.get("conv_clamp")
    taps = sd["synthesis.b4.resample_filter"].sum(dim=0)  # the 2-D filter is the outer product of taps/sum
    taps_t = tuple(round(float(t), 8) for t in taps) if not torch.allclose(
        taps, torch.tensor([1.0, 3.0, 3.0, 1.0]) / 8, atol=1e-7) else (1, 3, 3, 1)
    fc0 = mapping.child("fc0")
    return dict(
        z_dim=int(z_dim), w_dim=int(w_dim), c_dim=int(c_dim), img_resolution=int(res),
        img_channels=int(sd[f"synthesis.b{res}.torgb.weight"].shape[0]), mapping_layers=n_fc,
        mapping_lr_multiplier=_gain(fc0, "bias_gain", float(map_kw.get("lr_multiplier", 0.01))),
        w_avg_beta=float(map_kw.get("w_avg_beta") or mapping.attr("w_avg_beta") or 0.995),
        channel_base=channel_base, channel_max=int(channel_max),
        conv_clamp=None if conv_clamp is None else float(conv_clamp), architecture=arch, resample_filter=taps_t,
        use_noise="synthesis.b4.conv1.noise_const" in sd,
    )


def convert(path, obj):
    path = Path(path)
    found = _network(obj)
    if found is None:
        raise CheckpointError(f"{path}: no G_ema or G generator record in this pickle")
    where, rec = found
    sd = rec.state_dict()
    if "mapping.w_avg" not in sd:
        raise CheckpointError(f"{path}: the generator has no mapping.w_avg (needed for truncation)")
    cfg = _infer_config(path, rec, sd)
    G = create_checked("stylegan2", path, f"{path}: the inferred StyleGAN2 configuration is invalid", **cfg)
    load_exact(G, {k: v.float() for k, v in sd.items()}, path, f"StyleGAN2 {where}")
    details = {"network": where, **{k: cfg[k] for k in ("img_resolution", "z_dim", "w_dim", "c_dim", "mapping_layers",
                                                           "channel_base", "channel_max", "architecture")}}
    return G, {"class_names": [], "details": details}
