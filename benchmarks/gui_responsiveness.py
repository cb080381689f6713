"""GUI responsiveness: the figures the tests used to assert as thresholds, printed instead.

The tests check behaviour (one render in flight, stale requests dropped, a switch or a close that does not
wait for a render); how long things take depends on the machine and on what else runs on it, so it is
measured here:
  storm:    1,000 slider changes (10 every 10 ms) on a tiny StyleGAN2: the event loop's longest gap
            between 10 ms timer ticks, the storm's duration, renders completed (target: gap < 100 ms)
  switch:   View > Precision while a 3 s render is in flight: how long the menu action takes (target < 1 s)
  close:    MainWindow.shutdown() while a 6 s render is in flight (target: at most SHUTDOWN_WAIT_S, 2 s)

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/gui_responsiveness.py [--repeat N]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402


def tiny_checkpoint(folder: Path, name: str) -> str:
    """A tiny untrained model of family ``name``, noise made visible as in a trained StyleGAN."""
    from ganstudio.checkpoints import save_checkpoint
    from ganstudio.models import create_generator, get_spec
    torch.manual_seed(0)
    G = create_generator(name, **get_spec(name).tiny)
    with torch.no_grad():
        for n, p in G.named_parameters():
            if n.endswith("noise_strength"):
                p.fill_(0.5)
    path = folder / f"{name}.safetensors"
    save_checkpoint(path, G)
    return str(path)


def wait(app, predicate, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise SystemExit("gui_responsiveness: timed out waiting for the window")
        app.processEvents()
        time.sleep(0.002)


def open_window(app, model: str):
    from ganstudio.engine import Renderer
    from ganstudio.gui.main_window import MainWindow
    win = MainWindow(renderer=Renderer("cpu"), model=model)
    win.resize(1400, 900)
    win.show()
    wait(app, lambda: win.app.info is not None)
    wait_rendered(app, win)
    return win


def wait_rendered(app, win) -> None:
    wait(app, lambda: win.displayed_state == win.app.state and not getattr(win.last_result, "preview", 0)
         and win.bridge.worker.idle() and win.jobs.idle())


def storm(app, model: str) -> tuple[float, float, int]:
    """(longest event-loop gap in s, storm duration in s, renders completed) for 1,000 slider changes."""
    from PySide6.QtCore import QTimer
    win = open_window(app, model)
    try:
        worker = win.bridge.worker
        slider = win.panels["TruncationPanel"].psi.slider
        gaps, last, changes = [], [time.perf_counter()], [0]

        def tick():
            now = time.perf_counter()
            gaps.append(now - last[0])
            last[0] = now

        def burst():
            for _ in range(10):
                slider.setValue(changes[0] % (slider.maximum() + 1))
                changes[0] += 1
            if changes[0] >= 1000:
                driver.stop()
        ticker, driver = QTimer(), QTimer()
        ticker.timeout.connect(tick)
        driver.timeout.connect(burst)
        before = worker.completed
        ticker.start(10)
        t0 = time.perf_counter()
        driver.start(10)
        wait(app, lambda: changes[0] >= 1000)
        took = time.perf_counter() - t0
        wait_rendered(app, win)
        ticker.stop()
        return max(gaps), took, worker.completed - before
    finally:
        win.shutdown()
        win.deleteLater()


def slow_renders(renderer, seconds: float) -> None:
    real = renderer.render

    def slow(*a, **k):
        time.sleep(seconds)  # a large model on a CPU
        return real(*a, **k)
    renderer.render = slow


def switch(app, model: str) -> float:
    """Seconds View > Precision takes while a 3 s render is in flight."""
    win = open_window(app, model)
    try:
        slow_renders(win.renderer, 3.0)
        win.panels["LatentPanel"].step_seed(1)
        wait(app, lambda: win.bridge.worker.in_flight == 1)
        t = time.perf_counter()
        win.precision_actions["fp16"].trigger()
        took = time.perf_counter() - t
        wait_rendered(app, win)
        return took
    finally:
        win.shutdown()
        win.deleteLater()


def close(app, model: str) -> float:
    """Seconds MainWindow.shutdown() takes while a 6 s render is in flight."""
    win = open_window(app, model)
    slow_renders(win.renderer, 6.0)
    win.panels["LatentPanel"].next_btn.click()
    wait(app, lambda: win.bridge.worker.in_flight == 1)
    t = time.perf_counter()
    win.shutdown()
    took = time.perf_counter() - t
    win.deleteLater()
    return took


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs of each measurement (default 3)")
    args = ap.parse_args()
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication
    app = QApplication.instance() or QApplication([])
    from ganstudio.engine.process import configure_interactive_process
    configure_interactive_process("cpu")  # what the app sets at start-up: switch interval, threads, gc freeze
    with tempfile.TemporaryDirectory(prefix="ganstudio-bench-") as tmp:
        folder = Path(tmp)
        (folder / "settings").mkdir()  # never touch the user's settings or recent files
        QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(folder / "settings"))
        style, dc = tiny_checkpoint(folder, "stylegan2"), tiny_checkpoint(folder, "dcgan")
        runs = [storm(app, style) for _ in range(args.repeat)]
        gaps = [g * 1000 for g, _, _ in runs]
        print(f"storm:  max event-loop gap {statistics.median(gaps):.0f} ms median ({min(gaps):.0f}-{max(gaps):.0f}), "
              f"1000 changes in {statistics.median([t for _, t, _ in runs]):.2f} s, "
              f"{statistics.median([n for _, _, n in runs]):.0f} renders (target gap < 100 ms)")
        took = [switch(app, dc) * 1000 for _ in range(args.repeat)]
        print(f"switch: precision change with a render in flight {statistics.median(took):.0f} ms median "
              f"({min(took):.0f}-{max(took):.0f}) (target < 1000 ms)")
        took = [close(app, dc) for _ in range(args.repeat)]
        print(f"close:  shutdown with a 6 s render in flight {statistics.median(took):.2f} s median "
              f"({min(took):.2f}-{max(took):.2f}) (target <= 2 s, SHUTDOWN_WAIT_S)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
