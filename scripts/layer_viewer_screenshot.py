"""Screenshot of the Layers panel (layer viewer) on a shipped model, for docs/screenshots/21_layer_viewer.png.

Opens the model in the main window, raises the Layers panel, picks a layer and a channel, and grabs
the window.  Run under a virtual X server (or QT_QPA_PLATFORM=offscreen):

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/layer_viewer_screenshot.py \
        [--model shapes-stylegan2] [--layer synthesis.b16.conv0] [--channel 5] [--seed 4]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="shapes-stylegan2")
    p.add_argument("--layer", default="synthesis.b16.conv0", help="a layer name ('' keeps the panel's first choice)")
    p.add_argument("--channel", type=int, default=5)
    p.add_argument("--seed", type=int, default=4)
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots" / "21_layer_viewer.png")
    a = p.parse_args()
    from _window_shot import open_window, save_grab
    _app, win, wait = open_window(a.model, a.seed)
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
    save_grab(win, a.out)
    print(f"{a.out}: {a.model}, layer {panel.shown_layer}, channel {panel.channel}")
    win.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
