"""Image conversion shared by the CLI, the GUI and training: [-1, 1] tensors to uint8, grids, atomic PNGs."""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from ganstudio._io import atomic_path


def to_uint8(img: torch.Tensor) -> np.ndarray:
    """Images [N, C, H, W] in [-1, 1] -> uint8 [N, H, W, C], rounded to nearest."""
    if not isinstance(img, torch.Tensor) or img.ndim != 4:
        shape = list(img.shape) if hasattr(img, "shape") else type(img).__name__
        raise ValueError(f"images must have shape [N, C, H, W], got {shape}")
    # numpy, not torch: on a 32 px image each torch op costs microseconds of dispatch, which was
    # a good part of the engine's overhead for small models.  Clip to [-1, 1], then
    # (x + 1) * 127.5 rounded half to even, in float32; NaN as 0.
    x = np.clip(img.detach().to("cpu", torch.float32).numpy(), -1, 1)  # a new array; NaN stays NaN
    x += 1
    x *= np.float32(127.5)
    np.rint(x, out=x)
    np.copyto(x, 128, where=np.isnan(x))  # NaN shows grey, as 0 would: (0 + 1) * 127.5 -> 128
    return x.transpose(0, 2, 3, 1).astype(np.uint8, order="C")


def make_grid(images_uint8: np.ndarray, cols: Optional[int] = None, pad: int = 2, pad_value: int = 255) -> np.ndarray:
    """Tile [N, H, W, C] into one [rows*(H+pad)+pad, cols*(W+pad)+pad, C] image; cols defaults to ceil(sqrt(N))."""
    imgs = np.asarray(images_uint8)
    if imgs.ndim != 4 or imgs.shape[0] == 0:
        raise ValueError(f"grid images must have shape [N, H, W, C] with N >= 1, got {list(imgs.shape)}")
    n, h, w, c = imgs.shape
    if cols is None:
        cols = math.ceil(math.sqrt(n))
    if isinstance(cols, bool) or not isinstance(cols, (int, np.integer)) or cols < 1:
        raise ValueError(f"grid columns must be a positive integer, got {cols!r}")
    if isinstance(pad, bool) or not isinstance(pad, (int, np.integer)) or pad < 0:
        raise ValueError(f"grid padding must be a non-negative integer, got {pad!r}")
    cols = min(int(cols), n)
    rows = math.ceil(n / cols)
    grid = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, c), pad_value, dtype=imgs.dtype)
    for i in range(n):
        y, x = pad + (i // cols) * (h + pad), pad + (i % cols) * (w + pad)
        grid[y:y + h, x:x + w] = imgs[i]
    return grid


def upright_8bit(im):
    """A PIL image as viewers show it: EXIF orientation applied (phone photos store pixels sideways)
    and 16-bit greyscale scaled to 8 bits (PIL's convert("L") clips it to white instead)."""
    from PIL import Image, ImageOps
    try:
        im = ImageOps.exif_transpose(im)
    except (OSError, ValueError, SyntaxError):  # a malformed EXIF block: keep the stored orientation
        pass
    if im.mode == "I" or im.mode.startswith("I;16"):
        a = np.asarray(im, dtype=np.float64)
        im = Image.fromarray(np.clip(a / 257.0, 0, 255).round().astype(np.uint8))
    return im


# Image formats by file extension (PIL's names); JPEG is lossy, the others keep every pixel.
IMAGE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".bmp": "BMP",
                 ".tif": "TIFF", ".tiff": "TIFF"}


def image_format(path: str | os.PathLike) -> str:
    """PIL's format name for a path's extension; ValueError naming the choices for any other."""
    fmt = IMAGE_FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise ValueError(f"{Path(path).name}: unknown image type; end the name in "
                         f"{', '.join(sorted(set(IMAGE_FORMATS)))}")
    return fmt


def save_image(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write a uint8 image in the format its extension names (.png, .jpg, .webp, .bmp, .tif), atomically."""
    from PIL import Image

    fmt = image_format(path)
    if fmt == "PNG":
        return save_png(path, array)
    a = np.asarray(array)
    if a.dtype != np.uint8 or not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (1, 3, 4))):
        raise ValueError(f"image data must be uint8 [H, W] or [H, W, 1|3|4], got {a.dtype} {list(a.shape)}")
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    image = Image.fromarray(np.ascontiguousarray(a))
    if fmt in ("JPEG", "BMP") and image.mode == "RGBA":
        image = image.convert("RGB")  # neither stores alpha
    options = {"quality": 95} if fmt == "JPEG" else {"lossless": True} if fmt == "WEBP" else {}
    with atomic_path(path) as tmp:
        image.save(tmp, format=fmt, **options)


def save_png(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write a uint8 image [H, W], [H, W, 1] (grayscale), [H, W, 3] or [H, W, 4] as PNG, atomically."""
    from PIL import Image

    a = np.asarray(array)
    if a.dtype != np.uint8:
        raise ValueError(f"PNG data must be uint8, got {a.dtype}")
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (3, 4))):
        raise ValueError(f"PNG data must be [H, W] or [H, W, 1|3|4], got {list(a.shape)}")
    image = Image.fromarray(np.ascontiguousarray(a))
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG")
