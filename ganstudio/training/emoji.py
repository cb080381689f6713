"""The ``emoji`` data set: every glyph of Noto Color Emoji, 64 px RGB, its Unicode group as the class.

Sources (Debian packages, installed by ``make data``):
  * ``fonts-noto-color-emoji``: ``NotoColorEmoji.ttf``, a bitmap colour font (CBDT) with one strike,
    109 px (glyph cells 136x128).  Licence: SIL Open Font License 1.1 (Google); the rendered
    images are derived from the font and keep its licence.
  * ``unicode-data``: ``emoji/emoji-test.txt``, the list of emoji with their group.
Each fully-qualified line of emoji-test.txt (the "Component" group excluded: bare skin-tone swatches
and hair) is laid out with Pillow's complex text layout (libraqm, so ZWJ sequences, flags and keycaps
become one glyph), drawn in colour into a 136x136 cell (the 136x128 glyph box centred), composited on
a white background, and reduced to 64 px with a Lanczos filter.  A sequence the font does not draw as
one glyph is skipped (the count is kept).  The render is cached as ``.npz`` in the user cache folder,
written atomically and keyed by both files' size and mtime.

Spec strings: ``emoji`` (every glyph) and ``emoji-base`` (without the skin-tone variants, which are
near duplicates of their base glyph).  Split: drawn glyph ``i`` of the full set (file order, so every group
is spread over both) is in ``test`` when ``i % 10 == 9``, else in ``train``; ``emoji-base`` keeps
the same split, minus the skin-tone variants.  ``limit=N`` takes N evenly spaced
glyphs of the split, so every group stays represented.
"""
from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path
from typing import NamedTuple, Optional

import numpy as np
import torch

EMOJI_FONT = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
EMOJI_TEST = Path("/usr/share/unicode/emoji/emoji-test.txt")
FONT_ENV, TEST_ENV = "GANSTUDIO_EMOJI_FONT", "GANSTUDIO_EMOJI_TEST"
LICENSE = "Noto Color Emoji, SIL Open Font License 1.1 (Google)"
GROUPS = ["Smileys & Emotion", "People & Body", "Animals & Nature", "Food & Drink", "Travel & Places",
          "Activities", "Objects", "Symbols", "Flags"]
VARIANTS = ("emoji", "emoji-base")
RESOLUTION = 64  # stored size; other model resolutions are resized from it
FONT_SIZE = 109  # the font's only bitmap strike
CELL = 136  # glyph advance; the glyph box is 136x128, centred vertically in a 136x136 square
BACKGROUND = (255, 255, 255)
SKIN_TONES = range(0x1F3FB, 0x1F400)
TEST_EVERY = 10
_RENDER_VERSION = 1  # bump when the rendering changes, so old caches are not reused


class Emoji(NamedTuple):
    sequence: str  # the code points, as a string
    name: str  # the CLDR short name from emoji-test.txt
    group: int  # index into GROUPS


def is_emoji_spec(spec) -> bool:
    return str(spec).strip().lower() in VARIANTS


def font_path() -> Path:
    return Path(os.environ.get(FONT_ENV) or EMOJI_FONT)


def test_file_path() -> Path:
    return Path(os.environ.get(TEST_ENV) or EMOJI_TEST)


def missing_sources() -> Optional[str]:
    """None when the font and emoji-test.txt are both present, else one line saying what to install."""
    need = [f"{p} (Debian package {pkg}, or set {env})" for p, pkg, env in
            ((font_path(), "fonts-noto-color-emoji", FONT_ENV), (test_file_path(), "unicode-data", TEST_ENV))
            if not p.is_file()]
    if not need:
        return None
    return "the emoji data set needs " + " and ".join(need) + "; `make data` installs both where apt-get can"


def parse_emoji_test(text: str) -> list[Emoji]:
    """The fully-qualified emoji of an emoji-test.txt, in file order, with their group index."""
    out: list[Emoji] = []
    group = -1
    for line in text.splitlines():
        if line.startswith("# group:"):
            name = line.split(":", 1)[1].strip()
            group = GROUPS.index(name) if name in GROUPS else -1
            continue
        if group < 0 or line.startswith("#") or ";" not in line:
            continue
        points, rest = line.split(";", 1)
        status, _, comment = rest.partition("#")
        if status.strip() != "fully-qualified":
            continue
        seq = "".join(chr(int(cp, 16)) for cp in points.split())
        # comment: " 😀 E1.0 grinning face"
        words = comment.split()
        name = " ".join(words[2:]) if len(words) > 2 else ""
        out.append(Emoji(seq, name, group))
    return out


def has_skin_tone(sequence: str) -> bool:
    return any(ord(ch) in SKIN_TONES for ch in sequence)


# -- rendering ------------------------------------------------------------------------------------

def _open_font():
    from PIL import ImageFont, features
    if not features.check("raqm"):
        raise _dataset_error("this Pillow has no complex text layout (libraqm): emoji sequences (flags, skin "
                             "tones, families) would come out as several glyphs")
    return ImageFont.truetype(str(font_path()), FONT_SIZE, layout_engine=ImageFont.Layout.RAQM)


def render_glyph(font, sequence: str, resolution: int = RESOLUTION) -> Optional[np.ndarray]:
    """uint8 [resolution, resolution, 3] of one emoji on the background; None if the font does not
    draw it as a single glyph (an unknown sequence falls apart into its pieces)."""
    from PIL import Image, ImageDraw
    if font.getlength(sequence) > CELL * 1.25:
        return None
    glyph = Image.new("RGBA", (CELL, CELL), (0, 0, 0, 0))
    ImageDraw.Draw(glyph).text((0, (CELL - 128) // 2), sequence, font=font, embedded_color=True)
    if glyph.getbbox() is None:
        return None
    canvas = Image.new("RGBA", (CELL, CELL), BACKGROUND + (255,))
    canvas.alpha_composite(glyph)
    small = canvas.convert("RGB").resize((resolution, resolution), Image.Resampling.LANCZOS)
    return np.asarray(small, dtype=np.uint8)


def render_all(entries: list[Emoji], resolution: int = RESOLUTION) -> tuple[np.ndarray, np.ndarray, int]:
    """(images uint8 [N, 3, R, R], kept indices into entries, number skipped)."""
    font = _open_font()
    images, kept = [], []
    for i, e in enumerate(entries):
        img = render_glyph(font, e.sequence, resolution)
        if img is not None:
            images.append(img)
            kept.append(i)
    if not images:
        raise _dataset_error(f"{font_path()}: no emoji could be drawn with this font")
    stack = np.stack(images).transpose(0, 3, 1, 2).copy()
    return stack, np.asarray(kept, dtype=np.int64), len(entries) - len(kept)


# -- cache ---------------------------------------------------------------------------------------

def user_cache_dir() -> Path:
    """Where rebuildable data goes: $GANSTUDIO_CACHE, else the platform's user cache folder."""
    if os.environ.get("GANSTUDIO_CACHE"):
        return Path(os.environ["GANSTUDIO_CACHE"])
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "ganstudio"


def _cache_key() -> str:
    h = hashlib.sha256(f"v{_RENDER_VERSION} {RESOLUTION} {BACKGROUND}".encode())
    for p in (font_path(), test_file_path()):
        st = p.stat()
        h.update(f"|{p.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def cache_path() -> Path:
    return user_cache_dir() / f"emoji-{RESOLUTION}px-{_cache_key()}.npz"


class EmojiSet(NamedTuple):
    images: np.ndarray  # uint8 [N, 3, 64, 64]
    groups: np.ndarray  # int64 [N], index into GROUPS
    sequences: np.ndarray  # str [N]
    names: np.ndarray  # str [N]
    skipped: int  # fully-qualified emoji the font could not draw as one glyph


def load_emoji_set() -> EmojiSet:
    """Every drawable glyph, from the cache or rendered (a few seconds) and cached."""
    problem = missing_sources()
    if problem:
        raise _dataset_error(problem)
    path = cache_path()
    try:
        with np.load(path, allow_pickle=False) as z:
            return EmojiSet(z["images"], z["groups"], z["sequences"], z["names"], int(z["skipped"]))
    except (OSError, ValueError, KeyError, EOFError):
        pass  # absent or unreadable: render again
    entries = parse_emoji_test(test_file_path().read_text(encoding="utf-8"))
    if not entries:
        raise _dataset_error(f"{test_file_path()}: no fully-qualified emoji found (not an emoji-test.txt?)")
    images, kept, skipped = render_all(entries)
    chosen = [entries[i] for i in kept]
    data = EmojiSet(images, np.array([e.group for e in chosen], dtype=np.int64),
                    np.array([e.sequence for e in chosen]), np.array([e.name for e in chosen]), skipped)
    _write_cache(path, data)
    return data


def _write_cache(path: Path, data: EmojiSet) -> None:
    from ganstudio._io import atomic_path
    try:
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.savez_compressed(f, images=data.images, groups=data.groups, sequences=data.sequences,
                                    names=data.names, skipped=np.int64(data.skipped))
    except OSError as e:  # a read-only home still trains, rendering each time
        print(f"note: could not cache the emoji renders in {path.parent}: {e}", file=sys.stderr)


# -- the data set ----------------------------------------------------------------------------------

def select(data: EmojiSet, variant: str, split: str, limit: Optional[int]) -> np.ndarray:
    """Indices into data for a variant ("emoji", "emoji-base"), split and limit."""
    # the split is drawn on the full set, so emoji-base's test glyphs are a subset of emoji's
    idx = np.arange(len(data.images))
    in_test = (idx % TEST_EVERY) == TEST_EVERY - 1
    keep = in_test if split == "test" else ~in_test
    if variant == "emoji-base":
        keep &= np.array([not has_skin_tone(str(s)) for s in data.sequences], dtype=bool)
    idx = idx[keep]
    if limit is not None and limit < len(idx):
        idx = idx[np.linspace(0, len(idx) - 1, limit).round().astype(np.int64)]
    return idx


def make_emoji_dataset(spec: str, resolution: int, channels: int, *, split: str = "train", flip: bool = False,
                       limit: Optional[int] = None):
    """An ImageDataset of the emoji set (classes = GROUPS) at the model's geometry."""
    from ganstudio.training.data import ImageDataset
    variant = str(spec).strip().lower()
    data = load_emoji_set()
    idx = select(data, variant, split, limit)
    ds = ImageDataset(torch.from_numpy(data.images[idx]), torch.from_numpy(data.groups[idx]), class_names=GROUPS,
                      resolution=resolution, channels=channels, flip=flip, name=variant,
                      source=f"{font_path()} ({LICENSE})")
    ds.sequences = [str(s) for s in data.sequences[idx]]
    ds.glyph_names = [str(s) for s in data.names[idx]]
    return ds


def describe_emoji(spec: str) -> str:
    variant = str(spec).strip().lower()
    problem = missing_sources()
    if problem:
        return f"{variant}: {problem}"
    what = "every glyph" if variant == "emoji" else "every glyph without skin-tone variants"
    return (f"{variant}: {what} of Noto Color Emoji (SIL OFL 1.1) as 64x64 RGB on white, "
            f"{len(GROUPS)} classes (Unicode groups)")


def _dataset_error(msg: str):
    from ganstudio.training.data import DatasetError
    return DatasetError(msg)
