"""Data sets: IDX parsing, image folders, named sets, geometry, channels, flips, errors."""
import gzip
import struct

import numpy as np
import pytest
import torch
from PIL import Image

from ganstudio.training import data as D
from ganstudio.training.data import DatasetError, describe_dataset, make_dataset, read_idx


def _idx_bytes(arr: np.ndarray) -> bytes:
    code = {np.dtype(np.uint8): 0x08}[arr.dtype]
    head = bytes([0, 0, code, arr.ndim]) + b"".join(struct.pack(">I", d) for d in arr.shape)
    return head + arr.tobytes()


def _write_idx(path, arr, gz=False):
    raw = _idx_bytes(arr)
    path.write_bytes(gzip.compress(raw) if gz else raw)


def _idx_folder(tmp_path, n=6, gz=False, prefix="train", size=28):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, size, size), dtype=np.uint8)
    labels = (np.arange(n) % 3).astype(np.uint8)
    sfx = ".gz" if gz else ""
    _write_idx(tmp_path / f"{prefix}-images-idx3-ubyte{sfx}", images, gz)
    _write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte{sfx}", labels, gz)
    return images, labels


@pytest.mark.parametrize("gz", [False, True])
def test_idx_folder_raw_and_gzip(tmp_path, gz):
    images, labels = _idx_folder(tmp_path, gz=gz)
    ds = make_dataset(str(tmp_path), 32, 1)
    assert len(ds) == 6 and ds.num_classes == 3 and ds.class_names == ["0", "1", "2"]
    x, y = ds[4]
    assert x.shape == (1, 32, 32) and x.dtype == torch.float32 and y == int(labels[4])
    # 28 px is padded by 2 px of background (-1), the inside is exact.
    assert torch.all(x[:, :2] == -1) and torch.all(x[:, :, -2:] == -1)
    inner = ((x[0, 2:30, 2:30] + 1) * 127.5).round().to(torch.uint8).numpy()
    np.testing.assert_array_equal(inner, images[4])


def test_idx_images_file_finds_labels_beside_it(tmp_path):
    _idx_folder(tmp_path, n=4)
    ds = make_dataset(str(tmp_path / "train-images-idx3-ubyte"), 28, 1)
    assert len(ds) == 4 and ds[1][1] == 1
    assert ds[0][0].shape == (1, 28, 28)  # 28 -> 32 pad then back to 28


def test_idx_test_split_and_limit(tmp_path):
    _idx_folder(tmp_path, n=6)
    _idx_folder(tmp_path, n=3, prefix="t10k")
    assert len(make_dataset(str(tmp_path), 32, 1, split="test")) == 3
    assert len(make_dataset(str(tmp_path), 32, 1, limit=2)) == 2


def test_idx_bad_magic_and_truncation(tmp_path):
    bad = tmp_path / "train-images-idx3-ubyte"
    bad.write_bytes(b"\x12\x34\x08\x03" + b"\0" * 40)
    with pytest.raises(DatasetError, match="bad magic"):
        read_idx(bad)
    with pytest.raises(DatasetError, match="bad magic"):
        make_dataset(str(tmp_path), 32, 1)
    arr = np.zeros((2, 4, 4), np.uint8)
    bad.write_bytes(_idx_bytes(arr)[:-3])
    with pytest.raises(DatasetError, match="need 32 data bytes"):
        read_idx(bad)
    (tmp_path / "x-idx1-ubyte.gz").write_bytes(b"\x1f\x8bnot really gzip")
    with pytest.raises(DatasetError, match="cannot read"):
        read_idx(tmp_path / "x-idx1-ubyte.gz")


def test_idx_label_count_mismatch(tmp_path):
    _write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((3, 28, 28), np.uint8))
    _write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros((2,), np.uint8))
    with pytest.raises(DatasetError, match="2 labels for 3 images"):
        make_dataset(str(tmp_path), 32, 1)


def test_named_set_found_through_env(tmp_path, monkeypatch):
    folder = tmp_path / "fashion-mnist"
    folder.mkdir()
    _idx_folder(folder, n=5, gz=True)
    monkeypatch.setenv("GANSTUDIO_DATA", str(tmp_path))
    monkeypatch.setitem(D.SYSTEM_DATA_DIRS, "fashion-mnist", tmp_path / "nowhere")
    ds = make_dataset("fashion-mnist", 32, 3)
    assert len(ds) == 5 and ds.class_names[0] == "T-shirt/top" and ds.num_classes == 10
    assert ds[0][0].shape == (3, 32, 32)
    assert "fashion-mnist" in describe_dataset("fashion-mnist")


def test_named_set_missing_says_where(tmp_path, monkeypatch):
    monkeypatch.setenv("GANSTUDIO_DATA", str(tmp_path))
    monkeypatch.setitem(D.SYSTEM_DATA_DIRS, "mnist", tmp_path / "nowhere")
    with pytest.raises(DatasetError) as e:
        make_dataset("mnist", 32, 1)
    msg = str(e.value)
    assert "\n" not in msg and str(tmp_path / "nowhere") in msg and "train-images-idx3-ubyte" in msg


def _png(path, arr):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)


def test_image_folder_with_class_subfolders(tmp_path):
    red = np.zeros((20, 30, 3), np.uint8)
    red[..., 0] = 255
    blue = np.zeros((24, 24, 3), np.uint8)
    blue[..., 2] = 255
    _png(tmp_path / "cats" / "a.png", red)
    _png(tmp_path / "cats" / "sub" / "b.jpg", red)  # recursive: still class "cats"
    _png(tmp_path / "dogs" / "c.png", blue)
    ds = make_dataset(str(tmp_path), 16, 3, class_folders=True)
    assert ds.class_names == ["cats", "dogs"] and ds.num_classes == 2
    assert len(ds) == 3 and sorted(int(ds[i][1]) for i in range(3)) == [0, 0, 1]
    x, y = ds[2]
    assert y == 1 and x.shape == (3, 16, 16)
    assert torch.allclose(x[2], torch.ones(16, 16)) and torch.allclose(x[0], -torch.ones(16, 16))
    plain = make_dataset(str(tmp_path), 16, 3)
    assert plain.num_classes == 0 and plain[0][1] == -1


def test_image_folder_loose_images_with_class_folders(tmp_path):
    _png(tmp_path / "a" / "x.png", np.zeros((8, 8, 3), np.uint8))
    _png(tmp_path / "loose.png", np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(DatasetError, match="directly in the folder"):
        make_dataset(str(tmp_path), 8, 3, class_folders=True)


def test_missing_empty_and_unreadable(tmp_path):
    with pytest.raises(DatasetError, match="no such file or folder"):
        make_dataset(str(tmp_path / "absent"), 32, 3)
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no images here")
    with pytest.raises(DatasetError, match="no images"):
        make_dataset(str(tmp_path / "empty"), 32, 3)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "bad.png").write_bytes(b"this is not a png")
    with pytest.raises(DatasetError, match="unreadable image"):
        make_dataset(str(tmp_path / "broken"), 32, 3)
    with pytest.raises(DatasetError):
        make_dataset("", 32, 3)
    with pytest.raises(DatasetError, match="channels"):
        make_dataset("digits", 32, 2)


def test_resize_and_centre_crop(tmp_path):
    # 60x20: a white middle third between black sides; the centre crop keeps only the middle.
    img = np.zeros((20, 60), np.uint8)
    img[:, 20:40] = 255
    _png(tmp_path / "wide.png", img)
    ds = make_dataset(str(tmp_path), 10, 1)
    x = ds[0][0]
    assert x.shape == (1, 10, 10) and torch.all(x[:, :, 1:-1] > 0.95)
    assert torch.all(x[:, :, [0, -1]] > 0.5)  # the filter blends only the outermost columns
    # Downscaling is antialiased: a 1-px checkerboard averages to mid grey, not aliasing to black/white.
    checker = ((np.indices((64, 64)).sum(0) % 2) * 255).astype(np.uint8)
    _png(tmp_path / "wide.png", checker)
    x = make_dataset(str(tmp_path), 16, 1)[0][0]
    assert x.abs().max() < 0.1


def test_channel_conversion(tmp_path):
    grey = np.full((8, 8), 200, np.uint8)
    _png(tmp_path / "g" / "grey.png", grey)
    x = make_dataset(str(tmp_path / "g"), 8, 3)[0][0]
    assert x.shape == (3, 8, 8) and torch.equal(x[0], x[1]) and torch.equal(x[1], x[2])
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[..., 1] = 255  # pure green: luma 0.587 * 255 = 150
    _png(tmp_path / "c" / "green.png", rgb)
    x = make_dataset(str(tmp_path / "c"), 8, 1)[0][0]
    assert x.shape == (1, 8, 8)
    assert torch.allclose(x, torch.full_like(x, 150 / 127.5 - 1), atol=1 / 127.5)


def test_digits():
    ds = make_dataset("digits", 8, 1)
    test = make_dataset("digits", 8, 1, split="test")
    assert len(ds) + len(test) == 1797 and len(test) == 360
    x, y = ds[0]
    assert x.shape == (1, 8, 8) and 0 <= y < 10 and ds.num_classes == 10
    assert x.min() >= -1 and x.max() <= 1 and x.min() == -1 and x.max() > 0.9
    big = make_dataset("digits", 32, 3, limit=7)
    assert len(big) == 7 and big[0][0].shape == (3, 32, 32)


def test_flips_are_seeded_by_epoch_and_index():
    imgs = torch.arange(4 * 4, dtype=torch.uint8).view(1, 1, 4, 4).repeat(200, 1, 1, 1)
    ds = D.ImageDataset(imgs, None, resolution=4, channels=1, flip=True)
    idx = torch.arange(200)
    ds.set_epoch(0, seed=1)
    m0 = ds.flip_mask(idx)
    assert torch.equal(m0, ds.flip_mask(idx)) and 60 < int(m0.sum()) < 140
    ds.set_epoch(1, seed=1)
    m1 = ds.flip_mask(idx)
    assert not torch.equal(m0, m1)
    # the decision for an index does not depend on which batch it comes in
    assert torch.equal(ds.flip_mask(idx[50:60]), m1[50:60])
    x, _ = ds.batch(idx[:20])
    orig = imgs[0].float() / 127.5 - 1
    for i in range(20):
        assert torch.equal(x[i], orig.flip(-1) if m1[i] else orig)
    ds.flip = False
    assert not ds.flip_mask(idx).any()


def test_large_sets_resize_per_item(monkeypatch):
    monkeypatch.setattr(D, "MAX_CACHE_BYTES", 10)
    imgs = torch.full((3, 1, 8, 8), 255, dtype=torch.uint8)
    ds = D.ImageDataset(imgs, None, resolution=16, channels=3)
    assert ds.images.shape[-1] == 8  # kept at the source size
    x, _ = ds.batch([0, 2])
    assert x.shape == (2, 3, 16, 16) and torch.allclose(x, torch.ones_like(x))


def test_describe_dataset(tmp_path):
    assert "not found" in describe_dataset(str(tmp_path / "nope"))
    _png(tmp_path / "a" / "x.png", np.zeros((8, 8, 3), np.uint8))
    assert "1 images" in describe_dataset(str(tmp_path)) and "subfolders" in describe_dataset(str(tmp_path))
    assert "digits" in describe_dataset("digits")
    assert "shapes" in describe_dataset("shapes:100")


def test_16_bit_greyscale_and_phone_orientation_load_as_viewers_show_them(tmp_path):
    # A 16-bit PNG was clipped to solid white; an EXIF-rotated JPEG trained sideways.
    ramp = np.tile(np.linspace(0, 65535, 16), (16, 1)).astype(np.uint16)
    sixteen = tmp_path / "sixteen"
    sixteen.mkdir()
    Image.fromarray(ramp).save(sixteen / "ramp.png")
    x = make_dataset(str(sixteen), 16, 1).batch(torch.arange(1))[0]
    assert -0.2 < float(x.mean()) < 0.2 and float(x.min()) < -0.9  # a ramp around grey, not white

    photo = tmp_path / "photo"
    photo.mkdir()
    a = np.zeros((16, 32, 3), np.uint8)
    a[:, :16] = 255  # stored: white left half, black right half
    im = Image.fromarray(a)
    exif = im.getexif()
    exif[0x0112] = 6  # Orientation: the viewer turns it 90° clockwise -> white top half
    im.save(photo / "phone.jpg", exif=exif, quality=100)
    x = make_dataset(str(photo), 16, 3).batch(torch.arange(1))[0]
    top, bottom = float(x[0, :, :4].mean()), float(x[0, :, -4:].mean())
    assert top > 0.5 and bottom < -0.5
