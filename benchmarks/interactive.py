"""Real-size StyleGAN2 models in the explorer (issue 17): the model side, ready for the window-driving part.

Builds StyleGAN2 generators of realistic size with random weights and saves them as GAN Studio
checkpoints under /tmp/ganstudio-bench/ (reused when their config matches):
  sg2-256  NVIDIA's paper256 widths: channel_base 16384, channel_max 512, 2 mapping layers (24 M params)
  sg2-512  channel_base 32768, channel_max 512, 2 mapping layers (stylegan3's train.py defaults for stylegan2)
For each it measures, every figure next to a baseline measured in the same run:
  load        Renderer.load (first open: read, build, prepare) vs reading the tensors alone (safetensors)
  render      one full engine render (Renderer.render of a new seed) vs the bare forward G(z) in memory
  first image load + first render, as the window's first image, vs load + one bare forward
  preview r   synthesis(ws, stop_at=r): the fast preview while dragging, vs the full synthesis
TODO (lead, after the render service lands): open each checkpoint in the real window (offscreen)
with the default panel layout, drive a slider at 60 Hz in drag-and-pause cycles for 20 s, and print
time to first image, displayed frames/s while dragging, drag end -> full image, the main image's
largest staleness and the event loop's largest gap; the same for every shipped model.

Run: .venv/bin/python benchmarks/interactive.py [--res 256 512] [--reps 3] [--device cpu] [--threads N]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

OUT = Path("/tmp/ganstudio-bench")
CONFIGS = {  # resolution -> widths (z_dim = w_dim = 512)
    256: dict(channel_base=16384, channel_max=512, mapping_layers=2),
    512: dict(channel_base=32768, channel_max=512, mapping_layers=2),
}


def build_checkpoint(res: int) -> Path:
    """A random-weight StyleGAN2 of real size saved as a GAN Studio checkpoint (made once, then reused)."""
    from ganstudio.checkpoints import read_meta, save_checkpoint
    from ganstudio.models import create_generator

    cfg = dict(z_dim=512, w_dim=512, img_resolution=res, **CONFIGS[res])
    path = OUT / f"sg2-{res}.safetensors"
    if path.exists():
        try:
            if all(read_meta(path)["config"].get(k) == v for k, v in cfg.items()):
                return path
        except Exception:  # an older or broken file: build it again
            pass
    torch.manual_seed(res)
    G = create_generator("stylegan2", **cfg).eval()
    with torch.no_grad():  # a trained model's noise is visible; random init starts at 0
        for layer in G.synthesis.noise_layers():
            layer.noise_strength.fill_(0.1)
    save_checkpoint(path, G)
    return path


def _median_ms(fn, reps: int) -> float:
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def measure(path: Path, device: torch.device, reps: int) -> dict:
    """Median ms of the engine's steps and of their bare baselines, on one checkpoint."""
    from safetensors.torch import load_file

    from ganstudio.checkpoints import load_checkpoint
    from ganstudio.engine import Renderer, RenderState

    out: dict = {}
    G = load_checkpoint(path, device).G.eval()
    z = torch.randn(1, G.z_dim, generator=torch.Generator().manual_seed(0)).to(device)
    with torch.inference_mode():
        ws = G.mapping(z)
        G.synthesis(ws)  # warm-up
        out["bare_forward"] = _median_ms(lambda: G.synthesis(G.mapping(z)), reps)
        for r in G.capabilities().preview_resolutions[-4:-1]:
            out[f"preview_{r}"] = _median_ms(lambda: G.synthesis(ws, stop_at=r), reps)
    out["read_tensors"] = _median_ms(lambda: load_file(str(path), device=str(device)), reps)
    loads, firsts = [], []
    for i in range(reps):  # a new renderer each time: the first open of the file, as the window's
        renderer = Renderer(device)
        t = time.perf_counter()
        renderer.load(str(path))
        loads.append((time.perf_counter() - t) * 1000)
        res = renderer.render(RenderState(model=str(path), seed=i))
        if res.error:
            raise RuntimeError(res.error)
        firsts.append((time.perf_counter() - t) * 1000)
    out["load"], out["first_image"] = statistics.median(loads), statistics.median(firsts)
    seeds = iter(range(100, 100 + 2 * reps))
    out["render"] = _median_ms(lambda: renderer.render(RenderState(model=str(path), seed=next(seeds))), reps)
    return out


def report(res: int, m: dict) -> None:
    bare = m["bare_forward"]
    print(f"StyleGAN2 {res} px")
    print(f"  load         {m['load']:8.0f} ms   {m['load'] / m['read_tensors']:5.2f}x reading the tensors "
          f"({m['read_tensors']:.0f} ms)")
    print(f"  render       {m['render']:8.0f} ms   {m['render'] / bare:5.2f}x the bare forward ({bare:.0f} ms)")
    print(f"  first image  {m['first_image']:8.0f} ms   {m['first_image'] / (m['load'] + bare):5.2f}x "
          "(load + one bare forward)")
    for key in sorted((k for k in m if k.startswith("preview_")), key=lambda k: int(k.split("_")[1])):
        print(f"  preview {key.split('_')[1]:>4s} {m[key]:8.0f} ms   {m[key] / bare:5.2f}x the full forward")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--res", type=int, nargs="+", default=[256, 512], choices=sorted(CONFIGS))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: every core)")
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    OUT.mkdir(parents=True, exist_ok=True)
    device = torch.device(args.device)
    print(f"{device}, {torch.get_num_threads()} threads, median of {args.reps}")
    figures = {}
    for res in args.res:
        figures[res] = measure(build_checkpoint(res), device, args.reps)
        report(res, figures[res])
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
