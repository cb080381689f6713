"""facebookresearch/pytorch_GAN_zoo checkpoints: PGAN onto our "progan", DCGAN onto our "dcgan".

The zoo saves ``{"config": <its BaseConfig>, "netG": ..., "netD": ..., "avgG": ...}`` with
torch.save.  The config is an instance of ``models.utils.config.BaseConfig`` (a bare attribute
holder); a weights-only load builds the inert :class:`ZooConfig` in its place, so nothing from
the zoo is imported or run.  ``avgG`` (the running average of G, what the zoo renders with) is
preferred over ``netG``.

PGAN (``models/networks/progressive_conv_net.py``): equalized layers wrap the torch layer as
``.module`` and multiply the layer's *output* (bias included) by sqrt(2 / fan_in); our progan
scales only the weight, so biases are multiplied by that constant here.  Its fade-in weight
``alpha`` runs the other way from ours.  The output is linear for WGAN-GP / logistic losses and
tanh for the DCGAN / MSE losses.

DCGAN (``models/networks/DCGAN_nets.py``): ``formatLayer`` (the 4x4 projection), then
``main.batchNorm0``, ``main.convTranspose{k}`` / ``main.batchNorm{k}``, ``main.outlayer`` --
the same computation as our dcgan's ``main.N`` stack, renamed; a linear output (WGAN-GP) is clamped
rather than squeezed by a tanh.  The zoo renders in train mode (each batch's own BatchNorm
statistics) and its avgG only averages weights, so an avgG whose statistics never moved gets them
measured over seeded samples.
"""
from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Mapping

import torch

from ganstudio.checkpoints import CheckpointError
from ganstudio.checkpoints.importers._common import create_checked, find_state_dict, load_exact

NAME = "gan-zoo"
DESCRIPTION = "facebookresearch pytorch_GAN_zoo PGAN or DCGAN checkpoint (.pth with config/netG/avgG)"
PRIORITY = 30

_PREFERRED = ("avgG", "netG")
_TANH_LOSSES = ("DCGAN", "MSE")


class ZooConfig:
    """Inert stand-in for the zoo's ``BaseConfig``: only its attributes are kept."""


SAFE_GLOBALS = [(ZooConfig, "models.utils.config.BaseConfig")]


def _config(obj: Any) -> dict:
    cfg = obj.get("config") if isinstance(obj, Mapping) else None
    if isinstance(cfg, ZooConfig):
        return dict(vars(cfg))
    return dict(cfg) if isinstance(cfg, Mapping) else {}


def _is_pgan(sd: dict) -> bool:
    return "formatLayer.module.weight" in sd and "toRGBLayers.0.module.weight" in sd


def _is_dcgan(sd: dict) -> bool:
    return "formatLayer.weight" in sd and "main.outlayer.weight" in sd and "main.batchNorm0.running_mean" in sd


def _find(obj: Any):
    return find_state_dict(obj, lambda sd: _is_pgan(sd) or _is_dcgan(sd), _PREFERRED)


def sniff(path, obj) -> bool:
    return _find(obj) is not None


def _he(w: torch.Tensor) -> float:
    """The zoo's run-time constant sqrt(2 / fan_in)."""
    return math.sqrt(2.0 / math.prod(w.shape[1:]))


def _convert_pgan(path: Path, sd: dict, cfg: dict, where: str):
    n_scales = len({k for k in sd if re.fullmatch(r"toRGBLayers\.\d+\.module\.weight", k)})
    try:
        channels = [sd["groupScale0.0.module.weight"].shape[0]]
        channels += [sd[f"scaleLayers.{i}.0.module.weight"].shape[0] for i in range(n_scales - 1)]
        z_dim = sd["formatLayer.module.weight"].shape[1]
        img_channels = sd["toRGBLayers.0.module.weight"].shape[0]
    except KeyError as e:
        raise CheckpointError(f"{path}: a GAN zoo PGAN generator without {e.args[0]}") from None
    leak = float(cfg.get("leakyReluLeak", 0.2))
    if leak != 0.2:
        raise CheckpointError(f"{path}: this PGAN uses LeakyReLU({leak}); GAN Studio's progan uses 0.2")
    equalized = bool(cfg.get("equalizedlR", True))
    loss = str(cfg.get("lossCriterion", "WGANGP"))
    notes = []
    if int(cfg.get("categoryVectorDim", 0) or 0):
        notes.append(f"trained with {cfg['categoryVectorDim']} attribute dims appended to z: they are the last "
                     "z entries here")
    if not cfg:
        notes.append("no zoo config found: assumed WGAN-GP (linear output), pixel norm and equalized learning rate")
    config = dict(z_dim=int(z_dim), img_resolution=4 * 2 ** (n_scales - 1), img_channels=int(img_channels),
                  channels=tuple(int(c) for c in channels),
                  normalize_z=bool(cfg.get("perChannelNormalization", True)), tanh_output=loss in _TANH_LOSSES)
    G = create_checked("progan", path, f"{path}: the PGAN does not fit GAN Studio's progan", **config)
    names = {"formatLayer": "blocks.0.fc", "groupScale0.0": "blocks.0.conv1"}
    for i in range(n_scales - 1):
        names[f"scaleLayers.{i}.0"] = f"blocks.{i + 1}.conv0"
        names[f"scaleLayers.{i}.1"] = f"blocks.{i + 1}.conv1"
    for s in range(n_scales):
        names[f"toRGBLayers.{s}"] = f"to_rgb.{s}"
    mapped: dict[str, torch.Tensor] = {}
    for k, v in sd.items():
        m = re.fullmatch(r"(.+)\.module\.(weight|bias)", k)
        if m is None or m.group(1) not in names:
            raise CheckpointError(f"{path}: unexpected tensor {k} in the GAN zoo PGAN generator")
        layer, kind = m.groups()
        c = _he(sd[f"{layer}.module.weight"])
        if equalized:  # same N(0, 1) weights; the zoo also scales the bias by c
            v = v * c if kind == "bias" else v
        else:  # plain weights: ours multiplies by c at run time
            v = v / c if kind == "weight" else v
        mapped[f"{names[layer]}.{kind}"] = v
    own = G.state_dict()
    mapped["stage"] = own["stage"].clone()
    alpha_zoo = float(cfg.get("alpha", 0.0) or 0.0)
    mapped["alpha"] = torch.tensor(1.0 - alpha_zoo, dtype=own["alpha"].dtype)
    load_exact(G, mapped, path, "GAN zoo PGAN")
    if alpha_zoo:
        notes.append(f"saved mid fade-in (zoo alpha {alpha_zoo:g}): the last scale is blended as in the zoo")
    res = config["img_resolution"]
    summary = (f"GAN zoo PGAN generator ({where}): {n_scales} scales up to {res}x{res} px, depths {channels}, "
               f"z_dim={z_dim}, loss {loss} ({'tanh' if config['tanh_output'] else 'linear'} output)")
    return G, {"class_names": [], "notes": notes, "summary": summary,
               "details": {"found_at": where, "depth_scales": list(channels), "loss": loss, "zoo_alpha": alpha_zoo}}


def _convert_dcgan(path: Path, sd: dict, cfg: dict, where: str):
    depth = len({k for k in sd if re.fullmatch(r"main\.convTranspose\d+\.weight", k)})
    fmt, out = sd["formatLayer.weight"], sd["main.outlayer.weight"]
    z_dim, ngf, nc = fmt.shape[0], out.shape[0], out.shape[1]
    widths = [fmt.shape[1]] + [sd[f"main.convTranspose{k}.weight"].shape[1] for k in range(1, depth + 1)]
    if widths != [ngf * 2 ** (depth - i) for i in range(depth + 1)]:
        raise CheckpointError(f"{path}: GAN zoo DCGAN widths {widths} do not halve down to dimG={ngf}")
    notes = []
    loss = str(cfg.get("lossCriterion", "DCGAN"))
    output = "tanh" if loss in _TANH_LOSSES else "clamp"
    if output == "clamp":
        notes.append(f"trained with the {loss} loss, whose generator output is linear: clamped to [-1, 1], "
                     "as the zoo's own visualizer does")
    mapped: dict[str, torch.Tensor] = {"main.0.weight": fmt}
    for k, v in sd.items():
        if k == "formatLayer.weight":
            continue
        m = re.fullmatch(r"main\.(convTranspose|batchNorm)(\d+)\.(.+)", k)
        if m:
            i = 3 * int(m.group(2)) + (0 if m.group(1) == "convTranspose" else 1)
            mapped[f"main.{i}.{m.group(3)}"] = v
        elif k.startswith("main.outlayer."):
            mapped[f"main.{3 * (depth + 1)}.{k[len('main.outlayer.'):]}"] = v
        else:
            raise CheckpointError(f"{path}: unexpected tensor {k} in the GAN zoo DCGAN generator")
    res = 2 ** (depth + 3)
    G = create_checked("dcgan", path, f"{path}: the GAN zoo DCGAN does not fit GAN Studio's dcgan",
                       z_dim=int(z_dim), img_resolution=res, img_channels=int(nc), ngf=int(ngf), ndf=int(ngf),
                       output=output)
    load_exact(G, mapped, path, "GAN zoo DCGAN")
    if _recalibrate_batchnorm(G):
        notes.append(f"its BatchNorm statistics were never updated (the zoo renders in train mode, with each "
                     f"batch's statistics, and its avgG only averages weights): recomputed from "
                     f"{_RECALIBRATION_SAMPLES} seeded samples")
    summary = f"GAN zoo DCGAN generator ({where}): depth {depth}, {res}x{res} px, dimG={ngf}, z_dim={z_dim}"
    return G, {"class_names": [], "notes": notes, "summary": summary,
               "details": {"found_at": where, "depth": depth, "loss": loss}}


_RECALIBRATION_SAMPLES = 512


def _recalibrate_batchnorm(G) -> bool:
    """Running statistics for BatchNorm layers still at their initial mean 0 / variance 1, measured over
    seeded z in train mode (a cumulative average); True when it did so."""
    bns = [m for m in G.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not bns or not all(not m.running_mean.any() and bool((m.running_var == 1).all()) for m in bns):
        return False
    gen = torch.Generator().manual_seed(0)
    momenta = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative: every batch counts the same
    G.train()
    with torch.no_grad():
        for _ in range(_RECALIBRATION_SAMPLES // 64):
            G(torch.randn(64, G.z_dim, generator=gen))
    for m, momentum in zip(bns, momenta):
        m.momentum = momentum
    G.eval()
    return True


def convert(path, obj):
    path = Path(path)
    found = _find(obj)
    if found is None:
        raise CheckpointError(f"{path}: no GAN zoo generator found")
    where, sd = found
    cfg = _config(obj)
    return _convert_pgan(path, sd, cfg, where) if _is_pgan(sd) else _convert_dcgan(path, sd, cfg, where)
