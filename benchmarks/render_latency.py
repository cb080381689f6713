"""Render latency: state change (submit) -> displayable QImage through the engine, vs. the bare G forward.

For each registry model (tiny and default configs, batch 1) and each shipped model, times
  bare:   G.synthesis(G.mapping(z, c), c) under no_grad, as the engine would call it
  engine: AsyncRenderer.submit(state) -> on_result -> QImage conversion (the GUI's path)
and prints both medians and their ratio (target <= 1.25 for the small models on CPU).
Run: QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/render_latency.py [--quick] [NAME_FILTER ...]
"""
from __future__ import annotations

import os
import statistics
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

torch.set_num_threads(1)


def bare_ms(renderer, key: str, reps: int) -> float:
    from ganstudio import latent
    G = renderer.generator(key)
    info = renderer.load(key)
    c = None if not info.c_dim else latent.class_vector(0, info.c_dim)[None]
    times = []
    with torch.no_grad():
        for i in range(reps + 1):
            z = latent.seeded_z([i], info.z_dim)
            t = time.perf_counter()
            G.synthesis(G.mapping(z, c), c, noise_mode="const")
            times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times[1:])


def engine_ms(renderer, key: str, reps: int) -> float:
    from ganstudio.engine import AsyncRenderer, RenderState
    from ganstudio.gui.images import to_qimage
    done = threading.Event()
    box = {}

    def on_result(res):  # the GUI's worker-side callback: build the QImage
        box["img"] = to_qimage(res.image) if res.image is not None else None
        box["t"] = time.perf_counter()
        box["err"] = res.error
        done.set()
    worker = AsyncRenderer(renderer, on_result)
    times = []
    try:
        for i in range(reps + 1):
            done.clear()
            t = time.perf_counter()
            worker.submit(RenderState(model=key, seed=i))
            done.wait(120)
            if box.get("err"):
                raise RuntimeError(box["err"])
            times.append((box["t"] - t) * 1000)
    finally:
        worker.close()
    return statistics.median(times[1:])


def handoff_floor_ms(reps: int = 2000) -> float:
    """Median round trip of an empty job to a worker thread and back: the part of the engine's
    overhead that rendering off the GUI thread costs whatever the engine does."""
    import queue
    jobs, results = queue.SimpleQueue(), queue.SimpleQueue()

    def worker():
        while (item := jobs.get()) is not None:
            results.put(item)
    t = threading.Thread(target=worker, daemon=True)
    t.start()
    times = []
    for i in range(reps):
        t0 = time.perf_counter()
        jobs.put(i)
        results.get()
        times.append((time.perf_counter() - t0) * 1000)
    jobs.put(None)
    t.join()
    return statistics.median(times)


def main() -> int:
    from PySide6.QtGui import QGuiApplication

    from ganstudio.engine import Renderer
    from ganstudio.models import list_models
    from ganstudio.pretrained import list_pretrained
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841  (QImage needs no app, but be safe)
    quick = "--quick" in sys.argv
    renderer = Renderer("cpu")
    keys = []
    for name in list_models():
        keys.append(f"registry:{name}:tiny")
        if not quick:
            keys.append(f"registry:{name}")
    keys += [e["name"] for e in list_pretrained()]
    only = [a for a in sys.argv[1:] if not a.startswith("--")]  # optional name filters
    if only:
        keys = [k for k in keys if any(o in k for o in only)]
    print(f"device: {renderer.device}, torch threads: {torch.get_num_threads()}")
    print(f"thread hand-off floor (empty job to a worker thread and back): {handoff_floor_ms():.3f} ms")
    print(f"{'model':<34} {'res':>4} {'bare ms':>9} {'engine ms':>10} {'added ms':>9} {'ratio':>6}")
    for key in keys:
        try:
            info = renderer.load(key)
            bare_ms(renderer, key, 1)  # warm-up
            reps = 50 if info.resolution <= 64 else 5
            b, e = bare_ms(renderer, key, reps), engine_ms(renderer, key, reps)
            print(f"{key:<34} {info.resolution:>4} {b:>9.3f} {e:>10.3f} {e - b:>9.3f} {e / b:>6.2f}")
        except Exception as exc:  # one broken model must not hide the others
            print(f"{key:<34} error: {exc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
