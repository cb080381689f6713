"""An image -> w+ encoder for a StyleGAN-like generator: the projector's start (in-domain inversion).

Our own small network and recipe (training/encoder_trainer.py), after the idea of Zhu et al. 2020,
"In-Domain GAN Inversion for Real Image Editing": an encoder trained against one frozen generator,
on (image, w+) pairs the generator draws itself and on real images through a reconstruction loss,
so its guess lies where the generator's latents lie.  :func:`engine.projection.project` starts
from the guess when it is given one.

File format: one safetensors file, tensors ``net.*`` (float32 or float16), JSON metadata under the key
``ganstudio_encoder`` (format, version, config, the generator it belongs to, recipe, metrics).
The header is parsed by the checkpoint code's hostile-file reader before anything is built;
nothing is unpickled.  A shipped generator names its encoder in its manifest entry (``encoder``).
"""
from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

META_KEY = "ganstudio_encoder"
FORMAT = "ganstudio-encoder"
FORMAT_VERSION = 1
_MAX_WIDTH = 4096  # a config beyond these limits is a broken or hostile file, not an architecture
_MAX_WS = 64


class EncoderError(ValueError):
    """An encoder file that cannot be used (missing, not ours, or made for another generator); one line."""


@dataclass(frozen=True)
class EncoderConfig:
    in_channels: int  # the generator's image channels
    resolution: int  # the generator's image size (a power of two >= 8)
    num_ws: int  # rows of w+
    w_dim: int
    widths: tuple = (32, 64, 128)  # channels after each stride-2 block (the last repeats down to 4x4)
    hidden: int = 256  # the fully connected layer before the w+ head


def _check_config(cfg: EncoderConfig) -> None:
    ints = (cfg.in_channels, cfg.resolution, cfg.num_ws, cfg.w_dim, cfg.hidden, *cfg.widths)
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in ints):
        raise EncoderError("encoder config: every size must be an integer")
    if cfg.in_channels not in (1, 3) or not 8 <= cfg.resolution <= 1024 or cfg.resolution & (cfg.resolution - 1):
        raise EncoderError(f"encoder config: {cfg.in_channels} channels at {cfg.resolution} px is not supported")
    if not (1 <= cfg.num_ws <= _MAX_WS and all(1 <= v <= _MAX_WIDTH for v in (cfg.w_dim, cfg.hidden, *cfg.widths))
            and 1 <= len(cfg.widths) <= 10):
        raise EncoderError("encoder config: sizes out of range")


class InversionEncoder(nn.Module):
    """Conv (stride 1), stride-2 conv blocks down to 4x4, a hidden layer, a head to num_ws x w_dim.

    The head predicts the offset from the generator's mean w (``w_avg``, a buffer), so an untrained
    head starts at the projector's usual start."""

    def __init__(self, cfg: EncoderConfig, w_avg: Optional[torch.Tensor] = None):
        super().__init__()
        _check_config(cfg)
        self.cfg = cfg
        n_down = max(1, (cfg.resolution // 4).bit_length() - 1)  # 32 px -> 3 blocks to 4x4
        widths = list(cfg.widths) + [cfg.widths[-1]] * max(0, n_down - len(cfg.widths))
        layers: list[nn.Module] = [nn.Conv2d(cfg.in_channels, widths[0], 3, padding=1), nn.LeakyReLU(0.2)]
        ch = widths[0]
        for w in widths[:n_down]:
            layers += [nn.Conv2d(ch, w, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
                       nn.Conv2d(w, w, 3, padding=1), nn.LeakyReLU(0.2)]
            ch = w
        self.trunk = nn.Sequential(*layers)
        side = cfg.resolution >> n_down
        self.hidden = nn.Linear(ch * side * side, cfg.hidden)
        self.head = nn.Linear(cfg.hidden, cfg.num_ws * cfg.w_dim)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        self.register_buffer("w_avg", torch.zeros(cfg.w_dim) if w_avg is None else w_avg.detach().float().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images [N, C, H, W] in [-1, 1] -> ws [N, num_ws, w_dim]."""
        if x.ndim != 4 or tuple(x.shape[1:]) != (self.cfg.in_channels, self.cfg.resolution, self.cfg.resolution):
            raise EncoderError(f"the encoder reads [N, {self.cfg.in_channels}, {self.cfg.resolution}, "
                               f"{self.cfg.resolution}] images, got {list(x.shape)}")
        h = F.leaky_relu(self.hidden(self.trunk(x).flatten(1)), 0.2)
        return self.head(h).view(len(x), self.cfg.num_ws, self.cfg.w_dim) + self.w_avg


def encoder_for_generator(G, widths: tuple = EncoderConfig.widths, hidden: int = EncoderConfig.hidden):
    """A fresh encoder with ``G``'s geometry, its head at ``G``'s mean w."""
    cfg = EncoderConfig(G.img_channels, G.img_resolution, G.num_ws, G.w_dim, tuple(widths), hidden)
    w_avg = getattr(G, "w_avg", None)
    if w_avg is None or not bool(w_avg.abs().sum()):
        with torch.no_grad():
            gen = torch.Generator().manual_seed(0)
            w_avg = G.mapping(torch.randn(1000, G.z_dim, generator=gen).to(next(G.parameters()).device), None)[:, 0]
            w_avg = w_avg.mean(0)
    return InversionEncoder(cfg, w_avg.detach().cpu())


def check_matches(encoder: InversionEncoder, G) -> None:
    """An EncoderError unless ``encoder`` reads ``G``'s images and writes ``G``'s w+."""
    c = encoder.cfg
    want = (G.img_channels, G.img_resolution, G.num_ws, G.w_dim)
    if (c.in_channels, c.resolution, c.num_ws, c.w_dim) != want:
        raise EncoderError(f"the encoder is for {c.in_channels}-channel {c.resolution} px images and "
                           f"{c.num_ws} x {c.w_dim} w+, the model has {want[0]}-channel {want[1]} px and "
                           f"{want[2]} x {want[3]}")


# -- files -------------------------------------------------------------------------------------------

@dataclass
class LoadedEncoder:
    net: InversionEncoder  # eval mode, no grad
    meta: dict
    path: Path


def save_encoder(path: str | os.PathLike, encoder: InversionEncoder, meta: dict,
                 dtype: torch.dtype = torch.float32) -> Path:
    """Write the weights (float32, or ``dtype=torch.float16`` at half the size) and JSON metadata (``meta``
    plus format and config) atomically; loading always builds float32."""
    from safetensors.torch import save

    from ganstudio._io import atomic_write_bytes
    tensors = {"net." + k: v.detach().cpu().to(dtype).contiguous().clone() for k, v in encoder.state_dict().items()}
    cfg = dataclasses.asdict(encoder.cfg)
    cfg["widths"] = list(cfg["widths"])
    full = {"format": FORMAT, "format_version": FORMAT_VERSION, "config": cfg, **meta}
    path = Path(path)
    atomic_write_bytes(path, save(tensors, metadata={META_KEY: json.dumps(full)}))
    return path


def _config_from(meta: dict, where: str) -> EncoderConfig:
    raw = meta.get("config")
    names = {f.name for f in dataclasses.fields(EncoderConfig)}
    if not isinstance(raw, dict) or not names >= set(raw) or not {"in_channels", "resolution", "num_ws",
                                                                   "w_dim"} <= set(raw):
        raise EncoderError(f"{where}: the encoder config is missing or has unknown fields")
    raw = dict(raw)
    if "widths" in raw:
        if not isinstance(raw["widths"], list):
            raise EncoderError(f"{where}: the encoder config's widths must be a list")
        raw["widths"] = tuple(raw["widths"])
    cfg = EncoderConfig(**raw)
    try:
        _check_config(cfg)
    except EncoderError as e:
        raise EncoderError(f"{where}: {e}") from None
    return cfg


def load_encoder(path: str | os.PathLike, device="cpu") -> LoadedEncoder:
    """Read an encoder file (header checked first, no pickles); one-line EncoderError on anything wrong."""
    from safetensors import SafetensorError, safe_open

    from ganstudio.checkpoints.errors import CheckpointError
    from ganstudio.checkpoints.header import parse_json, read_header
    path = Path(path)
    try:
        header = read_header(path)
        raw = (header.get("__metadata__") or {}).get(META_KEY)
        meta = parse_json(raw, f"{path.name}: its encoder metadata") if isinstance(raw, str) else None
    except CheckpointError as e:
        raise EncoderError(str(e)) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise EncoderError(f"{path.name}: not a GAN Studio encoder file (no {META_KEY!r} metadata)")
    if not isinstance(meta.get("format_version"), int) or meta["format_version"] > FORMAT_VERSION:
        raise EncoderError(f"{path.name}: written by a newer GAN Studio (encoder format {meta.get('format_version')})")
    net = InversionEncoder(_config_from(meta, path.name))
    try:
        with safe_open(str(path), "pt") as f:
            weights = {k[4:]: f.get_tensor(k).float() for k in f.keys() if k.startswith("net.")}
        net.load_state_dict(weights)
    except (SafetensorError, OSError, RuntimeError) as e:
        raise EncoderError(f"{path.name}: weights do not match the stored architecture: "
                           f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    if not all(torch.isfinite(t).all() for t in net.state_dict().values()):
        raise EncoderError(f"{path.name}: the weights hold NaN or infinite values")
    return LoadedEncoder(net.eval().requires_grad_(False).to(device), meta, path)


def shipped_encoder_path(model_key: str) -> Optional[Path]:
    """The encoder file a shipped model's manifest entry names (by the model's name or its file), else None."""
    from ganstudio.pretrained import PRETRAINED_DIR, list_pretrained
    try:
        resolved = Path(model_key).resolve()
    except (OSError, ValueError):
        resolved = None
    for e in list_pretrained():
        enc = e.get("encoder")
        if not isinstance(enc, dict) or not isinstance(enc.get("file"), str):
            continue
        if e["name"] == model_key or (resolved is not None and (PRETRAINED_DIR / e["file"]).resolve() == resolved):
            path = PRETRAINED_DIR / enc["file"]
            return path if path.is_file() else None
    return None
