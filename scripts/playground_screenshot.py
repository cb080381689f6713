"""Screenshot of the Train window's 2-D playground, for docs/screenshots/25_playground.png.

Opens the playground widget alone, makes --updates updates on its worker thread (the Step command, so the
picture does not depend on the machine's speed), waits for that snapshot to be drawn and grabs the widget.
Run with QT_QPA_PLATFORM=offscreen (or under a virtual X server):

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/playground_screenshot.py \
        [--distribution ring] [--loss ns] [--updates 400] [--seed 0]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--distribution", default="ring")
    p.add_argument("--loss", default="ns")
    p.add_argument("--updates", type=int, default=400)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the updates")
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots" / "25_playground.png")
    a = p.parse_args()
    from PySide6.QtWidgets import QApplication
    app = QApplication.instance() or QApplication([])
    from _window_shot import save_grab

    from ganstudio.gui.playground import PlaygroundWidget
    from ganstudio.training.playground import PlaygroundConfig
    w = PlaygroundWidget(config=PlaygroundConfig(distribution=a.distribution, loss=a.loss, seed=a.seed))
    w.resize(1100, 760)
    w.show()
    w.worker.step(a.updates)
    end = time.monotonic() + a.timeout
    while not (w.snapshot is not None and w.updates == a.updates):
        if time.monotonic() > end:
            print(f"timed out after {a.timeout:g} s at update {w.updates}", file=sys.stderr)
            return 1
        app.processEvents()
        time.sleep(0.01)
    for _ in range(5):  # the repaint the last draw posted
        app.processEvents()
    save_grab(w, a.out)
    w.shutdown()
    print(a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
