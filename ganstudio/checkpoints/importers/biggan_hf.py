"""BigGAN-deep from the pytorch-pretrained-biggan package (Hugging Face's TF-Hub conversion).

Its ``save_pretrained`` layout is a folder with ``config.json`` (output_dim, z_dim, channel_width,
num_classes, layers, attention_layer_position, eps, n_stats) and ``pytorch_model.bin`` (the
state dict of ``BigGAN``: ``embeddings`` and ``generator.*``).  A lone ``pytorch_model.bin`` is
accepted too: the config is then read from a ``config.json`` beside it, or inferred from the
tensor shapes (the release alternates plain and upsampling blocks; eps is then assumed 1e-4).

Weights map by renaming onto our "biggan-deep" generator, except that spectral norm is folded
in: ``weight = weight_orig / (u . (W v))`` with the stored u and v, exactly what the reference
computes in eval mode.  ``conv_to_rgb`` keeps only the 3 output channels the reference uses.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Optional

import torch

from ganstudio.checkpoints import CheckpointError
from ganstudio.checkpoints.importers._common import create_checked, is_state_dict, load_exact, tensors_only

NAME = "biggan-deep-hf"
DESCRIPTION = "BigGAN-deep from pytorch-pretrained-biggan (folder with config.json + pytorch_model.bin)"
PRIORITY = 20

_WEIGHTS = ("pytorch_model.bin", "model.safetensors")
_ATTN = {"snconv1x1_theta": "theta", "snconv1x1_phi": "phi", "snconv1x1_g": "g", "snconv1x1_o_conv": "o"}


def _is_biggan_sd(sd: Any) -> bool:
    return is_state_dict(sd) and "embeddings.weight" in sd and any(k.startswith("generator.gen_z.") for k in sd)


def _split(obj: Any) -> Optional[tuple[Optional[dict], dict]]:
    """(config or None, state dict) if obj is a BigGAN-deep folder or state dict."""
    if isinstance(obj, dict) and "config.json" in obj:
        sd = next((obj[w] for w in _WEIGHTS if w in obj), None)
        if _is_biggan_sd(sd):
            return obj["config.json"], tensors_only(sd)
        return None
    if _is_biggan_sd(obj):
        return None, tensors_only(obj)
    return None


def sniff(path, obj) -> bool:
    return _split(obj) is not None


def _sibling_config(path: Path) -> Optional[dict]:
    cfg = path.parent / "config.json" if path.is_file() else None
    if cfg is None or not cfg.is_file():
        return None
    try:
        data = json.loads(cfg.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{cfg}: not valid JSON: {e}") from None
    return data if isinstance(data, dict) else None


def _infer_config(sd: dict[str, torch.Tensor], path: Path) -> tuple[dict, list[str]]:
    """A pytorch-pretrained-biggan config read off the tensor shapes."""
    try:
        z_dim, num_classes = sd["embeddings.weight"].shape
        ch = sd["generator.conv_to_rgb.weight_orig"].shape[0]
        n_stats = sd["generator.bn.running_means"].shape[0]
    except KeyError as e:
        raise CheckpointError(f"{path}: BigGAN-deep weights without {e.args[0]}") from None
    idx = sorted({int(m.group(1)) for k in sd if (m := re.match(r"generator\.layers\.(\d+)\.", k))})
    layers, attention = [], len(idx) + 1
    for i in idx:
        p = f"generator.layers.{i}."
        if p + "snconv1x1_theta.weight_orig" in sd:
            attention = len(layers)
            continue
        a = sd[p + "bn_0.running_means"].shape[1] // ch
        b = sd[p + "conv_3.weight_orig"].shape[0] // ch
        layers.append([len(layers) % 2 == 1, a, b])
    ups = sum(u for u, _, _ in layers)
    config = dict(output_dim=4 * 2 ** ups, z_dim=z_dim, class_embed_dim=z_dim, channel_width=ch,
                  num_classes=num_classes, layers=layers, attention_layer_position=attention, eps=1e-4,
                  n_stats=n_stats)
    return config, ["no config.json: architecture inferred from tensor shapes (every second block upsamples, "
                    "eps 1e-4)"]


def _fold_sn(sd: dict[str, torch.Tensor], prefix: str, path: Path) -> torch.Tensor:
    """The weight a spectrally normalized module uses at inference: weight_orig / sigma(u, v)."""
    w = sd.get(prefix + "weight_orig")
    if w is None:
        if prefix + "weight" in sd:
            return sd[prefix + "weight"]
        raise CheckpointError(f"{path}: BigGAN-deep weights lack {prefix}weight_orig")
    u, v = sd.get(prefix + "weight_u"), sd.get(prefix + "weight_v")
    if u is None or v is None:
        if prefix + "weight" in sd:  # pre-1.0 PyTorch kept the normalized weight itself
            return sd[prefix + "weight"]
        raise CheckpointError(f"{path}: spectral norm vectors missing for {prefix}weight_orig")
    return w / torch.dot(u, torch.mv(w.flatten(1), v))  # the reference's own arithmetic, in its dtype


def _rename(sd: dict[str, torch.Tensor], img_channels: int, path: Path) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    sn_prefixes = sorted({k[:-len("weight_orig")] for k in sd if k.endswith("weight_orig")})
    for k, v in sd.items():
        if k.endswith(("weight_orig", "weight_u", "weight_v")):
            continue
        if k.endswith(".weight") and k[:-len("weight")] in sn_prefixes:
            continue  # old files keep the normalized weight beside weight_orig; _fold_sn uses it
        out[k] = v
    for p in sn_prefixes:
        out[p + "weight"] = _fold_sn(sd, p, path)
    renamed: dict[str, torch.Tensor] = {}
    for k, v in out.items():
        if k.startswith("generator."):
            k = k[len("generator."):]
        for theirs, ours in _ATTN.items():
            k = k.replace(f".{theirs}.", f".{ours}.")
        if re.fullmatch(r"layers\.\d+\.gamma", k):
            v = v.reshape(())
        if k.startswith("conv_to_rgb."):
            v = v[:img_channels]  # the reference computes all channels, then keeps the first 3
        renamed[k] = v.contiguous()
    return renamed


def _our_config(cfg: dict, path: Path) -> dict:
    try:
        layers = tuple((bool(u), int(a), int(b)) for u, a, b in cfg["layers"])
        out = dict(img_resolution=int(cfg["output_dim"]), z_dim=int(cfg["z_dim"]), c_dim=int(cfg["num_classes"]),
                   channel_width=int(cfg["channel_width"]), layers=layers,
                   attention_layer_position=int(cfg["attention_layer_position"]),
                   eps=float(cfg.get("eps", 1e-4)), n_stats=int(cfg.get("n_stats", 51)))
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: config.json is not a pytorch-pretrained-biggan config ({e!r})") from None
    if out["attention_layer_position"] < 0:
        out["attention_layer_position"] = len(layers)  # the reference never matches a negative index
    return out


def convert(path, obj):
    from ganstudio.resources_data import imagenet_class_names

    path = Path(path)
    split = _split(obj)
    if split is None:
        raise CheckpointError(f"{path}: not a pytorch-pretrained-biggan checkpoint")
    cfg, sd = split
    notes: list[str] = []
    if cfg is None:
        cfg = _sibling_config(path)
        if cfg is None:
            cfg, notes = _infer_config(sd, path)
    config = _our_config(cfg, path)
    G = create_checked("biggan-deep", path, f"{path}: config.json describes no valid BigGAN-deep", **config)
    load_exact(G, _rename(sd, G.img_channels, path), path, "BigGAN-deep")
    names = imagenet_class_names() if G.c_dim == 1000 else []
    res = G.img_resolution
    return G, {"class_names": names, "notes": notes,
               "details": {"output_dim": res, "channel_width": config["channel_width"], "n_stats": config["n_stats"],
                           "blocks": len(config["layers"])},
               "summary": f"pytorch-pretrained-biggan BigGAN-deep {res}: ch={config['channel_width']}, "
                          f"{len(config['layers'])} blocks, {G.c_dim} classes, {config['n_stats']} truncation "
                          "statistics"}
