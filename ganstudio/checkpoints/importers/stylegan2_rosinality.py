"""rosinality/stylegan2-pytorch checkpoints (``.pt`` with a ``g_ema`` state dict) -> our "stylegan2".

Layout of that generator and where each piece goes in ours (NVIDIA's names):

- ``style.1 .. style.n`` (after a PixelNorm at ``style.0``): equalized linear + fused lrelu with
  lr multiplier 0.01 -> ``mapping.fc0 .. fc{n-1}`` (same weight scaling, so a plain copy).
- ``input.input`` [1, C, 4, 4] -> ``synthesis.b4.const`` [C, 4, 4].
- ``conv1`` / ``convs.{2i}`` (2x up) / ``convs.{2i+1}``: ``conv.weight`` [1, out, in, 3, 3],
  ``conv.modulation`` (the style affine, bias 1), ``noise.weight`` [1], ``activate.bias`` ->
  ``b4.conv1`` / ``b{r}.conv0`` / ``b{r}.conv1`` (``weight``, ``affine``, ``noise_strength``, ``bias``).
- ``to_rgb1`` / ``to_rgbs.i`` (1x1, no demodulation, bias [1, 3, 1, 1]) -> ``b{r}.torgb``.
- ``noises.noise_k`` [1, 1, r, r] -> the k-th noise layer's ``noise_const`` [r, r].
- ``latent_avg`` (top level, when the file has it) -> ``mapping.w_avg``; otherwise w_avg is
  estimated as the mean w of 10,000 seeded z (what the repository's own scripts do on the fly).

The computations agree: rosinality upsamples with a stride-2 transposed conv followed by a
[1,3,3,1] blur padded (1, 1) with gain 4, and upsamples the ToRGB skip with upfirdn2d padded
(2, 1) -- exactly what NVIDIA's conv2d_resample/upsample2d (and ours) do.  The one difference is
where the equalized-lr constant enters demodulation: rosinality scales the weight by
1/sqrt(fan_in) before adding the 1e-8 epsilon, NVIDIA after, so the epsilon is effectively
fan_in times larger in rosinality: a relative change below 1e-8 of the demodulation
coefficient for any non-degenerate layer, far below the float32 noise.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Optional

import torch

from ganstudio.checkpoints import CheckpointError
from ganstudio.checkpoints.importers._common import create_checked, find_state_dict, load_exact

NAME = "stylegan2-rosinality"
DESCRIPTION = "rosinality stylegan2-pytorch checkpoint (.pt with g_ema: style.N, input.input, convs.N, to_rgbs.N)"
PRIORITY = 25

_PREFERRED = ("g_ema", "g", "generator", "state_dict")
_W_AVG_SAMPLES = 10_000


class _TrainArgs:
    """Inert stand-in for the ``argparse.Namespace`` that train.py stores beside the weights."""


SAFE_GLOBALS = [(_TrainArgs, "argparse.Namespace")]


def _is_rosinality(sd: dict[str, torch.Tensor]) -> bool:
    return all(k in sd for k in ("input.input", "style.1.weight", "conv1.conv.weight", "to_rgb1.conv.weight"))


class _Recording(dict):
    """The source state dict, noting which tensors the conversion read."""

    def __init__(self, d):
        super().__init__(d)
        self.read: set = set()

    def __getitem__(self, k):
        self.read.add(k)
        return super().__getitem__(k)


def _find(obj: Any):
    return find_state_dict(obj, _is_rosinality, _PREFERRED)


def sniff(path, obj) -> bool:
    return _find(obj) is not None


def _channel_base(ch: dict[int, int], path: Path) -> tuple[int, int]:
    res = max(ch)
    channel_max = ch[4]
    base = ch[res] * res
    if any(min(base // r, channel_max) != c for r, c in ch.items()):
        raise CheckpointError(f"{path}: channels per resolution {ch} do not follow min(channel_base / res, "
                              "channel_max); GAN Studio cannot represent this network")
    return base, channel_max


def _latent_avg(obj: Any, w_dim: int) -> Optional[torch.Tensor]:
    v = obj.get("latent_avg") if isinstance(obj, dict) else None
    if isinstance(v, torch.Tensor) and v.numel() == w_dim:
        return v.reshape(w_dim).float()
    return None


def convert(path, obj):
    path = Path(path)
    found = _find(obj)
    if found is None:
        raise CheckpointError(f"{path}: no rosinality StyleGAN2 generator state dict (g_ema) in this file")
    where, src = found
    if any(".iwt." in k or ".dwt." in k for k in src):
        raise CheckpointError(f"{path}: a rosinality SWAGAN (wavelet) generator, not StyleGAN2: its to_rgb layers "
                              "output Haar sub-bands, which GAN Studio's StyleGAN2 cannot render")
    src = _Recording(src)
    cfg, n_convs = _infer_config(src, path)
    G = create_checked("stylegan2", path, f"{path}: the inferred StyleGAN2 configuration is invalid", **cfg)
    sd = _converted(src, G, cfg["mapping_layers"], n_convs, path, where)
    # Anything left over is a layer this conversion does not know (another architecture sharing the
    # key names): refuse rather than render a network with parts missing.
    leftover = [k for k in src if k not in src.read and not k.endswith((".blur.kernel", ".upsample.kernel"))]
    if leftover:
        raise CheckpointError(f"{path}: {where} has {len(leftover)} tensors a rosinality StyleGAN2 generator does "
                              f"not (e.g. {', '.join(sorted(leftover)[:3])}); another architecture?")
    for k, v in G.state_dict().items():  # FIR filter buffers: rosinality hard-codes [1,3,3,1], as our default does
        if k.endswith("resample_filter"):
            sd[k] = v
    w_dim = cfg["w_dim"]
    w_avg = _latent_avg(obj, w_dim)
    sd["mapping.w_avg"] = w_avg if w_avg is not None else torch.zeros(w_dim)
    load_exact(G, {k: v.float() for k, v in sd.items()}, path, f"rosinality {where}")
    if w_avg is None:
        with torch.no_grad():
            z = torch.randn(_W_AVG_SAMPLES, w_dim, generator=torch.Generator().manual_seed(0))
            G.mapping.w_avg.copy_(G.mapping(z)[:, 0].mean(dim=0))
    details = {"network": where, "img_resolution": cfg["img_resolution"], "w_dim": w_dim,
               "mapping_layers": cfg["mapping_layers"], "channel_base": cfg["channel_base"],
               "channel_max": cfg["channel_max"],
               "w_avg": "latent_avg" if w_avg is not None else f"mean w of {_W_AVG_SAMPLES} seeded z"}
    return G, {"class_names": [], "details": details}


def _infer_config(src, path: Path) -> tuple[dict, int]:
    """(our StyleGAN2 config, number of styled convs above 4x4) read off the tensors' names and shapes."""
    n_mlp = 0
    while f"style.{n_mlp + 1}.weight" in src:
        n_mlp += 1
    w_dim = src["style.1.weight"].shape[1]
    n_convs = len({int(m.group(1)) for k in src if (m := re.match(r"convs\.(\d+)\.", k))})
    if n_convs % 2:
        raise CheckpointError(f"{path}: {n_convs} styled convs; expected two per resolution above 4x4")
    res = 4 * 2 ** (n_convs // 2)
    ch = {4: src["input.input"].shape[1]}
    for i in range(n_convs // 2):
        ch[8 * 2 ** i] = src[f"convs.{2 * i}.conv.weight"].shape[1]
    channel_base, channel_max = _channel_base(ch, path)
    img_channels = src["to_rgb1.conv.weight"].shape[1]
    cfg = dict(z_dim=int(w_dim), w_dim=int(w_dim), c_dim=0, img_resolution=int(res), img_channels=int(img_channels),
               mapping_layers=n_mlp, mapping_lr_multiplier=0.01, channel_base=channel_base,
               channel_max=int(channel_max), architecture="skip")
    return cfg, n_convs


def _converted(src, G, n_mlp: int, n_convs: int, path: Path, where: str) -> dict[str, torch.Tensor]:
    """rosinality's tensors under our StyleGAN2's names (filters and w_avg aside)."""
    sd: dict[str, torch.Tensor] = {}
    for i in range(n_mlp):
        sd[f"mapping.fc{i}.weight"] = src[f"style.{i + 1}.weight"]
        sd[f"mapping.fc{i}.bias"] = src[f"style.{i + 1}.bias"]

    def styled(dst: str, s: str) -> None:
        sd[f"{dst}.weight"] = src[f"{s}.conv.weight"].squeeze(0)
        sd[f"{dst}.affine.weight"] = src[f"{s}.conv.modulation.weight"]
        sd[f"{dst}.affine.bias"] = src[f"{s}.conv.modulation.bias"]
        sd[f"{dst}.noise_strength"] = src[f"{s}.noise.weight"].reshape(())
        sd[f"{dst}.bias"] = src[f"{s}.activate.bias"].reshape(-1)

    def torgb(dst: str, s: str) -> None:
        sd[f"{dst}.weight"] = src[f"{s}.conv.weight"].squeeze(0)
        sd[f"{dst}.affine.weight"] = src[f"{s}.conv.modulation.weight"]
        sd[f"{dst}.affine.bias"] = src[f"{s}.conv.modulation.bias"]
        sd[f"{dst}.bias"] = src[f"{s}.bias"].reshape(-1)

    try:
        sd["synthesis.b4.const"] = src["input.input"].squeeze(0)
        styled("synthesis.b4.conv1", "conv1")
        torgb("synthesis.b4.torgb", "to_rgb1")
        for i in range(n_convs // 2):
            r = 8 * 2 ** i
            styled(f"synthesis.b{r}.conv0", f"convs.{2 * i}")
            styled(f"synthesis.b{r}.conv1", f"convs.{2 * i + 1}")
            torgb(f"synthesis.b{r}.torgb", f"to_rgbs.{i}")
        for k, layer in enumerate(G.synthesis.noise_layers()):
            name = next(n for n, m in G.named_modules() if m is layer)
            sd[f"{name}.noise_const"] = src[f"noises.noise_{k}"].reshape(layer.resolution, layer.resolution)
    except KeyError as e:
        raise CheckpointError(f"{path}: {where} lacks tensor {e.args[0]} of a rosinality StyleGAN2 generator") from None
    except RuntimeError as e:
        raise CheckpointError(f"{path}: a {where} tensor has an unexpected shape: {e}") from None
    return sd
