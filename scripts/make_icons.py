"""Render resources/ganstudio.svg to the raster icons the bundles need (committed; rerun after editing the SVG).

    QT_QPA_PLATFORM=offscreen python scripts/make_icons.py

Writes resources/ganstudio.png (256 px, the Linux desktop icon), ganstudio.ico (Windows: 16-256 px)
and ganstudio.icns (macOS).  Qt draws the SVG; Pillow writes the icon containers.
"""
from __future__ import annotations

import io
import sys
from pathlib import Path

RESOURCES = Path(__file__).resolve().parents[1] / "resources"


def render_svg(svg: Path, size: int):
    """The SVG as a Pillow RGBA image of size x size."""
    from PIL import Image
    from PySide6.QtCore import QBuffer, QIODevice, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer
    QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    image = QImage(size, size, QImage.Format_ARGB32)
    image.fill(Qt.transparent)
    painter = QPainter(image)
    QSvgRenderer(str(svg)).render(painter)
    painter.end()
    buf = QBuffer()
    buf.open(QIODevice.WriteOnly)
    image.save(buf, "PNG")
    return Image.open(io.BytesIO(bytes(buf.data()))).convert("RGBA")


def main() -> int:
    from ganstudio._io import atomic_path
    big = render_svg(RESOURCES / "ganstudio.svg", 1024)
    outputs = {
        "ganstudio.png": lambda f: big.resize((256, 256), 1).save(f, "PNG"),
        "ganstudio.ico": lambda f: big.resize((256, 256), 1).save(
            f, "ICO", sizes=[(16, 16), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)]),
        "ganstudio.icns": lambda f: big.save(f, "ICNS"),
    }
    for name, write in outputs.items():
        with atomic_path(RESOURCES / name) as tmp:
            with open(tmp, "wb") as f:
                write(f)
        print(f"wrote {RESOURCES / name} ({(RESOURCES / name).stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
