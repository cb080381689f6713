"""StyleGAN2 batch cost: per-image render time at batch 1 and batch N, for both modulated-conv forms.

A random-weight generator with NVIDIA's paper256 widths (channel_base 16384, channel_max 512,
2 mapping layers) renders ws under inference_mode, in
  grouped: one modulated kernel per sample, one grouped conv (the only form before; NVIDIA's inference)
  dense:   the activations are scaled instead, the batch shares one dense conv
  auto:    what ``synthesis`` picks by itself (fused_modconv=None: grouped for batch 1 / GPU, dense otherwise)
The forms take turns rep by rep, so a busy moment on the machine hits all of them.  Printed: the
median ms per image of each, and the ratios batch N / batch 1 measured in this run (target for
auto: <= 1.15), plus the largest pixel difference between the forms.

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

FORMS = {"grouped": True, "dense": False, "auto": None}


def paper256(res: int):
    """A random-weight StyleGAN2 generator of real size (NVIDIA's paper256 configuration, any resolution)."""
    from ganstudio.models import create_generator
    torch.manual_seed(0)
    return create_generator("stylegan2", z_dim=512, w_dim=512, img_resolution=res, mapping_layers=2,
                            channel_base=16384, channel_max=512).eval()


CLOCK = time.perf_counter


def per_image_ms(G, ws: torch.Tensor, fused, reps: int) -> list[float]:
    times = []
    for _ in range(reps):
        t = CLOCK()
        G.synthesis(ws, noise_mode="const", fused_modconv=fused)
        if ws.device.type == "cuda":
            torch.cuda.synchronize()
        times.append((CLOCK() - t) * 1000 / ws.shape[0])
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--res", type=int, default=256)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--reps", type=int, default=3, help="timed renders per form and batch (after one warm-up)")
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
    times: dict = {(f, b): [] for f in FORMS for b in (1, args.batch)}
    with torch.inference_mode():
        ws = G.mapping(z)
        images = {f: G.synthesis(ws, noise_mode="const", fused_modconv=v) for f, v in FORMS.items()}  # warm-up
        for b in (1, args.batch):
            for f, v in FORMS.items():
                per_image_ms(G, ws[:b], v, 1)  # warm-up of this shape
        for _ in range(args.reps):
            for b in (1, args.batch):
                for f, v in FORMS.items():
                    times[f, b] += per_image_ms(G, ws[:b], v, 1)
    print(f"StyleGAN2 {args.res} px, paper256 widths, {sum(p.numel() for p in G.parameters()) / 1e6:.1f} M "
          f"parameters, {device}, {torch.get_num_threads()} threads; {args.clock} time, median of {args.reps} renders")
    print(f"{'form':8s} {'batch 1':>12s} {'batch ' + str(args.batch):>12s}   per-image ratio")
    base = statistics.median(times["grouped", 1])
    for f in FORMS:
        one, many = statistics.median(times[f, 1]), statistics.median(times[f, args.batch])
        print(f"{f:8s} {one:9.1f} ms {many:9.1f} ms   {many / one:.2f}x  (vs grouped batch 1: {many / base:.2f}x)")
    diff = (images["grouped"] - images["dense"]).abs().max().item()
    print(f"largest pixel difference grouped vs dense (images in [-1, 1]): {diff:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
