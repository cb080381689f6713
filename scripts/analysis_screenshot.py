"""Screenshot of the Direction analysis panel (heat map) for docs/screenshots/20_direction_heatmap.png.

Opens the model in the main window, raises the Direction analysis panel, scores a direction set,
clicks a cell (its sweep fills the strip) and grabs the window.  Run under a virtual X server (or
QT_QPA_PLATFORM=offscreen):

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/analysis_screenshot.py \
        [--model shapes-stylegan2] [--method pca] [--seeds 16] [--row 1] [--seed 4]
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
    p.add_argument("--method", default="pca")
    p.add_argument("--seeds", type=int, default=16)
    p.add_argument("--row", type=int, default=1, help="the heat map row whose sweep is shown")
    p.add_argument("--seed", type=int, default=4)
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots" / "20_direction_heatmap.png")
    a = p.parse_args()
    from _window_shot import open_window, save_grab
    _app, win, wait = open_window(a.model, a.seed)
    win.docks["AnalysisPanel"].raise_()
    panel = win.panels["AnalysisPanel"]
    i = panel.method.findData(a.method)
    if i < 0:
        print(f"no direction set {a.method!r} for {a.model}", file=sys.stderr)
        return 2
    panel.method.setCurrentIndex(i)
    panel.seeds.setValue(a.seeds)
    panel.run_btn.click()
    wait(lambda: panel.report is not None or "failed" in panel.status.text())
    if panel.report is None:
        print(panel.status.text(), file=sys.stderr)
        return 1
    panel.table.setCurrentCell(a.row, 0)
    panel.show_sweep(a.row)
    wait(lambda: len(panel._strip_states) > 0 and win.jobs.idle())
    save_grab(win, a.out)
    print(f"{a.out}: {a.model}, {a.method}, {a.seeds} seeds, overall {panel.report['overall']['score']:.3f}")
    win.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
