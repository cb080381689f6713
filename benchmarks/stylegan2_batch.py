"""StyleGAN2 batch cost: per-image render time at batch 1 and batch N, before and after the batch fix.

A random-weight generator with NVIDIA's paper256 widths (channel_base 16384, channel_max 512,
2 mapping layers) renders ws under inference_mode:
  grouped, 1:    one image, grouped conv with its own modulated kernel (before and after: synthesis's choice)
  dense, 1:      one image, activation-modulated dense conv (for comparison)
  before, N:     the batch as it rendered before: grouped conv, the whole batch at once
  after, N:      what synthesis picks now (``fused_modconv_for``, ``_cpu_split``): on a CPU the dense
                 conv, large resolutions a few images at a time
The cases take turns rep by rep, so a busy moment on the machine hits all of them.  Printed: the
median ms per image, the ratios batch N / batch 1 measured in this run (target after: <= 1.15),
and the largest pixel difference between before and after.

Run: .venv/bin/python benchmarks/stylegan2_batch.py [--res 256] [--batch 16] [--reps 3] [--device cpu] [--threads N]
(on a machine shared with other work: --threads 1 --clock cpu, so that waiting for a core is not counted)
"""
from __future__ import annotations

import argparse
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
    args = ap.parse_args()
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    G = paper256(args.res).to(device)
    z = torch.randn(args.batch, G.z_dim, generator=torch.Generator().manual_seed(1)).to(device)
    n = args.batch
    cases = {"grouped, 1": (1, True, True), "dense, 1": (1, False, True), f"before, {n}": (n, True, False),
             f"after, {n}": (n, None, True)}  # (batch, fused_modconv, chunked)
    times: dict = {k: [] for k in cases}
    images = {}
    budget = sg2._CPU_CHUNK_BYTES
    with torch.inference_mode():
        ws = G.mapping(z)
        for rep in range(args.reps + 1):  # the first round warms every shape up
            for name, (b, fused, chunked) in cases.items():
                sg2._CPU_CHUNK_BYTES = budget if chunked else float("inf")
                t = CLOCK()
                images[name] = G.synthesis(ws[:b], noise_mode="const", fused_modconv=fused)
                if rep:
                    times[name].append((CLOCK() - t) * 1000 / b)
    sg2._CPU_CHUNK_BYTES = budget
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"StyleGAN2 {args.res} px, paper256 widths, {sum(p.numel() for p in G.parameters()) / 1e6:.1f} M "
          f"parameters, {device}, {torch.get_num_threads()} threads; {args.clock} time, median of {args.reps} renders")
    for name in cases:
        print(f"  {name:12s} {med[name]:9.1f} ms per image")
    one = med["grouped, 1"]
    print(f"batch {n} / batch 1 per image: before {med[f'before, {n}'] / one:.2f}x, after {med[f'after, {n}'] / one:.2f}x")
    diff = (images[f"before, {n}"] - images[f"after, {n}"]).abs().max().item()
    print(f"largest pixel difference before vs after (images in [-1, 1]): {diff:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
