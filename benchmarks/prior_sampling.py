"""Sampling a VQ-VAE's PixelCNN prior (issue 17: dragging on fmnist-vqvae): the cell sampler against
whole-network passes, measured in the same run.

  passes        what sampling did before: for each of the grid's cells, the whole network on the rows
                up to that cell, the cell's logits read off (kept here as the baseline)
  cells         ``GatedPixelCNN.sample`` now: the vertical stack once per row, the horizontal stack
                and the head for one cell at a time (a fresh sample: nothing remembered)
  drag z[0]     a slider on the first cell's draw (the first raw z slider, what benchmarks/interactive.py
                drags), 60 positions: each sample reuses the previous one's unchanged prefix
  drag z[k]     the same on a middle cell's draw
The cases take turns rep by rep; printed as median ms per sample and the ratio to the baseline, and
how many codes of the baseline and the cell sampler differ (0 expected; both read the same uniforms).

Run: .venv/bin/python benchmarks/prior_sampling.py [--model fmnist-vqvae] [--reps 5] [--batch 1 8] [--threads 1]
     [--clock cpu]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402


def by_passes(net, codes: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """The baseline: one pass of the whole network (rows up to the cell) per cell, raster order."""
    codes = codes.clone()
    W = codes.shape[2]
    for pos in range(codes[0].numel()):
        i, j = divmod(pos, W)
        cdf = torch.softmax(net(codes[:, :i + 1])[:, :, i, j].float(), dim=1).cumsum(dim=1)
        codes[:, i, j] = (cdf < u[:, i, j].unsqueeze(1) * cdf[:, -1:]).sum(dim=1).clamp(max=net.num_codes - 1)
    return codes


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="fmnist-vqvae", help="a shipped VQ-VAE or a checkpoint file")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="cpu: process time, so that waiting for a busy core is not counted")
    args = ap.parse_args()
    from ganstudio.checkpoints import load_checkpoint
    from ganstudio.pretrained import resolve
    torch.set_num_threads(args.threads)
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    G = load_checkpoint(resolve(args.model)).G.eval()
    net, g = G.prior, G.grid
    print(f"{args.model}: {g}x{g} codes, {len(net.layers)} gated layers, {args.threads} thread(s), {args.clock} clock, "
          f"load average {' '.join(f'{x:.1f}' for x in __import__('os').getloadavg())}")
    gen = torch.Generator().manual_seed(0)
    cells = torch.ones(g, g, dtype=torch.bool)
    with torch.inference_mode():
        for n in args.batch:
            times = {"passes": [], "cells": []}
            differ = 0
            for _ in range(args.reps):
                u = torch.rand(n, g, g, generator=gen)
                zeros = torch.zeros(n, g, g, dtype=torch.long)
                t = clock(); a = by_passes(net, zeros, u); times["passes"].append(clock() - t)  # noqa: E702
                net._last_sample = None
                t = clock(); b = net.sample(zeros, cells, u); times["cells"].append(clock() - t)  # noqa: E702
                differ += int((a != b).sum())
            base = statistics.median(times["passes"])
            for name, ts in times.items():
                ms = statistics.median(ts) * 1000 / n
                print(f"  batch {n:2d}  {name:8s} {ms:8.2f} ms per sample  {statistics.median(ts) / base:6.3f}x passes")
            print(f"  batch {n:2d}  codes that differ between the two: {differ} of {args.reps * n * g * g}")
        for k in (0, g * g // 2):
            z = torch.randn(1, g * g, generator=gen)
            net._last_sample = None
            G.sample_codes(z)
            ts, fresh, full = [], [], 0
            for v in torch.linspace(-2.5, 2.5, 60):
                z[0, k] = v
                kept = net._last_sample
                t = clock(); c = G.sample_codes(z); ts.append(clock() - t)  # noqa: E702
                full += int(not torch.equal(c.flatten(), kept[1]))
                after, net._last_sample = net._last_sample, None  # the same sample from nothing remembered
                t = clock(); again = G.sample_codes(z); fresh.append(clock() - t)  # noqa: E702
                assert torch.equal(again, c), "a remembered prefix changed the sample"
                net._last_sample = after
            ratio = sum(ts) / sum(fresh)
            print(f"  drag z[{k}]  median {statistics.median(ts) * 1000:.2f} ms, max {max(ts) * 1000:.1f} ms per sample, "
                  f"total {ratio:.3f}x fresh samples; {full} of 60 positions changed a code (those resample "
                  f"the cells after it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
