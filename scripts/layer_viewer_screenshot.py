"""Screenshot of the Layers panel (layer viewer) on a shipped model, for docs/screenshots/21_layer_viewer.png.

Opens the model in the main window, raises the Layers panel, picks a layer and a channel, and grabs
the window.  Run under a virtual X server (or QT_QPA_PLATFORM=offscreen):

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/layer_viewer_screenshot.py \
        [--model shapes-stylegan2] [--layer synthesis.b16.conv0] [--channel 5] [--seed 4]
"""
from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="shapes-stylegan2")
    p.add_argument("--layer", default="synthesis.b16.conv0", help="a layer name ('' keeps the panel's first choice)")
    p.add_argument("--channel", type=int, default=5)
    p.add_argument("--seed", type=int, default=4)
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots" / "21_layer_viewer.png")
    a = p.parse_args()
    from PySide6.QtCore import QBuffer, QIODevice, QSettings
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, tempfile.mkdtemp(prefix="ganstudio-shot-"))
    from ganstudio.engine import Renderer
    from ganstudio.gui.app import make_application
    from ganstudio.gui.main_window import MainWindow
    app = make_application()

    def wait(pred, timeout=120.0):
        end = time.time() + timeout
        while not pred() and time.time() < end:
            app.processEvents()
            time.sleep(0.02)
        for _ in range(20):
            app.processEvents()
            time.sleep(0.02)

    win = MainWindow(renderer=Renderer("cpu"), model=a.model)
    win.resize(1600, 1000)
    win.show()
    wait(lambda: win.app.info is not None and win.displayed_state == win.app.state)
    win.panels["LatentPanel"].seed.setValue(a.seed)
    win.docks["LayersPanel"].raise_()
    panel = win.panels["LayersPanel"]
    wait(lambda: panel.act is not None and win.displayed_state == win.app.state)
    if a.layer:
        i = panel.layer.findData(a.layer)
        if i < 0:
            print(f"no layer {a.layer!r}; the model has: {', '.join(panel.shapes)}", file=sys.stderr)
            return 2
        panel.layer.setCurrentIndex(i)
        wait(lambda: panel.shown_layer == a.layer)
    panel.select_channel(a.channel)
    wait(lambda: win.jobs.idle())
    img = win.grab().toImage()
    qb = QBuffer()
    qb.open(QIODevice.WriteOnly)
    img.save(qb, "PNG")
    from PIL import Image
    pil = Image.open(io.BytesIO(bytes(qb.data()))).convert("RGB")
    a.out.parent.mkdir(parents=True, exist_ok=True)
    pil.quantize(256).save(a.out, "PNG", optimize=True)
    print(f"{a.out}: {a.model}, layer {panel.shown_layer}, channel {panel.channel}")
    win.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
