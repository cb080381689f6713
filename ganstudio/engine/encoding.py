"""Real images for a model's encoder, without Qt: read and convert a file, scale it to the generators' range."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ganstudio.imaging import upright_8bit


def load_image(path: str, resolution: int, channels: int) -> np.ndarray:
    """An image file -> uint8 [resolution, resolution, channels] (converted, centre-cropped to a square,
    resized); one-line errors."""
    from PIL import Image, UnidentifiedImageError
    name = Path(path).name
    try:
        with Image.open(path) as im:
            im.load()
            im = upright_8bit(im).convert("L" if channels == 1 else "RGB")
    except FileNotFoundError:
        raise ValueError(f"{name}: no such file") from None
    except (UnidentifiedImageError, OSError, ValueError) as e:
        reason = "not an image file that can be read" if isinstance(e, UnidentifiedImageError) else str(e)
        raise ValueError(f"could not read {name}: {reason}") from None
    w, h = im.size
    if w != h:  # the central square, as training crops do: resizing alone would squash a photo
        side = min(w, h)
        im = im.crop(((w - side) // 2, (h - side) // 2, (w - side) // 2 + side, (h - side) // 2 + side))
    if im.size != (resolution, resolution):
        im = im.resize((resolution, resolution), Image.LANCZOS)
    a = np.asarray(im, dtype=np.uint8)
    return a[:, :, None] if a.ndim == 2 else a


def image_tensor(pixels: np.ndarray) -> torch.Tensor:
    """uint8 [H, W, C] -> float [1, C, H, W] in [-1, 1] (the generators' output range)."""
    return torch.from_numpy(pixels.astype(np.float32) / 127.5 - 1.0).permute(2, 0, 1)[None].contiguous()
