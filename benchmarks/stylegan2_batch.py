"""StyleGAN2 batch cost: per-image render time at batch 1 and batch N, before and after the batch fix.

A random-weight generator with NVIDIA's paper256 widths (channel_base 16384, channel_max 512,
2 mapping layers) renders ws under inference_mode:
  grouped, 1:    one image, grouped conv with its own modulated kernel (what batch 1 used before)
  after, 1:      one image as synthesis renders it now (``fused_modconv_for``): on a CPU the dense,
                 activation-modulated conv with the layers' cached sum of W^2
  before, N:     the batch as it rendered before: grouped conv, the whole batch at once
  after, N:      what synthesis picks now (``fused_modconv_for``, ``_cpu_split``): on a CPU the dense
                 conv, large resolutions a few images at a time
The cases take turns rep by rep, so a busy moment on the machine hits all of them.  Printed: the
median ms per image, the ratios batch N / batch 1 measured in this run (target after: <= 1.15),
and the largest pixel differences between the forms.  ``--float64`` also renders the same ws in
float64 (the forms agree there to 1e-12) and prints each float32 case's largest difference from it,
and the grouped form against itself on 1 and 2 threads: float32's own noise for this network.

Run: .venv/bin/python benchmarks/stylegan2_batch.py [--res 256] [--batch 16] [--reps 3] [--device cpu] [--threads N]
     [--float64]
(on a machine shared with other work: --threads 1 --clock cpu, so that waiting for a core is not counted)
"""
from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from ganstudio.models import stylegan2 as sg2  # noqa: E402


def paper256(res: int):
    """A random-weight StyleGAN2 generator of real size (NVIDIA's paper256 configuration, any resolution)."""
    from ganstudio.models import create_generator
    torch.manual_seed(0)
    return create_generator("stylegan2", z_dim=512, w_dim=512, img_resolution=res, mapping_layers=2,
                            channel_base=16384, channel_max=512).eval()


CLOCK = time.perf_counter


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--res", type=int, default=256)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--reps", type=int, default=3, help="timed renders per case (after one warm-up)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: every core)")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="cpu: the process's CPU time, which time spent waiting for a core does not inflate "
                         "(a machine shared with other work; use with --threads 1)")
    ap.add_argument("--float64", action="store_true",
                    help="also compare every case with a float64 render of the same ws (float32's own noise)")
    args = ap.parse_args()
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    G = paper256(args.res).to(device)
    with torch.no_grad():  # a trained model's noise is visible; random init starts at 0
        for layer in G.synthesis.noise_layers():
            layer.noise_strength.fill_(0.1)
    z = torch.randn(args.batch, G.z_dim, generator=torch.Generator().manual_seed(1)).to(device)
    n = args.batch
    cases = {"grouped, 1": (1, True, True), "after, 1": (1, None, True), f"before, {n}": (n, True, False),
             f"after, {n}": (n, None, True)}  # (batch, fused_modconv, chunked)
    with torch.inference_mode():
        ws = G.mapping(z)
    times, images = _timed(G, ws, cases, args.reps)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"StyleGAN2 {args.res} px, paper256 widths, {sum(p.numel() for p in G.parameters()) / 1e6:.1f} M "
          f"parameters, {device}, {torch.get_num_threads()} threads; {args.clock} time, median of {args.reps} renders")
    for name in cases:
        print(f"  {name:12s} {med[name]:9.1f} ms per image")
    print(f"batch {n} / batch 1 per image: before {med[f'before, {n}'] / med['grouped, 1']:.2f}x, "
          f"after {med[f'after, {n}'] / med['after, 1']:.2f}x (after {n} / grouped 1: "
          f"{med[f'after, {n}'] / med['grouped, 1']:.2f}x)")
    print("largest pixel differences (images in [-1, 1]):")
    print(f"  before {n} vs after {n}: {_diff(images[f'before, {n}'], images[f'after, {n}']):.2e}")
    print(f"  after {n} vs after 1 (its first image): {_diff(images[f'after, {n}'][:1], images['after, 1']):.2e}")
    print(f"  grouped 1 vs after 1: {_diff(images['grouped, 1'], images['after, 1']):.2e}")
    if args.float64:
        _float64_figures(G, ws, images, n)
    return 0


def _timed(G, ws, cases: dict, reps: int):
    """Per-image ms of each case over ``reps`` rounds (after a warm-up round), and each case's images."""
    times: dict = {k: [] for k in cases}
    images = {}
    budget = sg2._CPU_CHUNK_BYTES
    try:
        with torch.inference_mode():
            for rep in range(reps + 1):  # the first round warms every shape up
                for name, (b, fused, chunked) in cases.items():
                    sg2._CPU_CHUNK_BYTES = budget if chunked else float("inf")
                    t = CLOCK()
                    images[name] = G.synthesis(ws[:b], noise_mode="const", fused_modconv=fused)
                    if rep:
                        times[name].append((CLOCK() - t) * 1000 / b)
    finally:
        sg2._CPU_CHUNK_BYTES = budget
    return times, images


def _diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a.double() - b.double()).abs().max().item()


def _float64_figures(G, ws, images: dict, n: int) -> None:
    """Each float32 case against float64 (the reference), and float32 against itself on 1 vs 2 threads."""
    threads = torch.get_num_threads()
    with torch.inference_mode():
        own = {}
        for t in (1, 2):
            torch.set_num_threads(t)
            own[t] = G.synthesis(ws[:1], noise_mode="const", fused_modconv=True)
        torch.set_num_threads(threads)
        G64 = copy.deepcopy(G).double()
        ref = G64.synthesis(ws.double(), noise_mode="const", fused_modconv=True)
    print("largest difference from the float64 render of the same ws:")
    for name, img in images.items():
        print(f"  {name:12s} {_diff(img, ref[:len(img)]):.2e}")
    print(f"float32 against itself: grouped, 1 on 1 vs 2 threads {_diff(own[1], own[2]):.2e}")


if __name__ == "__main__":
    sys.exit(main())
