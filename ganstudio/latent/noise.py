"""Per-layer noise inputs for generators with noise layers (StyleGAN): the model's own, fixed, fresh, or off."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence, Union

import torch

MODES = ("const", "random", "fixed", "off")


@dataclass
class NoiseLayer:
    """Noise setting of one layer."""

    # "const": the model's own stored noise (StyleGAN's noise_const); "fixed": seeded, the same every
    # frame; "random": fresh each call; "off": zeros
    mode: str = "fixed"
    seed: int = 0  # seed of a "fixed" layer; mixed with the layer index so equal seeds differ per layer
    strength: float = 1.0  # multiplies the unit-variance noise


def _layer_seed(seed: int, index: int) -> int:
    return (int(seed) * 1_000_003 + index) % (2**63)


def noise_inputs(G, layers: Optional[Sequence[Optional[NoiseLayer]]], batch: int,
                 device: Union[str, torch.device] = "cpu",
                 generator: Optional[torch.Generator] = None) -> list[Optional[torch.Tensor]]:
    """One entry per G.capabilities().noise_layers for G.synthesis(noise_inputs=...); None keeps noise_mode."""
    resolutions = tuple(G.capabilities().noise_layers)
    if layers is None:
        layers = [NoiseLayer() for _ in resolutions]
    if len(layers) != len(resolutions):
        raise ValueError(f"the model has {len(resolutions)} noise layers, got settings for {len(layers)}")
    if isinstance(batch, bool) or not isinstance(batch, int) or batch <= 0:
        raise ValueError(f"batch must be a positive integer, got {batch!r}")
    out: list[Optional[torch.Tensor]] = []
    own = None
    for i, (r, layer) in enumerate(zip(resolutions, layers)):
        if layer is None:
            out.append(None)
            continue
        if layer.mode not in MODES:
            raise ValueError(f"noise layer {i}: mode must be one of {', '.join(MODES)}, got {layer.mode!r}")
        strength = float(layer.strength)
        if not math.isfinite(strength):
            raise ValueError(f"noise layer {i}: strength must be finite, got {layer.strength}")
        if layer.mode == "const":
            # Explicit, not None: None would follow the render's noise_mode, which may be random.
            if own is None:
                own = const_noise(G)
            out.append(own[i] * strength if strength != 1.0 else own[i])
            continue
        if layer.mode == "off":
            noise = torch.zeros(1, 1, r, r)
        elif layer.mode == "fixed":
            # Shared by the whole batch, like StyleGAN's const noise buffers.
            gen = torch.Generator("cpu").manual_seed(_layer_seed(layer.seed, i))
            noise = torch.randn(1, 1, r, r, generator=gen) * strength
        else:
            # Drawn on the CPU so a given generator state gives the same noise on every device.
            noise = torch.randn(batch, 1, r, r, generator=generator) * strength
        out.append(noise.to(device))
    return out


def const_noise(G) -> list[torch.Tensor]:
    """The model's own constant noise of each noise layer, as [1, 1, r, r] tensors on G's device."""
    get = getattr(G, "const_noise", None)
    if get is None:
        raise ValueError(f"{type(G).__name__} stores no constant noise (no 'const' noise mode)")
    return get()
