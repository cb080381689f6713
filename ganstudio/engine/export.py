"""Exports without Qt: an image PNG at any integer scale, a grid PNG, an interpolation GIF or MP4, latents.

The Gallery and `ganstudio export` both call these, so the same inputs give the same bytes.  Each
takes a renderer (``render``, ``render_batch``, ``latents`` as ``engine.Renderer`` has them), writes
its file atomically (temp + fsync + rename: a failed export leaves no partial file and keeps an
older one), raises ValueError naming the problem, and reports progress in [0, 1] to ``progress``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from ganstudio._io import atomic_path, atomic_write_text
from ganstudio.engine.interpolation import interpolation_states
from ganstudio.engine.state import RenderState
from ganstudio.imaging import make_grid, save_png

Progress = Optional[Callable[[float], None]]

FPS = 24  # frames per second of GIF and MP4 animations
ANIMATION_BATCH = 8  # frames per forward pass: bounds memory; also fixes the pixels (a batch's rounding)
GRID_BATCH = 16
MAX_PIXELS = 2 ** 28  # one exported image (~800 MB of RGB): beyond this a scale is a mistake
MAX_VIDEO_BYTES = 2 ** 31  # an animation's frames are held in memory before encoding
ANIMATION_TYPES = (".gif", ".mp4")


def has_ffmpeg() -> bool:
    try:
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        return False
    return True


def scaled(image: np.ndarray, scale: int, smooth: bool = False) -> np.ndarray:
    """Upscale by an integer factor: nearest-neighbour (every pixel a scale x scale block), or bilinear
    with ``smooth`` (as the window's smooth scaling shows it)."""
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale!r}")
    scale = int(scale)
    modes = {1: "L", 3: "RGB", 4: "RGBA"}
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] not in modes or scale == 1:
        if smooth and scale > 1:
            raise ValueError("smooth scaling takes 8-bit images of 1, 3 or 4 channels")
        return np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)
    # PIL's resize releases the GIL (np.repeat held it: a 32x export froze the window for 0.6 s).
    from PIL import Image
    h, w, c = image.shape
    im = Image.fromarray(image[:, :, 0] if c == 1 else image, modes[c])
    im = im.resize((w * scale, h * scale), Image.BILINEAR if smooth else Image.NEAREST)
    out = np.asarray(im)
    return out[:, :, None] if c == 1 else out


def _check_size(height: int, width: int, scale: int, what: str) -> None:
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale!r}")
    if height * width * scale * scale > MAX_PIXELS:
        raise ValueError(f"{what} at scale {scale} would be {width * scale} x {height * scale} px, too large for "
                         f"one image (at most {MAX_PIXELS // 2 ** 20} megapixels); choose a smaller scale")


def _check_video(n: int, height: int, width: int, scale: int) -> None:
    _check_size(height, width, scale, "each frame")
    if n * height * width * 3 * scale * scale > MAX_VIDEO_BYTES:
        raise ValueError(f"{n} frames of {width * scale} x {height * scale} px need more than "
                         f"{MAX_VIDEO_BYTES // 2 ** 30} GB of memory; choose fewer frames or a smaller scale")


def _render(renderer, states: Sequence[RenderState], batch: int, progress: Progress) -> np.ndarray:
    """Render states ``batch`` at a time -> uint8 [N, H, W, C]; a render error is a ValueError."""
    out = []
    for start in range(0, len(states), batch):
        res = renderer.render_batch(list(states[start:start + batch]))
        if res.image is None:
            raise ValueError(res.error or "the render failed")
        out.append(res.image)
        if progress is not None:
            progress(min(start + batch, len(states)) / len(states))
    return np.concatenate(out)


def export_png(renderer, state: RenderState, path: str | os.PathLike, scale: int = 1, progress: Progress = None,
               smooth: bool = False) -> None:
    """The image of ``state`` as a PNG, each pixel a scale x scale block (bilinear with ``smooth``)."""
    res = renderer.render(state)
    if res.image is None:
        raise ValueError(res.error or "the render failed")
    _check_size(res.image.shape[0], res.image.shape[1], scale, "the image")
    save_png(path, scaled(res.image, scale, smooth))
    if progress is not None:
        progress(1.0)


def export_grid(renderer, states: Sequence[RenderState], path: str | os.PathLike, scale: int = 1,
                cols: Optional[int] = None, progress: Progress = None, smooth: bool = False) -> None:
    """Several states (of one model) tiled into one PNG grid, then scaled."""
    if not states:
        raise ValueError("a grid needs at least one image")
    images = _render(renderer, states, GRID_BATCH, progress)
    grid = make_grid(images, cols=cols)
    _check_size(grid.shape[0], grid.shape[1], scale, f"a grid of {len(states)} images")
    save_png(path, scaled(grid, scale, smooth))


def export_animation(renderer, stops: Sequence[RenderState], current: RenderState, path: str | os.PathLike,
                     frames_per_leg: int = 24, scale: int = 1, loop: bool = True, progress: Progress = None,
                     smooth: bool = False) -> int:
    """A GIF (pillow) or MP4 (imageio-ffmpeg) slerping through ``stops``; returns the number of frames.

    ``loop``: the walk returns to the first stop, so the animation repeats seamlessly (the Gallery's);
    otherwise it ends on the last.  A GIF always repeats when played.  Progress counts rendered frames;
    the encoding after them is the last step.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in ANIMATION_TYPES:
        raise ValueError(f"{Path(path).name}: an animation is written as .gif or .mp4")
    if suffix == ".mp4" and not has_ffmpeg():
        raise ValueError("MP4 export needs the imageio-ffmpeg package (pip install imageio-ffmpeg); "
                         "GIF export works without it")
    states = interpolation_states(renderer, stops, frames_per_leg, current, loop=loop)
    return export_states(renderer, states, path, scale, progress, smooth)


def export_states(renderer, states: Sequence[RenderState], path: str | os.PathLike, scale: int = 1,
                  progress: Progress = None, smooth: bool = False, fps: int = FPS) -> int:
    """Any sequence of states (an interpolation, a timeline) as a GIF or MP4, one frame each; returns the count."""
    suffix = Path(path).suffix.lower()
    if suffix not in ANIMATION_TYPES:
        raise ValueError(f"{Path(path).name}: an animation is written as .gif or .mp4")
    if suffix == ".mp4" and not has_ffmpeg():
        raise ValueError("MP4 export needs the imageio-ffmpeg package (pip install imageio-ffmpeg); "
                         "GIF export works without it")
    if not states:
        raise ValueError("an animation needs at least one frame")
    frames: list = []
    for start in range(0, len(states), ANIMATION_BATCH):
        batch = _render(renderer, states[start:start + ANIMATION_BATCH], ANIMATION_BATCH, None)
        if not frames:  # the frame size is known now, before hundreds of frames are rendered
            _check_video(len(states), batch.shape[1], batch.shape[2], scale)
        frames += [scaled(f, scale, smooth) for f in batch]
        if progress is not None:
            progress(len(frames) / len(states))
    video = np.stack(frames)
    if video.shape[-1] == 1:
        video = np.repeat(video, 3, axis=-1)
    write_video(path, video, fps)
    return len(states)


def export_png_frames(renderer, states: Sequence[RenderState], folder: str | os.PathLike, scale: int = 1,
                      progress: Progress = None, smooth: bool = False) -> int:
    """One PNG per state (frame_00000.png, ...) in a new or empty folder, all or nothing: the frames are
    written into a hidden folder beside it, renamed into place when the last one is written."""
    import shutil
    import tempfile

    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ValueError(f"{folder}: name a new or empty folder for the frames")
    if not states:
        raise ValueError("no frames to write")
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        done = 0
        for start in range(0, len(states), ANIMATION_BATCH):
            batch = _render(renderer, states[start:start + ANIMATION_BATCH], ANIMATION_BATCH, None)
            _check_size(batch.shape[1], batch.shape[2], scale, "each frame")
            for f in batch:
                save_png(tmp / f"frame_{done:05d}.png", scaled(f, scale, smooth))
                done += 1
            if progress is not None:
                progress(done / len(states))
        if folder.exists():
            folder.rmdir()
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return done


def write_video(path: str | os.PathLike, video: np.ndarray, fps: int = FPS) -> None:
    """uint8 frames [T, H, W, 3|4] as a repeating GIF or an MP4, by the path's extension, atomically."""
    import imageio.v3 as iio

    mp4 = str(path).lower().endswith(".mp4")
    with atomic_path(path, keep_suffix=True) as tmp:
        try:
            if mp4:
                iio.imwrite(tmp, video, extension=".mp4", fps=fps)
            else:
                iio.imwrite(tmp, video, extension=".gif", duration=1000 / fps, loop=0)
        except RuntimeError as e:  # ffmpeg's exit status (a full disk, a codec it lacks) comes as RuntimeError
            last = (str(e).strip().splitlines() or ["no message"])[-1]  # ffmpeg's own reason comes last
            raise ValueError(f"the video encoder failed: {last}") from None
        if tmp.stat().st_size == 0:  # an encoder that failed without raising: keep no empty file
            raise ValueError("the video encoder wrote nothing (see the terminal for its message)")


def export_latents(renderer, state: RenderState, path: str | os.PathLike, progress: Progress = None) -> None:
    """The exact (z, c, ws) of ``state``'s image: .npy holds ws [num_ws, w_dim]; .json holds all and the state."""
    z, c, ws = renderer.latents(state)
    if str(path).lower().endswith(".npy"):
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.save(f, ws[0].cpu().numpy())
    else:
        doc = {"state": state.to_dict(), "z": None if z is None else z[0].cpu().tolist(),
               "c": None if c is None else c[0].cpu().tolist(), "ws": ws[0].cpu().tolist()}
        atomic_write_text(path, json.dumps(doc))
    if progress is not None:
        progress(1.0)
