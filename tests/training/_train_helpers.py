"""Shared pieces of the training tests: tiny configs, in-memory data, image folders."""
import dataclasses
from pathlib import Path

import torch

from ganstudio.training.presets import get_preset


class TinyData(torch.utils.data.TensorDataset):
    """A labelled in-memory data set with the attributes training.data's data sets have."""

    def __init__(self, n=32, res=16, channels=1, classes=3, seed=0):
        g = torch.Generator().manual_seed(seed)
        images = torch.rand(n, channels, res, res, generator=g) * 2 - 1
        labels = torch.randint(0, max(classes, 1), (n,), generator=g) if classes else torch.full((n,), -1)
        super().__init__(images, labels)
        self.num_classes = classes
        self.class_names = [f"class{i}" for i in range(classes)]


def tiny_config(preset, **overrides):
    """The preset with its model's tiny variant, tiny batches and frequent logging, on CPU."""
    from ganstudio.models import get_spec

    cfg = get_preset(preset)
    tiny = dict(get_spec(cfg.model).tiny)
    res = tiny.pop("img_resolution", cfg.resolution)
    tiny.pop("img_channels", None)
    tiny.pop("c_dim", None)  # the data set's class count decides
    model_config = {**cfg.model_config, **tiny}
    base = dict(model_config=model_config, resolution=res, channels=1, batch=8, steps=4, log_every=1,
                sample_every=2, ckpt_every=2, sample_count=4, device="cpu", keep=3)
    if cfg.phase_kimg:
        base["phase_kimg"] = 0.016  # two steps per ProGAN phase
    return dataclasses.replace(cfg, **{**base, **overrides})


def model_registered(name):
    from ganstudio.models import list_models
    return name in list_models()


def write_image_folder(folder: Path, n=24, res=8, seed=0):
    """A folder of n small grey PNGs in two class subfolders."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    for i in range(n):
        sub = folder / f"c{i % 2}"
        sub.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (res, res), dtype=np.uint8)).save(sub / f"{i:03d}.png")
    return folder


def run_cli(argv):
    """Process target: the `ganstudio` command line, exiting with its status."""
    import sys

    from ganstudio.cli import main
    sys.exit(main(argv))


def cli_forkserver():
    """A multiprocessing context whose children fork from a server that already imported torch and
    the package, so that starting (and killing) many training processes takes milliseconds each."""
    import multiprocessing
    import pkgutil

    import ganstudio.models as models
    ctx = multiprocessing.get_context("forkserver")
    families = [f"ganstudio.models.{m.name}" for m in pkgutil.iter_modules(models.__path__) if not m.name.startswith("_")]
    # torch._dynamo: the first optimizer imports it, which alone takes seconds.
    ctx.set_forkserver_preload(["torch", "torch._dynamo", "ganstudio.cli", "ganstudio.commands.train",
                                "ganstudio.training.loop", "ganstudio.training.data", "_train_helpers", *families])
    return ctx


def run_cli_stopping_in_a_checkpoint_write(argv, checkpoints_before=1):
    """Process target: the command line, stopping itself (SIGSTOP) once a checkpoint after the first
    ``checkpoints_before`` is complete in its temporary file but not yet renamed into place, so that the
    parent's kill lands in the middle of a checkpoint write every time (POSIX only)."""
    import os
    import signal
    from pathlib import Path

    real, landed = os.replace, [0]

    def replace(src, dst, *args, **kwargs):
        if Path(dst).name.startswith("ckpt_") and Path(dst).suffix == ".safetensors":
            if landed[0] >= checkpoints_before:
                os.kill(os.getpid(), signal.SIGSTOP)
            landed[0] += 1
        return real(src, dst, *args, **kwargs)
    os.replace = replace
    run_cli(argv)
