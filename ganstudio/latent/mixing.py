"""Style mixing (Karras et al. 2019, sec. 3.1): each entry of ws taken from a chosen source latent."""
from __future__ import annotations

from typing import Sequence

import torch


def _layer_list(layers, num_ws: int) -> list[int]:
    out = []
    for i in layers:
        if isinstance(i, bool) or not isinstance(i, int):
            raise ValueError(f"layer index must be an integer, got {i!r}")
        if not 0 <= i < num_ws:
            raise ValueError(f"layer {i} out of range: ws has layers 0..{num_ws - 1}")
        out.append(i)
    return out


def _check_ws(ws: torch.Tensor, name: str) -> None:
    if not isinstance(ws, torch.Tensor) or ws.ndim != 3:
        shape = list(ws.shape) if isinstance(ws, torch.Tensor) else type(ws).__name__
        raise ValueError(f"{name} must have shape [N, num_ws, w_dim], got {shape}")


def style_mix(ws_a: torch.Tensor, ws_b: torch.Tensor, layers: Sequence[int]) -> torch.Tensor:
    """ws_a with the listed layer entries taken from ws_b (ws_b may have batch 1)."""
    _check_ws(ws_a, "ws_a")
    _check_ws(ws_b, "ws_b")
    if ws_b.shape[1:] != ws_a.shape[1:] or ws_b.shape[0] not in (1, ws_a.shape[0]):
        raise ValueError(f"cannot mix ws of shapes {list(ws_a.shape)} and {list(ws_b.shape)}")
    idx = _layer_list(layers, ws_a.shape[1])
    out = ws_a.clone()
    if idx:
        out[:, idx] = ws_b[:, idx].to(out.dtype).expand(ws_a.shape[0], -1, -1)
    return out


def style_mix_sources(ws_list: Sequence[torch.Tensor], sources: Sequence[int]) -> torch.Tensor:
    """ws whose layer i is layer i of ws_list[sources[i]]; every ws [N, num_ws, w_dim] alike."""
    if len(ws_list) == 0:
        raise ValueError("style_mix_sources needs at least one ws")
    for j, ws in enumerate(ws_list):
        _check_ws(ws, f"ws_list[{j}]")
        if ws.shape != ws_list[0].shape:
            raise ValueError(f"ws_list[{j}] has shape {list(ws.shape)}, ws_list[0] has {list(ws_list[0].shape)}")
    num_ws = ws_list[0].shape[1]
    if len(sources) != num_ws:
        raise ValueError(f"need one source per layer: {num_ws} layers, {len(sources)} sources")
    for s in sources:
        if isinstance(s, bool) or not isinstance(s, int) or not 0 <= s < len(ws_list):
            raise ValueError(f"source {s!r} out of range: there are {len(ws_list)} ws (0..{len(ws_list) - 1})")
    return torch.stack([ws_list[s][:, i] for i, s in enumerate(sources)], dim=1)


def layer_presets(num_ws: int, layer_resolutions: Sequence[int]) -> dict[str, list[int]]:
    """Layer groups of the StyleGAN paper: coarse 4-8 px, middle 16-32 px, fine 64 px and up.

    Below 64 px those leave "fine" empty, so smaller models split their resolutions into three runs
    instead (32 px: coarse 4-8, middle 16, fine 32): the finest layers are then still "fine".
    """
    if len(layer_resolutions) != num_ws:
        raise ValueError(f"need one resolution per ws entry: num_ws={num_ws}, "
                         f"{len(layer_resolutions)} resolutions (does the model have style layers?)")
    group = {r: "coarse" if r <= 8 else "middle" if r <= 32 else "fine" for r in layer_resolutions}
    if len(set(group.values())) < 3:
        levels = sorted(set(layer_resolutions))
        size = {g: len(levels) // 3 for g in ("coarse", "middle", "fine")}
        for g in ("coarse", "fine", "middle")[:len(levels) % 3]:  # extra levels: coarse first, then fine
            size[g] += 1
        names = [g for g in ("coarse", "middle", "fine") for _ in range(size[g])]
        group = dict(zip(levels, names))
    presets: dict[str, list[int]] = {"coarse": [], "middle": [], "fine": []}
    for i, r in enumerate(layer_resolutions):
        presets[group[r]].append(i)
    return presets
