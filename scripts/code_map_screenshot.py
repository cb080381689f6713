"""Screenshot of the Code map panel on a VQ-VAE, for docs/screenshots/24_code_map.png.

Opens the model in the main window, raises the Code map panel, resamples a region of the code grid from
the prior (the rest kept), selects one cell, and grabs the window.  Run under a virtual X server (or
QT_QPA_PLATFORM=offscreen):

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/code_map_screenshot.py \
        [--model fmnist-vqvae] [--seed 3] [--region 4,0,7,7] [--resample-seed 1]
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
    p.add_argument("--model", default="fmnist-vqvae")
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--region", default="4,0,7,7", help="row0,col0,row1,col1 of the cells to resample")
    p.add_argument("--resample-seed", type=int, default=1)
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots" / "24_code_map.png")
    a = p.parse_args()
    from _window_shot import open_window, save_grab

    from ganstudio.engine.code_map import Region
    _app, win, wait = open_window(a.model, a.seed)
    win.docks["CodeMapPanel"].raise_()
    panel = win.panels["CodeMapPanel"]
    wait(lambda: panel.sampler is not None and panel.codes is not None and panel.palette.count() > 0)
    panel.grid_view.select(Region(*(int(v) for v in a.region.split(","))))
    panel.seed.setValue(a.resample_seed)
    panel.resample_region()
    wait(lambda: not panel.sampling and win.displayed_state == win.app.state and win.jobs.idle())
    wait(lambda: panel.codes is not None and win.jobs.idle())
    save_grab(win, a.out)
    print(f"{a.out}: {a.model}, seed {a.seed}, region {a.region} resampled with seed {a.resample_seed}")
    win.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
