"""Training data sets: image folders, IDX files (MNIST layout), and named sets.

``make_dataset(spec, resolution, channels)`` is the one way in.  Every data set yields
``(image, label)``: a float32 tensor ``[C, H, W]`` in [-1, 1] and an int label (-1 when the
data set has no labels).  Images are decoded once, brought to the model's geometry and kept
in memory as a uint8 tensor (``.images``, ``[N, C_stored, H, W]``, with ``.labels`` beside it)
so that a training loop can also slice whole batches with :meth:`ImageDataset.batch`.

Geometry:
  * Fashion-MNIST / MNIST (28 px) are first padded by 2 px with the background value (black,
    i.e. -1) to 32 px, the layout the shipped classifier and most GAN papers use, then resized
    when the model wants another resolution.  Padding keeps the 32 px images pixel-exact.
  * Other images: the shorter side is resized to the resolution (bilinear with antialiasing),
    then the centre is cropped to a square.
  * Channels: grey images feed an RGB model as three equal channels; RGB images feed a grey
    model as ITU-R 601 luma.
Flips: with ``flip=True`` image ``i`` is mirrored in epoch ``e`` iff a hash of
(``flip_seed``, ``e``, ``i``) is odd.  Call :meth:`ImageDataset.set_epoch` each epoch; the same
seed, epoch and index always give the same decision, whatever the worker or order.
"""
from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import NamedTuple, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ganstudio.imaging import upright_8bit

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                         "Bag", "Ankle boot"]
MNIST_CLASSES = [str(i) for i in range(10)]
SYSTEM_DATA_DIRS = {"fashion-mnist": Path("/usr/share/datasets/fashion-mnist"), "mnist": Path("/usr/share/datasets/mnist")}
NAMED = ("fashion-mnist", "mnist", "digits", "shapes", "shapes:N", "shapes-upright", "emoji", "emoji-base")
# Above this many bytes the resized copy is not kept; images are resized per item instead.
MAX_CACHE_BYTES = 768 * 2 ** 20
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class DatasetError(ValueError):
    """A data set is missing, empty or unreadable; the message says what was looked for where."""


# -- the data set -----------------------------------------------------------------------------

class ImageDataset(torch.utils.data.Dataset):
    """Images held as uint8 ``[N, C_stored, h, w]``; items are converted on access.

    ``C_stored`` is 1 or 3; a grey set feeding an RGB model is stored once and repeated on
    access.  When ``h, w`` differ from ``resolution`` (a set too big to keep resized), items are
    resized on access.
    """

    def __init__(self, images: torch.Tensor, labels: Optional[torch.Tensor], *, resolution: int, channels: int,
                 class_names: Sequence[str] = (), flip: bool = False, name: str = "", source: str = ""):
        if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[1] not in (1, 3):
            raise ValueError(f"images must be uint8 [N, 1|3, H, W], got {images.dtype} {list(images.shape)}")
        if len(images) == 0:
            raise DatasetError(f"{name or source}: no images")
        self.resolution, self.channels = int(resolution), int(channels)
        self.class_names = list(class_names)
        self.num_classes = len(self.class_names)
        self.flip = bool(flip)
        self.flip_seed = 0
        self.epoch = 0
        self.name, self.source = name, source
        n = len(images)
        self.labels = (labels.long() if labels is not None else torch.full((n,), -1, dtype=torch.long))
        if self.channels == 1 and images.shape[1] == 3:
            images = _luma(images)  # store the converted copy: a third of the memory
        if tuple(images.shape[-2:]) != (self.resolution, self.resolution):
            per_image = images.shape[1] * self.resolution ** 2
            if per_image * n <= MAX_CACHE_BYTES:
                images = _resize_chunked(images, self.resolution)
        self.images = images.contiguous()

    def __len__(self) -> int:
        return len(self.images)

    def set_epoch(self, epoch: int, seed: Optional[int] = None) -> None:
        """Choose the flip pattern: a function of (seed, epoch, index) only."""
        self.epoch = int(epoch)
        if seed is not None:
            self.flip_seed = int(seed)

    def flip_mask(self, indices: torch.Tensor) -> torch.Tensor:
        """Bool [len(indices)]: which of these items are mirrored this epoch."""
        if not self.flip:
            return torch.zeros(len(indices), dtype=torch.bool)
        return torch.from_numpy(_hash_bits(indices.numpy(), self.flip_seed, self.epoch))

    def batch(self, indices: torch.Tensor | Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """Fast path for a loop: (float32 [B, C, H, W] in [-1, 1], labels [B]) for these indices."""
        idx = torch.as_tensor(indices, dtype=torch.long)
        raw = self.images[idx]
        if raw.shape[-1] != self.resolution or raw.shape[-2] != self.resolution:
            raw = _resize_chunked(raw, self.resolution)
        img = raw.float().div_(127.5).sub_(1.0)
        flips = self.flip_mask(idx)
        if flips.any():
            img[flips] = img[flips].flip(-1)
        if img.shape[1] != self.channels:
            img = img.expand(-1, self.channels, -1, -1).contiguous()
        return img, self.labels[idx]

    def __getitem__(self, i: int):
        if not -len(self) <= i < len(self):
            raise IndexError(f"index {i} out of range for a data set of {len(self)} images")
        i = i % len(self)
        img, lab = self.batch([i])
        return img[0], int(lab[0])

    def describe(self) -> str:
        kind = f"{self.num_classes} classes" if self.num_classes else "unlabelled"
        return (f"{self.name or self.source}: {len(self)} images, {kind}, "
                f"as {self.resolution}x{self.resolution} {'RGB' if self.channels == 3 else 'grey'}"
                + (", flipped at random" if self.flip else ""))


class ShapesDataset(ImageDataset):
    """The procedural shapes set: an ImageDataset with ``.factors`` [N, F] and ``.factor_names``.

    With ``flip=True`` the factors describe the unflipped image (x and rotation change sign
    under a mirror), so leave flips off when measuring disentanglement.
    """

    def __init__(self, images, labels, factors: np.ndarray, factor_names: Sequence[str], **kw):
        super().__init__(images, labels, **kw)
        self.factors = factors
        self.factor_names = list(factor_names)


# -- entry points -------------------------------------------------------------------------------

def make_dataset(spec: str, resolution: int, channels: int, *, split: str = "train", flip: bool = False,
                 class_folders: bool = False, limit: Optional[int] = None) -> ImageDataset:
    """Open the data set ``spec`` (a folder, IDX file(s) or a name) at the model's geometry.

    Raises :class:`DatasetError` with a one-line message when it is missing, empty or unreadable.
    """
    if channels not in (1, 3):
        raise DatasetError(f"channels must be 1 or 3, got {channels}")
    if not isinstance(resolution, int) or resolution < 4 or resolution > 4096:
        raise DatasetError(f"resolution must be an integer in [4, 4096], got {resolution!r}")
    if split not in ("train", "test"):
        raise DatasetError(f"split must be 'train' or 'test', got {split!r}")
    if limit is not None and limit < 1:
        raise DatasetError(f"limit must be a positive number of images, got {limit}")
    spec = str(spec).strip()
    if not spec:
        raise DatasetError("no data set given (a folder, IDX files, or one of: " + ", ".join(NAMED) + ")")
    kw = dict(resolution=resolution, channels=channels, flip=flip)
    key = spec.lower()
    if key in ("fashion-mnist", "fashion_mnist", "fmnist", "mnist"):
        name = "mnist" if key == "mnist" else "fashion-mnist"
        folder = _find_named(name)
        images, labels = load_idx_pair(folder, split, limit=limit)
        classes = MNIST_CLASSES if name == "mnist" else FASHION_MNIST_CLASSES
        return ImageDataset(_pad28(images), labels, class_names=classes, name=name, source=str(folder), **kw)
    if key == "digits":
        images, labels = _load_digits(split, limit)
        return ImageDataset(images, labels, class_names=MNIST_CLASSES, name="digits",
                            source="scikit-learn digits", **kw)
    from ganstudio.training.shapes import is_shapes_spec
    if is_shapes_spec(key):
        from ganstudio.training.shapes import make_shapes_dataset
        return make_shapes_dataset(spec, resolution, channels, split=split, flip=flip, limit=limit)
    from ganstudio.training.emoji import is_emoji_spec
    if is_emoji_spec(key):
        from ganstudio.training.emoji import make_emoji_dataset
        return make_emoji_dataset(spec, resolution, channels, split=split, flip=flip, limit=limit)
    path = Path(spec).expanduser()
    if not path.exists():
        raise DatasetError(f"{spec}: no such file or folder, and not a known data set name "
                           f"({', '.join(NAMED)})")
    if _looks_like_idx(path):
        images, labels = load_idx_pair(path, split, limit=limit)
        pad = images.shape[-1] == 28 and images.shape[-2] == 28
        return ImageDataset(_pad28(images) if pad else images, labels, class_names=_idx_classes(labels),
                            name=path.name, source=str(path), **kw)
    if path.is_dir():
        return _image_folder(path, class_folders=class_folders, limit=limit, **kw)
    raise DatasetError(f"{spec}: neither an image folder nor an IDX file (train-images-idx3-ubyte[.gz] ...)")


class DataGeometry(NamedTuple):
    """What a data set is made of: ``channels`` 1 (grey) or 3 (colour), and ``resolution`` when all its
    images share one square size (None: any size, or sizes that differ)."""
    channels: int
    resolution: Optional[int]


def data_geometry(spec: str, *, probe: int = 64) -> Optional[DataGeometry]:
    """The data set's own channels and size, from names, IDX headers or up to ``probe`` images of a
    folder (evenly spread); None when it cannot tell.  Never raises."""
    try:
        key = str(spec).strip().lower()
        if key in ("fashion-mnist", "fashion_mnist", "fmnist", "mnist"):
            return DataGeometry(1, 32)  # 28 px, padded to 32 (see the module docstring)
        if key == "digits":
            return DataGeometry(1, None)  # 8 px: too small for the models, always resized
        from ganstudio.training.shapes import is_shapes_spec
        if is_shapes_spec(key):
            return DataGeometry(3, None)  # rendered in colour at the size asked for
        from ganstudio.training.emoji import RESOLUTION, is_emoji_spec
        if is_emoji_spec(key):
            return DataGeometry(3, RESOLUTION)  # colour glyphs stored at 64 px (it trained grey 32 px)
        path = Path(str(spec)).expanduser()
        if _looks_like_idx(path):
            with open(_idx_files(path, "train")[0], "rb") as f:
                gz = f.read(2) == b"\x1f\x8b"
            with (gzip.open if gz else open)(_idx_files(path, "train")[0], "rb") as f:
                head = f.read(16)
            h, w = int.from_bytes(head[8:12], "big"), int.from_bytes(head[12:16], "big")
            return DataGeometry(1, 32 if (h, w) == (28, 28) else (h if h == w else None))
        if path.is_dir():
            return _folder_geometry(_list_images(path), probe)
    except (DatasetError, OSError, ValueError, IndexError):
        return None
    return None


def _folder_geometry(files: list[Path], probe: int) -> Optional[DataGeometry]:
    from PIL import Image
    if not files:
        return None
    picked = files if len(files) <= probe else [files[i * len(files) // probe] for i in range(probe)]
    colour, sizes = False, set()
    for f in picked:
        try:
            with Image.open(f) as im:
                sizes.add(im.size)
                if not colour and im.mode not in ("1", "L", "LA", "I", "I;16", "F"):
                    rgb = np.asarray(im.convert("RGB"))
                    colour = bool((rgb[..., 0] != rgb[..., 1]).any() or (rgb[..., 1] != rgb[..., 2]).any())
        except (OSError, ValueError, Image.DecompressionBombError):
            continue  # unreadable files are reported when the data set is opened
    if not sizes:
        return None
    (w, h), = sizes if len(sizes) == 1 else [(0, 1)]
    return DataGeometry(3 if colour else 1, w if w == h else None)


def describe_dataset(spec: str) -> str:
    """One short line about a data set spec for the GUI; never raises."""
    try:
        key = str(spec).strip().lower()
        if key in ("fashion-mnist", "fashion_mnist", "fmnist", "mnist"):
            name = "mnist" if key == "mnist" else "fashion-mnist"
            folder = _find_named(name)
            n = _idx_count(_idx_files(folder, "train")[0])
            return f"{name}: {n} training images of 28x28 grey (padded to 32), 10 classes, in {folder}"
        if key == "digits":
            return "digits: 1797 images of 8x8 grey from scikit-learn, 10 classes"
        from ganstudio.training.shapes import SHAPE_NAMES, is_shapes_spec, parse_shapes_spec, shapes_variant
        if is_shapes_spec(key):
            n, variant = parse_shapes_spec(spec), shapes_variant(spec)
            return (f"{variant}: {n} procedural RGB images, {len(SHAPE_NAMES)} shapes "
                    f"({', '.join(SHAPE_NAMES)}), known factors{', upright' if variant != 'shapes' else ''}")
        from ganstudio.training.emoji import describe_emoji, is_emoji_spec
        if is_emoji_spec(key):
            return describe_emoji(key)
        path = Path(str(spec)).expanduser()
        if not path.exists():
            return f"{spec}: not found"
        if _looks_like_idx(path):
            f = _idx_files(path, "train")[0]
            return f"{path.name}: {_idx_count(f)} images in IDX files"
        if path.is_dir():
            files = _list_images(path)
            subs = sorted({f.relative_to(path).parts[0] for f in files if len(f.relative_to(path).parts) > 1})
            extra = f", {len(subs)} subfolders (usable as classes)" if subs else ""
            return f"{path.name}: {len(files)} images{extra}" if files else f"{path.name}: no images found"
        return f"{spec}: not a data set"
    except (DatasetError, OSError) as e:
        return str(e)


# -- IDX ------------------------------------------------------------------------------------------

def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Parse one IDX file (optionally gzipped) into a numpy array, validating its header."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            head = f.read(2)
            f.seek(0)
            raw = gzip.decompress(f.read()) if head == b"\x1f\x8b" else f.read()
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise DatasetError(f"{path}: cannot read IDX file: {e}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES or not 1 <= raw[3] <= 4:
        raise DatasetError(f"{path}: not an IDX file (bad magic number {raw[:4].hex() or 'none'}; "
                           "expected 0000 08 01..04)")
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise DatasetError(f"{path}: IDX header truncated")
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    expected = int(np.prod(dims)) * dtype.itemsize
    body = raw[4 + 4 * ndim:]
    if len(body) != expected:
        raise DatasetError(f"{path}: IDX dims {dims} need {expected} data bytes, the file has {len(body)}")
    return np.frombuffer(body, dtype=dtype).reshape(dims)


def load_idx_pair(path: Path, split: str = "train", *, limit: Optional[int] = None):
    """Images uint8 [N, 1, H, W] and labels int64 [N] from an IDX folder or an images file."""
    img_file, lab_file = _idx_files(path, split)
    images = read_idx(img_file)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DatasetError(f"{img_file}: expected uint8 images [N, H, W], got {images.dtype} {list(images.shape)}")
    if len(images) == 0:
        raise DatasetError(f"{img_file}: holds no images")
    labels = None
    if lab_file is not None:
        lab = read_idx(lab_file)
        if lab.ndim != 1:
            raise DatasetError(f"{lab_file}: expected labels [N], got dims {list(lab.shape)}")
        if len(lab) != len(images):
            raise DatasetError(f"{lab_file}: {len(lab)} labels for {len(images)} images in {img_file.name}")
        labels = torch.from_numpy(lab.astype(np.int64))
    if limit is not None:
        images = images[:limit]
        labels = labels[:limit] if labels is not None else None
    return torch.from_numpy(images.copy()).unsqueeze(1), labels


def _idx_prefix(split: str) -> str:
    return "train" if split == "train" else "t10k"


def _idx_files(path: Path, split: str) -> tuple[Path, Optional[Path]]:
    """The images file and (when present) the labels file of a split."""
    path = Path(path)
    if path.is_file():
        img = path
        name = img.name
        lab_name = name.replace("images-idx3", "labels-idx1") if "images-idx3" in name else None
        lab = img.with_name(lab_name) if lab_name else None
        return img, lab if lab is not None and lab.is_file() else None
    if not path.is_dir():
        raise DatasetError(f"{path}: no such IDX folder")
    p = _idx_prefix(split)
    for suffix in ("", ".gz"):
        img = path / f"{p}-images-idx3-ubyte{suffix}"
        if img.is_file():
            break
    else:
        raise DatasetError(f"{path}: no {p}-images-idx3-ubyte[.gz] for the {split!r} split")
    for suffix in ("", ".gz"):
        lab = path / f"{p}-labels-idx1-ubyte{suffix}"
        if lab.is_file():
            return img, lab
    return img, None


def _looks_like_idx(path: Path) -> bool:
    if path.is_file():
        return "idx" in path.name.lower() and "ubyte" in path.name.lower()
    if path.is_dir():
        return any(path.glob("*-images-idx3-ubyte*"))
    return False


def _idx_count(path: Path) -> int:
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    with (gzip.open if gz else open)(path, "rb") as f:
        head = f.read(8)
    return int.from_bytes(head[4:8], "big")


def _idx_classes(labels: Optional[torch.Tensor]) -> list[str]:
    if labels is None:
        return []
    return [str(i) for i in range(int(labels.max()) + 1)]


def _find_named(name: str) -> Path:
    """The folder holding a named IDX set: $GANSTUDIO_DATA/<name>, $GANSTUDIO_DATA, then the system folder."""
    candidates = []
    env = os.environ.get("GANSTUDIO_DATA")
    if env:
        candidates += [Path(env) / name, Path(env)]
    candidates.append(SYSTEM_DATA_DIRS[name])
    for c in candidates:
        if c.is_dir() and (any(c.glob("train-images-idx3-ubyte*")) or any(c.glob("t10k-images-idx3-ubyte*"))):
            return c
    where = ", ".join(str(c) for c in candidates)
    hint = " (install the dataset-fashion-mnist package or set GANSTUDIO_DATA)" if name == "fashion-mnist" \
        else " (set GANSTUDIO_DATA to a folder holding its IDX files)"
    raise DatasetError(f"{name}: no IDX files (train-images-idx3-ubyte[.gz]) in {where}{hint}")


def _pad28(images: torch.Tensor) -> torch.Tensor:
    # 28 px MNIST-style images get a 2 px black border: 32 px, the classifier's geometry.
    if images.shape[-1] == 28 and images.shape[-2] == 28:
        return F.pad(images, (2, 2, 2, 2), value=0)
    return images


# -- digits ---------------------------------------------------------------------------------------

def _load_digits(split: str, limit: Optional[int]):
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise DatasetError("digits: needs scikit-learn (pip install scikit-learn)") from None
    d = load_digits()
    # Pixel values are counts 0..16; scale to 0..255 so that white is 255 like the other sets.
    images = np.clip(np.round(d.images * (255.0 / 16.0)), 0, 255).astype(np.uint8)
    labels = d.target.astype(np.int64)
    # A fixed split: every fifth image is a test image (no randomness, same on every machine).
    keep = (np.arange(len(images)) % 5 == 0) if split == "test" else (np.arange(len(images)) % 5 != 0)
    images, labels = images[keep], labels[keep]
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    return torch.from_numpy(images).unsqueeze(1), torch.from_numpy(labels)


# -- image folders --------------------------------------------------------------------------------

def _list_images(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTS
                  and not any(part.startswith(".") for part in p.relative_to(root).parts))


def _image_folder(root: Path, *, resolution: int, channels: int, flip: bool, class_folders: bool,
                  limit: Optional[int]) -> ImageDataset:
    from PIL import Image, UnidentifiedImageError

    files = _list_images(root)
    if not files:
        raise DatasetError(f"{root}: no images ({', '.join(e[1:] for e in IMAGE_EXTS)}) in this folder "
                           "or its subfolders")
    class_names: list[str] = []
    labels = None
    if class_folders:
        loose = [f for f in files if len(f.relative_to(root).parts) == 1]
        if loose:
            raise DatasetError(f"{root}: class folders asked for, but {len(loose)} image(s) lie directly in "
                               f"the folder (e.g. {loose[0].name}); move them into a class subfolder")
        class_names = sorted({f.relative_to(root).parts[0] for f in files})
        index = {c: i for i, c in enumerate(class_names)}
        labels = torch.tensor([index[f.relative_to(root).parts[0]] for f in files], dtype=torch.long)
    if limit is not None:
        files = files[:limit]
        labels = labels[:limit] if labels is not None else None
    mode = "L" if channels == 1 else "RGB"
    out = torch.empty((len(files), channels, resolution, resolution), dtype=torch.uint8)
    for i, f in enumerate(files):
        try:
            with Image.open(f) as im:
                im = _flatten_alpha(upright_8bit(im)).convert(mode)
                arr = _fit_pil(im, resolution)
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as e:
            raise DatasetError(f"{f}: unreadable image ({type(e).__name__}: {e})") from None
        t = torch.from_numpy(arr)
        out[i] = t[None] if t.ndim == 2 else t.permute(2, 0, 1)
    return ImageDataset(out, labels, resolution=resolution, channels=channels, class_names=class_names,
                        flip=flip, name=root.name, source=str(root))


def _flatten_alpha(im):
    # Transparent pixels become white rather than whatever colour they happen to store.
    from PIL import Image
    if im.mode in ("RGBA", "LA") or (im.mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA")
        bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
        return Image.alpha_composite(bg, im)
    return im


def _fit_pil(im, resolution: int) -> np.ndarray:
    """Resize the shorter side to ``resolution`` (antialiased bilinear), then centre-crop."""
    from PIL import Image
    w, h = im.size
    s = resolution / min(w, h)
    nw, nh = max(resolution, round(w * s)), max(resolution, round(h * s))
    if (nw, nh) != (w, h):
        im = im.resize((nw, nh), Image.BILINEAR, reducing_gap=None)
    left, top = (nw - resolution) // 2, (nh - resolution) // 2
    return np.array(im.crop((left, top, left + resolution, top + resolution)))


# -- tensor helpers -------------------------------------------------------------------------------

def _luma(images: torch.Tensor) -> torch.Tensor:
    w = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    return (images.float() * w).sum(1, keepdim=True).round_().clamp_(0, 255).to(torch.uint8)


def resize_square(images: torch.Tensor, resolution: int) -> torch.Tensor:
    """Float [N, C, H, W] -> [N, C, r, r]: shorter side to r (bilinear, antialiased), centre crop."""
    h, w = images.shape[-2:]
    if (h, w) == (resolution, resolution):
        return images
    s = resolution / min(h, w)
    nh, nw = max(resolution, round(h * s)), max(resolution, round(w * s))
    out = F.interpolate(images, size=(nh, nw), mode="bilinear", align_corners=False, antialias=nh < h or nw < w)
    top, left = (nh - resolution) // 2, (nw - resolution) // 2
    return out[..., top:top + resolution, left:left + resolution]


def _resize_chunked(images: torch.Tensor, resolution: int, chunk: int = 2048) -> torch.Tensor:
    out = []
    for i in range(0, len(images), chunk):
        x = resize_square(images[i:i + chunk].float(), resolution)
        out.append(x.round_().clamp_(0, 255).to(torch.uint8))
    return torch.cat(out)


def _hash_bits(indices: np.ndarray, seed: int, epoch: int) -> np.ndarray:
    """One pseudo-random bit per index from (seed, epoch, index): a splitmix64 finaliser."""
    with np.errstate(over="ignore"):
        x = (indices.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
             + np.uint64(seed & 0xFFFFFFFF) * np.uint64(0xBF58476D1CE4E5B9)
             + np.uint64(epoch & 0xFFFFFFFF) * np.uint64(0x94D049BB133111EB))
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return (x & np.uint64(1)).astype(bool)
