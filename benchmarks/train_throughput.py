"""Training throughput: our loop (DCGAN preset) against a plain PyTorch DCGAN loop.

    python benchmarks/train_throughput.py [--steps 30] [--batch 64] [--resolution 32] [--device auto]

Both run one after the other in this process on the same synthetic images (random uint8 held
in memory), with the same architecture (``dcgan`` from our registry: ngf = ndf = 64, z 100),
batch and optimizer (Adam lr 2e-4, betas (0.5, 0.999), BCE / non-saturating loss): the
recipe of the pytorch/examples DCGAN.  The plain loop is written here from that recipe; it
reuses the D step's fakes for the G step, while ours draws fresh latents for the G step
(one more G forward per step), so a ratio a little under 1 is expected.  Warm-up steps are
not timed.  Prints images per second for both and the ratio ours / reference.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def synthetic_images(n: int, resolution: int, channels: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, channels, resolution, resolution), generator=g, dtype=torch.uint8)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def reference_loop(images: torch.Tensor, *, steps: int, warmup: int, batch: int, device: torch.device) -> float:
    """Plain PyTorch DCGAN training (pytorch/examples recipe); returns timed images per second."""
    from ganstudio.models import create_discriminator, create_generator

    res, ch = images.shape[-1], images.shape[1]
    torch.manual_seed(0)
    G = create_generator("dcgan", img_resolution=res, img_channels=ch).to(device).train()
    D = create_discriminator("dcgan", img_resolution=res, img_channels=ch).to(device).train()
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    g = torch.Generator().manual_seed(0)
    ones = torch.ones(batch, device=device)
    zeros = torch.zeros(batch, device=device)
    t0 = None
    for step in range(warmup + steps):
        if step == warmup:
            _sync(device)
            t0 = time.perf_counter()
        idx = torch.randint(0, len(images), (batch,), generator=g)
        real = images[idx].to(device).float().div_(127.5).sub_(1.0)
        z = torch.randn(batch, G.z_dim, generator=g).to(device)
        fake = G(z)
        # D: real -> 1, fake -> 0
        opt_d.zero_grad(set_to_none=True)
        loss_d = (F.binary_cross_entropy_with_logits(D(real), ones)
                  + F.binary_cross_entropy_with_logits(D(fake.detach()), zeros))
        loss_d.backward()
        opt_d.step()
        # G: the same fakes, labelled real (non-saturating loss)
        opt_g.zero_grad(set_to_none=True)
        loss_g = F.binary_cross_entropy_with_logits(D(fake), ones)
        loss_g.backward()
        opt_g.step()
    _sync(device)
    return steps * batch / (time.perf_counter() - t0)


def our_loop(images: torch.Tensor, *, steps: int, warmup: int, batch: int, device: torch.device) -> float:
    """ganstudio.training.loop.train with the dcgan preset; returns timed images per second."""
    from ganstudio.training.data import ImageDataset
    from ganstudio.training.loop import train
    from ganstudio.training.presets import apply_overrides, get_preset

    res, ch = images.shape[-1], images.shape[1]
    ds = ImageDataset(images, None, resolution=res, channels=ch, name="synthetic", source="random uint8")
    cfg = apply_overrides(get_preset("dcgan"), {
        "resolution": res, "channels": ch, "batch": batch, "steps": warmup + steps, "device": device.type
        if device.index is None else str(device), "log_every": warmup + steps, "sample_every": 0,
        "ckpt_every": 0, "sample_count": 4, "data": "synthetic"})
    # One stat dict after the warm-up steps, one at the end; img/s between them is what we time.
    # The final sample grid and checkpoint are written after the end time is taken.
    cfg.log_every = warmup if warmup else warmup + steps
    marks = []
    with tempfile.TemporaryDirectory(prefix="ganstudio-bench-") as tmp:
        for stats in train(cfg, Path(tmp) / "run", dataset=ds):
            _sync(device)
            marks.append((stats["step"], stats["elapsed_s"]))
    (s0, t0), (s1, t1) = (marks[0] if warmup else (0, 0.0)), marks[-1]
    return (s1 - s0) * batch / (t1 - t0)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=30, help="timed training steps per loop")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--resolution", type=int, default=32, help="power of two >= 8 (the preset's is 32; the example's 64)")
    p.add_argument("--channels", type=int, default=3, choices=(1, 3))
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0 = torch default)")
    args = p.parse_args(argv)
    if args.steps < 1 or args.batch < 1 or args.warmup < 0:
        p.error("--steps and --batch must be positive, --warmup >= 0")
    if args.threads:
        torch.set_num_threads(args.threads)
    name = args.device
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        p.error("CUDA is not available")
    device = torch.device(name)
    images = synthetic_images(max(4 * args.batch, 1024), args.resolution, args.channels)
    print(f"DCGAN {args.resolution}px x{args.channels}, batch {args.batch}, {args.steps} timed steps "
          f"(+{args.warmup} warm-up) on {device} ({torch.get_num_threads()} CPU threads)")
    ref = reference_loop(images, steps=args.steps, warmup=args.warmup, batch=args.batch, device=device)
    print(f"  plain PyTorch loop : {ref:9.1f} img/s")
    try:
        import ganstudio.training.loop  # noqa: F401
    except ImportError as e:
        print(f"  ganstudio loop     : not available ({e}); nothing to compare")
        return 1
    ours = our_loop(images, steps=args.steps, warmup=args.warmup, batch=args.batch, device=device)
    print(f"  ganstudio loop     : {ours:9.1f} img/s")
    print(f"  ratio ours/reference: {ours / ref:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
