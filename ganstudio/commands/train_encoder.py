"""`ganstudio train-encoder`: train the projector's start, an image -> w+ encoder, for one StyleGAN-like model.

The recipe is training/encoder_trainer.py; the file it writes (engine/inversion_encoder.py's format)
is what `ganstudio project --encoder FILE` and, named in a shipped model's manifest entry, the
Project panel and `ganstudio project` start from.
"""
from __future__ import annotations

import hashlib
import sys
import time
from pathlib import Path

NAME = "train-encoder"
HELP = "train an image -> w+ encoder for a StyleGAN-like model (projection starts from its guess)"

_EVAL_IMAGES = 256  # held-out images (test split) whose start PSNR goes into the file


def add_arguments(p):
    from ganstudio.training.encoder_trainer import EncoderRecipe as R
    p.add_argument("--model", required=True, help="a GAN Studio checkpoint or a shipped model name (with a w+ space)")
    p.add_argument("--out", required=True, help="encoder file to write (.safetensors)")
    p.add_argument("--data", default=None,
                   help="real images for the reconstruction loss: a data set spec or folder (default: the shipped "
                        "model's training set); 'none' trains on generated pairs only")
    p.add_argument("--real-limit", type=int, default=20000, help="use at most this many real images (default 20000)")
    p.add_argument("--steps", type=int, default=R.steps, help=f"training steps (default {R.steps})")
    p.add_argument("--batch", type=int, default=R.batch, help=f"generated pairs per step (default {R.batch})")
    p.add_argument("--real-batch", type=int, default=R.real_batch, help=f"real images per step (default {R.real_batch})")
    p.add_argument("--lr", type=float, default=R.lr, help=f"Adam's learning rate (default {R.lr})")
    p.add_argument("--seed", type=int, default=R.seed)
    p.add_argument("--max-minutes", type=float, default=None,
                   help="stop after this much wall time (the file records the steps done)")
    p.add_argument("--stop-after", type=int, default=None, metavar="N",
                   help="stop after N steps, keeping the learning-rate schedule of --steps (replays a run that "
                        "--max-minutes stopped)")
    p.add_argument("--half", action="store_true", help="store the weights in float16 (half the file size)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1: reproducible and polite)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default="cpu")
    p.add_argument("--quiet", action="store_true", help="no progress lines")


def _check_args(args) -> None:
    from ganstudio.commands import UsageError
    for flag, v, lo, hi in (("--steps", args.steps, 1, 10_000_000), ("--batch", args.batch, 1, 4096),
                            ("--real-batch", args.real_batch, 0, 4096), ("--threads", args.threads, 1, 256),
                            ("--real-limit", args.real_limit, 1, 10_000_000)):
        if not lo <= v <= hi:
            raise UsageError(f"{flag} must be in {lo}..{hi}, got {v}")
    if args.stop_after is not None and not 1 <= args.stop_after <= args.steps:
        raise UsageError(f"--stop-after must be in 1..--steps ({args.steps}), got {args.stop_after}")
    if not 0 < args.lr < 1:
        raise UsageError(f"--lr must be in (0, 1), got {args.lr}")
    if args.max_minutes is not None and not 0 < args.max_minutes < 1e7:  # nan, inf, 0 or less: no budget at all
        raise UsageError(f"--max-minutes must be a positive number of minutes, got {args.max_minutes}")
    out = Path(args.out)
    if out.suffix.lower() != ".safetensors":
        raise UsageError(f"--out {out.name}: write a .safetensors file")
    if out.is_dir() or not out.parent.resolve().is_dir():
        raise UsageError(f"--out {args.out}: name a file in an existing folder")


def _generator(args, device):
    from ganstudio.commands import UsageError
    from ganstudio.commands.sample import _model_key
    from ganstudio.engine.renderer import load_model
    G, info = load_model(_model_key(args.model), device, prepare=False)
    if not (info.capabilities.style_layers and info.num_ws > 1):
        raise UsageError(f"--model {args.model}: no w+ space (a mapping network with style layers) to encode into")
    if info.c_dim:
        raise UsageError(f"--model {args.model}: conditional models are not supported by the encoder yet")
    return G, info


def _data(args, info, split: str, limit: int):
    """Real images float [N, C, H, W] in [-1, 1], or None."""
    from ganstudio.commands import UsageError
    from ganstudio.training.data import DatasetError, make_dataset
    spec = args.data if args.data is not None else _trained_on(args.model, info)
    if spec is None or str(spec).lower() == "none":
        return None, None
    try:
        ds = make_dataset(spec, info.resolution, info.channels, split=split, limit=limit)
    except DatasetError as e:
        raise UsageError(f"--data: {e}") from None
    import torch
    return ds.batch(torch.arange(len(ds)))[0], spec


def _trained_on(model: str, info):
    """The data set the checkpoint says it was trained on, else its manifest entry's; None if neither."""
    from ganstudio.pretrained import get_entry
    training = info.meta.get("training") if isinstance(info.meta, dict) else None
    if isinstance(training, dict) and isinstance(training.get("data"), str):
        return training["data"]
    e = get_entry(model)
    return e.get("data") if e else None


def run(args) -> int:
    import torch

    from ganstudio.commands.sample import _device
    from ganstudio.engine.inversion_encoder import encoder_for_generator, save_encoder
    from ganstudio.training.encoder_trainer import EncoderRecipe, recipe_dict, start_quality, train_encoder
    _check_args(args)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    device = _device(args.device)
    G, info = _generator(args, device)
    real, spec = _data(args, info, "train", args.real_limit)
    recipe = EncoderRecipe(steps=args.steps, batch=args.batch, real_batch=args.real_batch if real is not None else 0,
                           lr=args.lr, seed=args.seed)
    torch.manual_seed(args.seed)
    encoder = encoder_for_generator(G)

    def progress(s):
        if not args.quiet:
            print(f"step {s.step}/{recipe.steps} latent {s.latent_loss:.4f} recon {s.recon_loss:.4f} "
                  f"{s.seconds:.0f} s", file=sys.stderr, flush=True)

    t0 = time.time()
    limit = None if args.max_minutes is None else t0 + 60 * args.max_minutes

    def should_stop() -> bool:
        return ((limit is not None and time.time() > limit)
                or (args.stop_after is not None and encoder.steps_done >= args.stop_after))
    encoder = train_encoder(G, encoder, recipe, real, progress, device, should_stop=should_stop)
    seconds = time.time() - t0
    held_out, _ = _data(args, info, "test", _EVAL_IMAGES) if spec else (None, None)
    quality = start_quality(G.float(), encoder, held_out, device) if held_out is not None else {}
    meta = {"generator": _generator_id(args.model, info), "data": spec, "recipe": recipe_dict(recipe),
            "training": {"steps_done": encoder.steps_done, "wall_time_s": round(seconds, 1), "device": str(device),
                         "threads": args.threads, "torch": torch.__version__},
            "metrics": {"held_out_start": quality} if quality else {}}
    out = save_encoder(args.out, encoder.cpu(), meta, dtype=torch.float16 if args.half else torch.float32)
    note = (f"; held-out start PSNR {quality['encoder_psnr']:.2f} dB (mean latent {quality['mean_psnr']:.2f} dB, "
            f"{quality['n']} test images)") if quality else ""
    print(f"wrote {out.resolve()} after {seconds:.0f} s{note}")
    return 0


def _generator_id(model: str, info) -> dict:
    """Which generator the encoder belongs to: its name and its file's SHA-256."""
    from ganstudio.pretrained import resolve
    path = resolve(model)
    digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
    return {"name": Path(model).name if path.is_file() else model, "model": info.model_name, "sha256": digest}
