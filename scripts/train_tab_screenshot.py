"""Screenshot of the Train tab mid-training a real model, for docs/screenshots/train_tab.png.

Starts the DCGAN preset on Fashion-MNIST (32 px, batch 64, the fmnist-dcgan recipe's settings)
from the tab itself, waits until the sample grid shows garments, and grabs the tab.  The run
folder is a temporary one; the run is stopped (with a checkpoint) and removed afterwards.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/train_tab_screenshot.py [--seconds 150]
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=150.0, help="how long to train before the screenshot")
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots" / "train_tab.png")
    a = p.parse_args()
    from PySide6.QtWidgets import QApplication

    from ganstudio.training.process import ProcessManager
    from ganstudio.gui.train_tab import TrainTab

    app = QApplication.instance() or QApplication(sys.argv[:1])
    root = Path(tempfile.mkdtemp(prefix="ganstudio-train-shot-")) / "runs"
    tab = TrainTab(runs_root=root, manager=ProcessManager(env={"OMP_NUM_THREADS": "1"}, stop_timeout=60))
    tab.resize(1500, 950)
    tab.show()
    form = tab.form
    form.set_preset("dcgan")
    for name, v in dict(data="fashion-mnist", resolution=32, batch=64, steps=2800, sample_every=50, log_every=10,
                        ckpt_every=500, sample_count=64, device="cpu").items():
        form.set_value(name, v)
    run = tab.start_new_run()
    if run is None:
        print("could not start the run", file=sys.stderr)
        return 1
    t_end = time.time() + a.seconds
    while time.time() < t_end:
        app.processEvents()
        time.sleep(0.05)
    for _ in range(40):  # let the newest sample grid and plot points arrive
        app.processEvents()
        time.sleep(0.05)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    tab.grab().toImage().save(str(a.out))
    print(f"{a.out}  {os.path.getsize(a.out) // 1024} KB, step {tab.last_record and tab.last_record.get('step')}")
    tab.manager.stop(run)
    deadline = time.time() + 60
    while tab.manager.running_runs() and time.time() < deadline:
        app.processEvents()
        time.sleep(0.1)
    tab.shutdown()
    shutil.rmtree(root.parent, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
