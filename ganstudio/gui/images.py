"""uint8 arrays to QImage (safe to call on a worker thread; QPixmap is not)."""
from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage

from ganstudio.imaging import make_grid

_FORMATS = {1: QImage.Format_Grayscale8, 3: QImage.Format_RGB888, 4: QImage.Format_RGBA8888}


def to_qimage(image: np.ndarray) -> QImage:
    """[H, W, C] uint8 (C = 1, 3 or 4) -> a QImage owning a copy of the pixels."""
    a = np.ascontiguousarray(image, dtype=np.uint8)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[2] not in _FORMATS:
        raise ValueError(f"image must be [H, W, 1|3|4] uint8, got shape {list(a.shape)}")
    h, w, c = a.shape
    # QImage only borrows the buffer; copy() detaches it from the numpy array before that is freed.
    return QImage(a.data, w, h, a.strides[0], _FORMATS[c]).copy()


def grid_with_headers(cells: np.ndarray, top: np.ndarray, left: np.ndarray, pad: int = 2) -> np.ndarray:
    """A (rows+1) x (cols+1) grid: column headers on top, row headers on the left, a blank corner."""
    rows, cols = len(left), len(top)
    blank = np.full_like(top[:1], 0)
    tiles = [blank, top]
    for r in range(rows):
        tiles += [left[r:r + 1], cells[r * cols:(r + 1) * cols]]
    return make_grid(np.concatenate(tiles), cols=cols + 1, pad=pad, pad_value=40)
