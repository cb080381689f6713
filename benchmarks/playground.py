"""The 2-D playground's frame rate (issue 21: >= 20 updates drawn per second on 2 CPU cores).

Opens the playground widget offscreen, presses Play and runs the Qt event loop for --seconds per loss
(training runs on the playground's worker thread; the GUI thread draws the snapshots it publishes), then prints:
  frames/s    frames drawn per second (each: the heat map of D over 64 x 64 points, the generated points,
              G's gradient segments, the loss curves)
  updates/s   training updates (D then G) per second
  loop gap    the event loop's longest gap between 5 ms timer ticks while playing (the controls' latency)
  idle gap    the same for one second before Play, nothing running: what the machine's load alone costs
  cpu ms/frame  this process's CPU time (both threads) per frame drawn, updates included
The load average is printed before and after: the machine is shared, the figures depend on it.
Run: QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/playground.py [--seconds 5] [--threads 1]
     [--losses ns wgan-gp] [--distribution ring]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402


def run_one(app, loss: str, distribution: str, seconds: float) -> dict:
    from PySide6.QtCore import QEventLoop, QTimer
    from ganstudio.gui.playground import PlaygroundWidget
    from ganstudio.training.playground import PlaygroundConfig
    w = PlaygroundWidget(config=PlaygroundConfig(loss=loss, distribution=distribution))
    w.resize(1000, 700)
    w.show()
    gaps, last = [0.0], [time.perf_counter()]

    def tick():
        now = time.perf_counter()
        gaps[0] = max(gaps[0], now - last[0])
        last[0] = now
    probe = QTimer()
    probe.setInterval(5)
    probe.timeout.connect(tick)
    while w.snapshot is None:  # the first picture, made on the worker
        app.processEvents()
        time.sleep(0.005)
    loop = QEventLoop()
    last[0] = time.perf_counter()
    probe.start()
    QTimer.singleShot(1000, loop.quit)
    loop.exec()
    idle_gap, gaps[0] = gaps[0], 0.0
    frames0, steps0 = w.frames_drawn, w.updates
    t0, c0 = time.perf_counter(), time.process_time()
    w.set_playing(True)
    last[0] = time.perf_counter()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()  # the real event loop: it sleeps while there is nothing to draw
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    probe.stop()
    res = {"loss": loss, "frames_s": (w.frames_drawn - frames0) / dt,
           "updates_s": (w.updates - steps0) / dt, "gap_ms": gaps[0] * 1000, "idle_gap_ms": idle_gap * 1000,
           "cpu_ms": cpu * 1000 / max(1, w.frames_drawn - frames0)}
    w.close()  # pauses and ends the worker thread
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: what the window chooses)")
    ap.add_argument("--losses", nargs="+", default=["ns", "minimax", "wgan-gp", "hinge", "lsgan"])
    ap.add_argument("--distribution", default="ring")
    args = ap.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from ganstudio.engine.process import configure_interactive_process
    configure_interactive_process()  # as the window does: GIL switch interval, torch threads, gc freeze
    if args.threads:
        torch.set_num_threads(args.threads)
    from PySide6.QtWidgets import QApplication
    app = QApplication.instance() or QApplication([])
    print(f"cpus {os.cpu_count()}  torch threads {torch.get_num_threads()}  load average {os.getloadavg()[0]:.1f}  "
          f"distribution {args.distribution}  {args.seconds:.0f} s per loss")
    print(f"{'loss':10s} {'frames/s':>9s} {'updates/s':>10s} {'loop gap ms':>12s} {'idle gap ms':>12s} {'cpu ms/frame':>13s}")
    for loss in args.losses:
        r = run_one(app, loss, args.distribution, args.seconds)
        print(f"{r['loss']:10s} {r['frames_s']:9.1f} {r['updates_s']:10.1f} {r['gap_ms']:12.1f} {r['idle_gap_ms']:12.1f} {r['cpu_ms']:13.1f}")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
