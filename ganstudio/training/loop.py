"""The training loop: a plain generator of stat dicts, with no Qt and no printing.

    for stats in train(config, "runs/fm-dcgan"):
        print(stats["step"], stats["losses"])

``train`` writes the run folder described in :mod:`ganstudio.training.run_dir` (config,
log, samples, checkpoints, status) and yields a dict every ``log_every`` steps, at every
sample and checkpoint step and at the last step:

    step, steps (target), kimg, epoch, elapsed_s, img_per_s, eta_s, time,
    losses: {name: mean over the steps since the last yield}   e.g. loss_D, loss_G, D_real, D_fake,
            gp, r1, dragan, drift, class_D, class_G, info, ortho, vae_recon, vae_kl
    stage, alpha                 (progressive models)
    sample: uint8 [H, W, 3] grid of G_ema (else G) on fixed latents, sample_path   (sample steps)
    checkpoint: path                                                                (checkpoint steps)

Stopping: ``stop()`` returning True, or closing the generator (``gen.close()``), saves a
checkpoint at the current step and marks the run "stopped".  A NaN/Inf loss marks it "failed"
and raises :class:`TrainingError` without writing a checkpoint, so the last good one survives.

Reproducibility: weights are initialized from ``seed``; the data order is a permutation per
epoch drawn from ``seed + epoch``; every other random draw (latents, labels, noise, dropout)
comes from generators reseeded from (seed, step, rank) at the start of each step.  A resumed
run on CPU therefore continues bit for bit like an uninterrupted one.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import os
import time
import warnings
from pathlib import Path
from typing import Callable, Iterator, Optional

import numpy as np
import torch
import torch.nn.functional as F

from ganstudio.checkpoints import step_of
from ganstudio.training import distributed as dist_util
from ganstudio.training import losses as L
from ganstudio.training.ema import make_ema, update_ema
from ganstudio.training.presets import TrainConfig
from ganstudio.training.run_dir import LOCK_FILE, RunDir

log = logging.getLogger("ganstudio.training")

# Settings that may change when a run is resumed; the rest define the run and must not.
RESUMABLE_CHANGES = ("steps", "device", "num_workers", "log_every", "sample_every", "sample_count",
                     "ckpt_every", "keep", "amp")


class TrainingError(RuntimeError):
    """Training could not go on (a diverged loss); the run's status.json says why."""


class RunWriteError(TrainingError):
    """A file of the run folder could not be written (a full disk, a read-only or lost mount).

    The message names the file the trainer meant to write, never a temp file of ours."""

    def __init__(self, path, err: OSError):
        reason = os.strerror(err.errno).lower() if err.errno else (str(err) or type(err).__name__)
        super().__init__(f"cannot write {path}: {reason}")
        self.path, self.errno = Path(path), err.errno


@contextlib.contextmanager
def writing(path):
    """Turn an OSError of the block into a :class:`RunWriteError` naming ``path``."""
    try:
        yield
    except OSError as e:
        raise RunWriteError(path, e) from None


# -- setup helpers ----------------------------------------------------------------------------

def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} requested but CUDA is not available")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError("device 'mps' requested but MPS is not available")
    return torch.device(name)


DEFAULT_W_AVG_BETA = 0.995  # TrainConfig's default, the model's own: only another value is a setting


def build_models(cfg: TrainConfig, num_classes: int):
    """G and D (None for VAE-style models) from the config, with the data set's class count."""
    from ganstudio.models import create_discriminator, create_generator, get_spec

    try:
        spec = get_spec(cfg.model)
    except KeyError as e:
        raise ValueError(e.args[0]) from None
    fields = {f.name for f in dataclasses.fields(spec.config_cls)}
    over = dict(cfg.model_config)
    for k in ("img_resolution", "img_channels"):
        if k in over:
            raise ValueError(f"set the training 'resolution'/'channels', not model.{k}")
    over["img_resolution"], over["img_channels"] = cfg.resolution, cfg.channels
    if "c_dim" in fields:
        if cfg.conditional == "yes" and num_classes < 1:
            hint = ("try --set conditional=no" if _can_be_unconditional(cfg.model, over) else
                    f"{cfg.model} is class-conditional by design; label an image folder by subfolder with "
                    "--set class_folders=true")
            raise ValueError(f"{cfg.model} is trained class-conditionally and needs a labelled data set; "
                             f"{cfg.data} has no labels ({hint})")
        if cfg.conditional == "no" and over.get("c_dim", 0):
            raise ValueError(f"conditional=no contradicts model.c_dim={over['c_dim']}")
        # "no" trains without classes: left at the model's default c_dim, every image was fed as class 0.
        over["c_dim"] = num_classes if cfg.conditional in ("yes", "auto") else 0
    elif cfg.conditional == "yes":
        raise ValueError(f"model {cfg.model} is not class-conditional (set conditional=no)")
    # w_avg_beta is the training-level name of the model's w_avg decay: either one, set, reaches the model.
    if "w_avg_beta" in fields:
        if cfg.w_avg_beta != DEFAULT_W_AVG_BETA:
            if over.setdefault("w_avg_beta", cfg.w_avg_beta) != cfg.w_avg_beta:
                raise ValueError(f"w_avg_beta={cfg.w_avg_beta} contradicts model.w_avg_beta={over['w_avg_beta']}")
    elif cfg.w_avg_beta != DEFAULT_W_AVG_BETA:
        raise ValueError(f"w_avg_beta is StyleGAN's running mean of w; {cfg.model} has none")
    try:
        with warnings.catch_warnings():  # torch's "zero-element tensors" note: check_models_run names the cause
            warnings.filterwarnings("ignore", message="Initializing zero-element tensors")
            G = create_generator(cfg.model, **over)
            D = create_discriminator(cfg.model, **over)
    except (TypeError, ValueError, RuntimeError, ZeroDivisionError, OverflowError) as e:
        if over.get("c_dim", None) == 0 and not _can_be_unconditional(cfg.model, over):
            raise ValueError(f"{cfg.model} is class-conditional by design and cannot train without classes; "
                             f"{cfg.data} has none: use a labelled data set (an image folder with "
                             "--set class_folders=true) or an unconditional model such as dcgan") from None
        # A bad model.FIELD override surfaces here; keep it to one line naming the model.
        raise ValueError(f"model {cfg.model}: invalid config {over}: {str(e).splitlines()[0]}") from None
    return G, D


def check_models_run(cfg: TrainConfig, G, D, device: torch.device) -> None:
    """ValueError naming the model settings when G and D build but cannot run (``model.ngf=0`` gives
    layers without channels, which died in oneDNN at the first step, after the run folder was made).

    One forward of two images in eval mode, without gradients and with the RNG state restored: the
    weights, buffers and random streams of the run are left exactly as they were."""
    over = ", ".join(f"model.{k}={v}" for k, v in cfg.model_config.items()) or "the preset's model settings"
    for name, net in (("generator", G), ("discriminator", D)):
        for pname, p in (net.named_parameters() if net is not None else ()):
            if p.numel() == 0:
                raise ValueError(f"model {cfg.model}: with {over} the {name}'s {pname} is empty "
                                 f"(shape {list(p.shape)}); give every width and size a value >= 1")
    nets = [m for m in (G, D) if m is not None]
    modes = [m.training for m in nets]
    try:
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            for m in nets:
                m.eval()
            z = torch.zeros(2, G.z_dim, device=device)
            c = torch.zeros(2, G.c_dim, device=device) if G.c_dim else None
            img = G(z, c)
            if D is not None:
                D(img, c if getattr(D, "c_dim", 0) else None)
    except (RuntimeError, ValueError, TypeError, IndexError, ZeroDivisionError) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ValueError(f"model {cfg.model}: with {over} the networks cannot run ({first[:200]})") from None
    finally:
        for m, mode in zip(nets, modes):
            m.train(mode)


def _can_be_unconditional(name: str, over: dict) -> bool:
    """Whether the family builds with c_dim=0 (cgan, acgan, SN-GAN and BigGAN need classes)."""
    from ganstudio.models import create_generator
    try:
        with torch.device("meta"):
            create_generator(name, **{**over, "c_dim": 0})
    except (TypeError, ValueError, RuntimeError, ZeroDivisionError, OverflowError):
        return False
    return True


def _make_optimizer(params, kind: str, lr: float, betas, lazy_every: int = 1) -> torch.optim.Optimizer:
    """``lazy_every`` > 1: the net gets a lazy regularizer every N steps as a pass of its own (N + 1
    Adam steps per N batches), so Adam runs at lr * c and betas ** c, c = N / (N + 1) (Karras et al.
    2020, B): the same total step size per N batches as without lazy regularization."""
    params = list(params)
    if kind == "adam":
        c = lazy_every / (lazy_every + 1) if lazy_every > 1 else 1.0
        return torch.optim.Adam(params, lr=lr * c, betas=tuple(b ** c for b in betas))
    if kind == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    return torch.optim.SGD(params, lr=lr, momentum=betas[0])


def _step_seed(seed: int, step: int, rank: int) -> int:
    # Distinct for every (seed, step, rank) with step < 2**32 and rank < 256.
    return (seed * (1 << 40) + step * (1 << 8) + rank) % (1 << 63)


def _flatten_optimizer(opt: torch.optim.Optimizer, prefix: str) -> tuple[dict, dict]:
    """Optimizer state -> (tensors named prefix.<param>.<key>, JSON structure)."""
    sd = opt.state_dict()
    tensors, state = {}, {}
    for pid, st in sd["state"].items():
        entry = {}
        for k, v in st.items():
            if torch.is_tensor(v):
                tensors[f"{prefix}.{pid}.{k}"] = v
                entry[k] = {"tensor": f"{prefix}.{pid}.{k}"}
            else:
                entry[k] = {"value": v}
        state[str(pid)] = entry
    return tensors, {"state": state, "param_groups": sd["param_groups"]}


def _unflatten_optimizer(opt: torch.optim.Optimizer, structure: dict, tensors: dict) -> None:
    state = {}
    for pid, entry in structure["state"].items():
        st = {}
        for k, v in entry.items():
            st[k] = tensors[v["tensor"]].clone() if "tensor" in v else v["value"]
        state[int(pid)] = st
    groups = structure["param_groups"]
    for g in groups:
        if "betas" in g:
            g["betas"] = tuple(g["betas"])
    opt.load_state_dict({"state": state, "param_groups": groups})


def sample_grid(images: torch.Tensor, cols: int) -> np.ndarray:
    """[N, C, H, W] in [-1, 1] -> uint8 [rows*H, cols*W, 3] grid (grey repeated to RGB)."""
    x = ((images.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    n, c, h, w = x.shape
    rows = math.ceil(n / cols)
    grid = torch.zeros(rows * cols, c, h, w, dtype=torch.uint8)
    grid[:n] = x[:, :3]
    grid = grid.view(rows, cols, c, h, w).permute(0, 3, 1, 4, 2).reshape(rows * h, cols * w, c)
    return grid.numpy()


def _save_png(path: Path, grid: np.ndarray) -> None:
    from PIL import Image

    from ganstudio._io import atomic_path
    with writing(path), atomic_path(path) as tmp:
        Image.fromarray(grid).save(tmp, format="PNG")


def progressive_schedule(images_seen: int, phase_kimg: float, num_stages: int) -> tuple[int, float]:
    """(stage, alpha) after ``images_seen`` images: stage 0 stable, then per stage a fade-in and a stable phase."""
    if phase_kimg <= 0:
        return num_stages - 1, 1.0
    phase_img = phase_kimg * 1000.0
    p = images_seen / phase_img
    if p < 1:
        return 0, 1.0
    stage = int((p - 1) // 2) + 1
    if stage >= num_stages:
        return num_stages - 1, 1.0
    frac = (p - 1) - 2 * (stage - 1)  # in [0, 2): fade-in, then stable
    return stage, min(1.0, frac)


# -- the trainer ------------------------------------------------------------------------------

class _Trainer:
    def __init__(self, cfg: TrainConfig, run_dir, *, resume: bool, dataset, stop):
        self.cfg = cfg = cfg.validate()
        self.stop = stop
        device = resolve_device(cfg.device)
        self.ctx = dist_util.init(device.type)
        if self.ctx.enabled and device.type == "cuda":
            device = torch.device("cuda", self.ctx.local_rank)
        self.device = device
        self.main = self.ctx.is_main
        self.run = RunDir(run_dir)
        self.amp = bool(cfg.amp and device.type == "cuda")

        # Data first: a missing data set must fail before anything is written.
        if dataset is None:
            from ganstudio.training.data import make_dataset
            dataset = make_dataset(cfg.data, cfg.resolution, cfg.channels, flip=cfg.flip,
                                   class_folders=cfg.class_folders)
        self.dataset = dataset
        self.num_classes = int(getattr(dataset, "num_classes", 0) or 0)
        self.class_names = [str(n) for n in (getattr(dataset, "class_names", None) or [])]
        n = len(dataset)
        if cfg.batch % self.ctx.world_size:
            raise ValueError(f"batch {cfg.batch} does not split over {self.ctx.world_size} processes")
        if n < cfg.batch:
            raise ValueError(f"the data set has {n} images, fewer than one batch of {cfg.batch}; lower --batch")
        self.batches_per_epoch = n // cfg.batch  # the partial last batch of an epoch is dropped

        torch.manual_seed(cfg.seed)  # the same initial weights on every rank
        self.G, self.D = build_models(cfg, self.num_classes)
        self.G.to(device).train()
        if self.D is not None:
            self.D.to(device).train()
        dist_util.broadcast_module(self.G, self.ctx)
        dist_util.broadcast_module(self.D, self.ctx)
        check_models_run(cfg, self.G, self.D, device)  # before anything is written
        self.G_ema = make_ema(self.G) if cfg.ema > 0 else None
        self.is_vae = self.D is None
        if self.is_vae and not hasattr(self.G, "encode"):
            raise ValueError(f"model {cfg.model} has no discriminator and no encoder: nothing to train it with")
        caps = self.G.capabilities()
        self.style_mixing = cfg.style_mixing if caps.style_layers else 0.0
        self.noise_kw = {"noise_mode": "random"} if caps.noise_layers else {}
        self.progressive = bool(caps.progressive and hasattr(self.G, "set_stage") and hasattr(self.D, "set_stage"))
        self.d_cond = self.D is not None and getattr(self.D, "c_dim", 0) > 0
        self.info_cat = int(getattr(self.G, "info_cat", 0) or 0)
        self.info_cont = int(getattr(self.G, "info_cont", 0) or 0)
        heads = self.D.aux_heads() if self.D is not None else ()
        if cfg.aux_class > 0 and "class_logits" not in heads:  # it died in the first D step (KeyError)
            raise ValueError(f"aux_class is ACGAN's auxiliary class loss; the {cfg.model} discriminator has no "
                             f"class head (train the acgan model)")
        if cfg.info > 0 and "code" not in heads:  # it was silently ignored
            raise ValueError(f"info is InfoGAN's mutual-information loss; {cfg.model} has no latent codes "
                             f"(the infogan preset, or model.info_cat / model.info_cont on dcgan)")
        self.use_info = cfg.info > 0
        self.use_aux_class = cfg.aux_class > 0
        if self.G.c_dim and self.num_classes and self.G.c_dim != self.num_classes:
            raise ValueError(f"the model has {self.G.c_dim} classes, the data set {self.num_classes}")

        self.use_pl = cfg.pl > 0
        if self.use_pl and not caps.style_layers:
            raise ValueError(f"pl (path length regularization) needs a style-based generator; {cfg.model} has none")
        self.pl_mean = torch.zeros([], device=device)  # the running mean path length a
        lazy_g = cfg.pl_every if (cfg.lazy_adam and self.use_pl) else 1
        lazy_d = cfg.r1_every if (cfg.lazy_adam and cfg.r1) else 1
        self.opt_G = _make_optimizer(self.G.parameters(), cfg.optimizer, cfg.lr_g, cfg.betas_g, lazy_g)
        self.opt_D = (None if self.D is None else
                      _make_optimizer(self.D.parameters(), cfg.optimizer, cfg.lr_d, cfg.betas_d, lazy_d))
        self.gen = torch.Generator()  # CPU: latents and labels, the same on every device
        self.dev_gen = torch.Generator(device) if device.type == "cuda" else self.gen
        self.step = 0
        self.batches = 0  # global batches consumed: the data order position
        self.d_iters = 0
        self.resumed_from: Optional[Path] = None
        self._fixed_latents()
        if self.main:
            with writing(self.run.path):
                self.run.path.mkdir(parents=True, exist_ok=True)
            self.run.remove_temp_files()
        self._barrier()
        if resume:
            self._resume()
        if self.main:
            with writing(self.run.config_path):
                self.run.write_config(cfg.to_dict())  # on resume too: the steps may have been extended
            with writing(self.run.log_path):
                if resume:
                    self.run.truncate_log(self.step)
                else:
                    self.run.log_path.unlink(missing_ok=True)

    def _barrier(self) -> None:
        if self.ctx.enabled:
            torch.distributed.barrier()

    # -- latents --------------------------------------------------------------------------------
    def _labels(self, n: int, generator: torch.Generator) -> Optional[torch.Tensor]:
        if not self.G.c_dim:
            return None
        return torch.randint(0, self.G.c_dim, (n,), generator=generator)

    def _latents(self, n: int, generator: torch.Generator):
        """(z, c, labels, info_cat_idx, info_cont) drawn on CPU from ``generator``, moved to the device."""
        noise_dim = self.G.z_dim - self.info_cat - self.info_cont
        z = torch.randn(n, noise_dim, generator=generator)
        cat = cont = None
        parts = [z]
        if self.info_cat:
            cat = torch.randint(0, self.info_cat, (n,), generator=generator)
            parts.append(F.one_hot(cat, self.info_cat).float())
        if self.info_cont:
            cont = torch.rand(n, self.info_cont, generator=generator) * 2 - 1
            parts.append(cont)
        z = torch.cat(parts, dim=1) if len(parts) > 1 else z
        labels = self._labels(n, generator)
        c = None if labels is None else F.one_hot(labels, self.G.c_dim).float().to(self.device)
        to = (lambda t: None if t is None else t.to(self.device))
        return z.to(self.device), c, to(labels), to(cat), to(cont)

    def _fixed_latents(self) -> None:
        n = self.cfg.sample_count
        self.grid_cols = max(1, int(math.ceil(math.sqrt(n))))
        g = torch.Generator().manual_seed(self.cfg.seed)
        z, c, labels, cat, cont = self._latents(n, g)
        rows = torch.arange(n) // self.grid_cols
        if self.G.c_dim:  # one class per row
            labels = (rows % self.G.c_dim).to(self.device)
            c = F.one_hot(labels, self.G.c_dim).float()
        if self.info_cat:  # one category per row
            start = self.G.z_dim - self.info_cat - self.info_cont
            z[:, start:start + self.info_cat] = F.one_hot(rows % self.info_cat, self.info_cat).float().to(z.device)
        self.z_fixed, self.c_fixed = z, c

    # -- data -----------------------------------------------------------------------------------
    def _batch_indices(self, b: int) -> torch.Tensor:
        """This rank's share of global batch ``b``: a slice of epoch ``b // batches_per_epoch``'s permutation."""
        cfg, ctx = self.cfg, self.ctx
        epoch, pos = divmod(b, self.batches_per_epoch)
        if getattr(self, "_perm_epoch", None) != epoch:
            g = torch.Generator().manual_seed(cfg.seed + epoch)
            self._perm = torch.randperm(len(self.dataset), generator=g)
            self._perm_epoch = epoch
        idx = self._perm[pos * cfg.batch:(pos + 1) * cfg.batch]
        return idx[ctx.rank::ctx.world_size]  # the DistributedSampler split, within each global batch

    def _loader(self):
        """Worker processes for data sets read item by item (in-memory sets slice whole batches instead)."""
        start = self.batches

        def batches():
            b = start
            while True:
                yield self._batch_indices(b).tolist()
                b += 1

        class _Sampler(torch.utils.data.Sampler):
            def __iter__(self):
                return batches()

        loader = torch.utils.data.DataLoader(self.dataset, batch_sampler=_Sampler(), num_workers=self.cfg.num_workers,
                                             generator=torch.Generator().manual_seed(self.cfg.seed),
                                             persistent_workers=False)
        return iter(loader)

    def _next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        cfg = self.cfg
        epoch = self.batches // self.batches_per_epoch
        if hasattr(self.dataset, "batch"):
            idx = self._batch_indices(self.batches)
            if hasattr(self.dataset, "set_epoch") and getattr(self, "_flip_epoch", None) != epoch:
                self.dataset.set_epoch(epoch, cfg.seed)  # flips: a function of (seed, epoch, index)
                self._flip_epoch = epoch
            img, labels = self.dataset.batch(idx)
        elif cfg.num_workers > 0:
            if getattr(self, "_loader_iter", None) is None:
                self._loader_iter = self._loader()
            img, labels = next(self._loader_iter)
            labels = torch.as_tensor(labels, dtype=torch.long)
        else:
            items = [self.dataset[int(i)] for i in self._batch_indices(self.batches)]
            img = torch.stack([it[0] for it in items])
            labels = torch.as_tensor([int(it[1]) for it in items], dtype=torch.long)
        self.batches += 1
        if cfg.flip and not hasattr(self.dataset, "flip_mask"):
            flips = torch.rand(len(img), generator=self.gen) < 0.5
            img[flips] = img[flips].flip(-1)
        return img.to(self.device, non_blocking=True), labels.to(self.device)

    def _prepare_real(self, real: torch.Tensor) -> torch.Tensor:
        """Progressive growing: reals at the current stage's size, faded in like G's output."""
        if not self.progressive:
            return real
        res = 4 * 2 ** self.stage
        if real.shape[-1] != res:
            real = F.adaptive_avg_pool2d(real, res)
        if self.stage > 0 and self.alpha < 1.0:
            low = F.interpolate(F.avg_pool2d(real, 2), scale_factor=2, mode="nearest")
            real = torch.lerp(low, real, self.alpha)
        return real

    # -- networks -------------------------------------------------------------------------------
    def _generate(self, z, c, *, mix: bool) -> tuple[torch.Tensor, torch.Tensor]:
        G = self.G
        if mix and self.style_mixing > 0:
            z2 = torch.randn(z.shape, generator=self.gen).to(self.device)
            ws = L.style_mix(G, z, z2, c, self.style_mixing, generator=self.gen)
        else:
            ws = G.mapping(z, c)
        if self.progressive and hasattr(G, "synthesis_at"):
            return G.synthesis_at(ws, self.stage, self.alpha), ws
        return G.synthesis(ws, c, **self.noise_kw), ws

    def _D(self, img, c, aux: bool):
        if aux:
            return self.D.forward_aux(img, c)
        return self.D(img, c), {}

    def _autocast(self):
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=self.amp)

    def _instance_noise(self, x: torch.Tensor) -> torch.Tensor:
        sigma = self.cfg.instance_noise * max(0.0, 1.0 - self.step / self.cfg.steps)
        if sigma <= 0:
            return x
        return x + sigma * torch.randn(x.shape, generator=self.dev_gen, device=self.device, dtype=x.dtype)

    def _d_step(self, terms: dict) -> None:
        cfg = self.cfg
        real, labels = self._next_batch()
        real = self._prepare_real(real)
        n = real.shape[0]
        z, c_fake, fake_labels, cat, cont = self._latents(n, self.gen)
        c_real = F.one_hot(labels.clamp(min=0), self.G.c_dim).float() if self.G.c_dim else None
        dc_real, dc_fake = (c_real, c_fake) if self.d_cond else (None, None)
        aux = self.use_aux_class or self.use_info
        with self._autocast():
            if self._reusing():
                # Keep G's graph: the G step that follows trains on these same fakes.
                fake_g, ws = self._generate(z, c_fake, mix=True)
                self._fakes = (fake_g, ws, c_fake, fake_labels, cat, cont)
                fake = fake_g.detach()
            else:
                with torch.no_grad():
                    fake, _ = self._generate(z, c_fake, mix=True)
            s_real, aux_real = self._D(self._instance_noise(real), dc_real, aux)
            s_fake, aux_fake = self._D(self._instance_noise(fake), dc_fake, aux)
            loss = L.d_loss(cfg.loss, s_real, s_fake, real_target=1.0 - cfg.label_smoothing)
            total = loss
            terms["loss_D"], terms["D_real"], terms["D_fake"] = loss, s_real.float().mean(), s_fake.float().mean()
            if self.use_aux_class:
                cls = (L.class_loss(aux_real["class_logits"], labels)
                       + L.class_loss(aux_fake["class_logits"], fake_labels))
                terms["class_D"] = cls
                total = total + cfg.aux_class * cls
            if self.use_info:
                mi = L.info_loss(aux_fake["code"], cat, cont, self.info_cat, self.info_cont, cfg.info_cont)
                terms["info_D"] = mi
                total = total + cfg.info * mi
            if cfg.drift:
                drift = L.drift_penalty(s_real)
                terms["drift"] = drift
                total = total + cfg.drift * drift
            if cfg.gp:
                gp = L.gradient_penalty(self.D, real, fake, dc_real, generator=self.dev_gen)
                terms["gp"] = gp
                total = total + cfg.gp * gp
            r1_due = cfg.r1 and self.d_iters % cfg.r1_every == 0
            if r1_due and not cfg.lazy_adam:  # folded into this step (no Adam adjustment)
                r1 = L.r1_penalty(self.D, real, dc_real)
                terms["r1"] = r1
                total = total + (cfg.r1 / 2) * cfg.r1_every * r1
            if cfg.dragan:
                dr = L.dragan_penalty(self.D, real, dc_real, generator=self.dev_gen)
                terms["dragan"] = dr
                total = total + cfg.dragan * dr
        self._optimize(self.opt_D, self.D, total)
        if r1_due and cfg.lazy_adam:  # the paper's lazy pass, a step of its own
            with self._autocast():
                r1 = L.r1_penalty(self.D, real, dc_real)
            terms["r1"] = r1
            self._optimize(self.opt_D, self.D, (cfg.r1 / 2) * cfg.r1_every * r1)
        if cfg.clip:
            L.clip_weights_(self.D, cfg.clip)
        self.d_iters += 1

    def _optimize(self, opt: torch.optim.Optimizer, net, loss: torch.Tensor) -> None:
        opt.zero_grad(set_to_none=True)
        loss.backward()
        dist_util.average_gradients(net.parameters(), self.ctx)
        opt.step()

    def _reusing(self) -> bool:
        return self.cfg.reuse_fakes and self.cfg.k_disc == 1

    def _g_step(self, terms: dict) -> None:
        cfg = self.cfg
        fakes, self._fakes = getattr(self, "_fakes", None), None
        if fakes is None:
            n = cfg.batch // self.ctx.world_size
            z, c, labels, cat, cont = self._latents(n, self.gen)
        aux = self.use_aux_class or self.use_info
        self.D.requires_grad_(False)
        try:
            with self._autocast():
                if fakes is None:
                    fake, ws = self._generate(z, c, mix=True)
                else:
                    fake, ws, c, labels, cat, cont = fakes
                # D sees the same noisy inputs as in its own step (Sønderby et al. 2017).
                scores, aux_out = self._D(self._instance_noise(fake), c if self.d_cond else None, aux)
                loss = L.g_loss(cfg.loss, scores)
                total = loss
                terms["loss_G"] = loss
                if self.use_aux_class:
                    cls = L.class_loss(aux_out["class_logits"], labels)
                    terms["class_G"] = cls
                    total = total + cfg.aux_class * cls
                if self.use_info:
                    mi = L.info_loss(aux_out["code"], cat, cont, self.info_cat, self.info_cont, cfg.info_cont)
                    terms["info_G"] = mi
                    total = total + cfg.info * mi
                if cfg.ortho:
                    orth = L.orthogonal_reg(self.G)
                    terms["ortho"] = orth
                    total = total + cfg.ortho * orth
                pl_due = self.use_pl and self.step % cfg.pl_every == 0
                if pl_due and not cfg.lazy_adam:  # folded into this step (no Adam adjustment)
                    pl = self._path_length_penalty()
                    terms["pl"] = pl
                    total = total + cfg.pl * cfg.pl_every * pl
            self._optimize(self.opt_G, self.G, total)
            if pl_due and cfg.lazy_adam:  # the paper's lazy pass, a step of its own
                with self._autocast():
                    pl = self._path_length_penalty()
                terms["pl"] = pl
                self._optimize(self.opt_G, self.G, cfg.pl * cfg.pl_every * pl)
        finally:
            self.D.requires_grad_(True)
        if hasattr(self.G, "update_w_avg"):
            self.G.update_w_avg(ws[:, 0].detach())  # with the model's own beta (w_avg_beta is folded in)

    def _path_length_penalty(self) -> torch.Tensor:
        """Path length regularization on a fresh half batch; updates the running mean a."""
        n = max(1, self.cfg.batch // self.ctx.world_size // L.PL_BATCH_SHRINK)
        z, c, *_ = self._latents(n, self.gen)
        fake, ws = self._generate(z, c, mix=True)
        lengths = L.path_lengths(fake, ws, generator=self.dev_gen)
        # Every rank moves a by the mean over all ranks, so a stays the same everywhere.
        mean = dist_util.mean_over_ranks(lengths.detach().mean(), self.ctx)
        self.pl_mean = self.pl_mean.lerp(mean, L.PL_DECAY)
        return L.path_length_penalty(lengths, self.pl_mean)

    def _vae_step(self, terms: dict) -> None:
        real, _ = self._next_batch()
        with self._autocast():
            mu, logvar = self.G.encode(real)
            z = self.G.reparameterize(mu, logvar, generator=self.dev_gen)
            recon = self.G(z, None)
            loss, rec, kl = L.vae_loss(recon, real, mu, logvar, self.cfg.vae_beta)
        terms["loss_vae"], terms["vae_recon"], terms["vae_kl"] = loss, rec, kl
        self.opt_G.zero_grad(set_to_none=True)
        loss.backward()
        dist_util.average_gradients(self.G.parameters(), self.ctx)
        self.opt_G.step()

    def train_step(self) -> dict:
        """One generator step (after k_disc discriminator steps); returns the loss terms as tensors."""
        cfg = self.cfg
        seed = _step_seed(cfg.seed, self.step, self.ctx.rank)
        torch.manual_seed(seed)  # dropout and any other draw from the global generator
        self.gen.manual_seed(seed)
        if self.dev_gen is not self.gen:
            self.dev_gen.manual_seed(seed)
        if self.progressive:
            self.stage, self.alpha = progressive_schedule(self.step * cfg.batch, cfg.phase_kimg, self.G.num_stages)
            for m in (self.G, self.D, self.G_ema):
                if m is not None:
                    m.set_stage(self.stage, self.alpha)
        terms: dict = {}
        if self.is_vae:
            self._vae_step(terms)
        else:
            for _ in range(cfg.k_disc):
                self._d_step(terms)  # the terms of the last D step are reported
            self._g_step(terms)
        if self.G_ema is not None:
            update_ema(self.G_ema, self.G, cfg.ema)
        if self.ctx.enabled:
            dist_util.broadcast_module(self.G, self.ctx, buffers_only=True)
            dist_util.broadcast_module(self.D, self.ctx, buffers_only=True)
            if self.G_ema is not None:
                dist_util.broadcast_module(self.G_ema, self.ctx, buffers_only=True)
        self.step += 1
        return {k: v.detach().float() for k, v in terms.items()}

    # -- samples and checkpoints ----------------------------------------------------------------
    @torch.no_grad()
    def make_samples(self) -> np.ndarray:
        G = self.G_ema if self.G_ema is not None else self.G
        was_training = G.training
        G.eval()
        try:
            outs = []
            for i in range(0, len(self.z_fixed), 64):
                c = None if self.c_fixed is None else self.c_fixed[i:i + 64]
                outs.append(G(self.z_fixed[i:i + 64], c).float().cpu())
        finally:
            G.train(was_training)
        return sample_grid(torch.cat(outs), self.grid_cols)

    def kimg(self) -> float:
        return self.step * self.cfg.batch / 1000.0

    def save_checkpoint(self) -> Path:
        from ganstudio.checkpoints import save_checkpoint

        cfg = self.cfg
        tensors: dict[str, torch.Tensor] = {}
        if self.G_ema is not None:
            tensors.update({f"G_raw.{k}": v for k, v in self.G.state_dict().items()})
        opt_g_t, opt_g = _flatten_optimizer(self.opt_G, "opt_G")
        tensors.update(opt_g_t)
        opt_d = None
        if self.opt_D is not None:
            opt_d_t, opt_d = _flatten_optimizer(self.opt_D, "opt_D")
            tensors.update(opt_d_t)
        tensors["rng.torch_cpu"] = torch.get_rng_state()
        resume = {"step": self.step, "batches": self.batches, "d_iters": self.d_iters, "pl_mean": float(self.pl_mean),
                  "opt_G": opt_g, "opt_D": opt_d, "ema": self.G_ema is not None, "seed": cfg.seed}
        training = {"preset": cfg.preset, "data": cfg.data, "step": self.step, "steps": cfg.steps,
                    "kimg": self.kimg(), "batch": cfg.batch, "loss": cfg.loss, "ema": cfg.ema,
                    "resolution": cfg.resolution, "channels": cfg.channels, "seed": cfg.seed,
                    "time": time.time(), "config": cfg.to_dict()}
        if self.progressive:
            training["stage"], training["alpha"] = self.stage, self.alpha
        names = None
        if self.G.c_dim:
            names = (self.class_names if len(self.class_names) == self.G.c_dim
                     else [str(i) for i in range(self.G.c_dim)])
        path = self.run.checkpoint_path(self.step)
        G_out = self.G_ema if self.G_ema is not None else self.G
        with writing(path):
            save_checkpoint(path, G_out, D=self.D, class_names=names, training=training,
                            extra_tensors=tensors, extra={"resume": resume})
        self.run.prune_checkpoints(cfg.keep)
        return path

    def _resume(self) -> None:
        from ganstudio.checkpoints import CheckpointError, load_checkpoint

        newest_error = None
        for step, path, err in self.run.loadable_checkpoints():
            if err is None:
                try:
                    ckpt = load_checkpoint(path, load_D=True)
                    self._restore(ckpt)
                except (CheckpointError, KeyError, ValueError, RuntimeError) as e:
                    # torch's size-mismatch listing runs to a dozen lines: its first says enough
                    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()] or [type(e).__name__]
                    first = " ".join(lines[:2]) if lines[0].endswith(":") else lines[0]
                    err = first if isinstance(e, CheckpointError) else f"{path}: cannot resume from it ({first})"
                else:
                    self.resumed_from = path
                    log.info("resuming from %s (step %d)", path, self.step)
                    return
            newest_error = newest_error or err
            log.warning("skipping checkpoint %s: %s", path.name, err)
        if newest_error is not None:
            # Starting over would overwrite (and prune) the run's checkpoints with a new run's:
            # when it has some and none loads, stop and leave the folder as it is.
            raise TrainingError(f"none of the checkpoints in {self.run.checkpoints_dir} can be resumed "
                                f"(the newest: {newest_error}); nothing was changed. Fix config.json or start "
                                f"a new run with --out")
        log.warning("no checkpoint to resume from in %s; starting from step 0", self.run.checkpoints_dir)

    def _restore(self, ckpt) -> None:
        meta = ckpt.meta
        if meta["model"] != self.cfg.model:
            raise ValueError(f"it holds a {meta['model']}, the run trains {self.cfg.model}")
        resume = (meta.get("extra") or {}).get("resume")
        if not isinstance(resume, dict):
            raise ValueError("it has no training state (not written by `ganstudio train`)")
        extra = ckpt.extra
        if resume.get("ema"):
            if self.G_ema is None:
                raise ValueError("it was trained with EMA; this config has none")
            self.G_ema.load_state_dict(ckpt.G.state_dict())
            raw = {k[len("G_raw."):]: v for k, v in extra.items() if k.startswith("G_raw.")}
            self.G.load_state_dict(raw)
        else:
            self.G.load_state_dict(ckpt.G.state_dict())
            if self.G_ema is not None:
                self.G_ema.load_state_dict(ckpt.G.state_dict())
        if self.D is not None:
            if ckpt.D is None:
                raise ValueError("it has no discriminator weights")
            self.D.load_state_dict(ckpt.D.state_dict())
        _unflatten_optimizer(self.opt_G, resume["opt_G"], extra)
        if self.opt_D is not None:
            _unflatten_optimizer(self.opt_D, resume["opt_D"], extra)
        if "rng.torch_cpu" in extra:
            torch.set_rng_state(extra["rng.torch_cpu"])
        self.step, self.batches, self.d_iters = int(resume["step"]), int(resume["batches"]), int(resume["d_iters"])
        self.pl_mean = torch.tensor(float(resume.get("pl_mean", 0.0)), device=self.device)
        self.G.to(self.device)
        if self.D is not None:
            self.D.to(self.device)

    def write_status(self, state: str, reason: str = "", checkpoint: Optional[Path] = None) -> None:
        if self.main:
            with writing(self.run.status_path):
                self.run.write_status(state, step=self.step, steps=self.cfg.steps, kimg=self.kimg(), reason=reason,
                                      checkpoint=str(checkpoint) if checkpoint else self._latest_ckpt())

    def _latest_ckpt(self) -> Optional[str]:
        found = self.run.checkpoints()
        return str(found[-1][1]) if found else None


def _hash_params(trainer: _Trainer) -> dict:
    import hashlib

    out = {}
    for name, m in (("G", trainer.G), ("D", trainer.D), ("G_ema", trainer.G_ema)):
        if m is None:
            continue
        h = hashlib.sha256()
        for k, v in m.state_dict().items():
            h.update(k.encode())
            h.update(v.detach().cpu().contiguous().numpy().tobytes())
        out[name] = h.hexdigest()
    if trainer.use_pl:
        out["pl_mean"] = float(trainer.pl_mean)  # kept in step by averaging over ranks
    return out


def train(config: TrainConfig, run_dir, *, resume: bool = False, dataset=None,
          stop: Optional[Callable[[], bool]] = None) -> Iterator[dict]:
    """Train per ``config`` into ``run_dir``, yielding stat dicts (see the module docstring).

    ``resume=True`` continues from the newest checkpoint of ``run_dir`` that loads.  ``dataset``
    replaces ``config.data`` (tests); ``stop`` is polled between steps.  One process trains a run at
    a time: a second one (a resume while it still trains) is refused before it touches anything.
    """
    main = int(os.environ.get("RANK", "0")) == 0
    # A resume locks before it reads or rewrites anything; a new run once its folder exists (the data
    # set is checked first, so a refused start writes nothing).
    locks = [_lock_run(Path(run_dir))] if main and resume else []
    try:
        yield from _train(config, run_dir, resume=resume, dataset=dataset, stop=stop,
                          locks=locks if main and not resume else None)
    finally:
        for lock in locks:
            lock.close()  # closing the file releases the lock


def _lock_run(path: Path):
    """An exclusive lock on ``path``/.lock, held by the open file returned; ValueError when taken."""
    if not path.is_dir():
        raise ValueError(f"{path}: no such run folder")
    f = open(path / LOCK_FILE, "a+")
    try:
        if os.name == "nt":
            import msvcrt
            msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.close()
        raise ValueError(f"{path}: another process is training this run; stop it first (or wait for it)") from None
    return f


def _train(config: TrainConfig, run_dir, *, resume: bool, dataset, stop, locks: Optional[list]) -> Iterator[dict]:
    t = _Trainer(config, run_dir, resume=resume, dataset=dataset, stop=stop)
    if locks is not None:
        locks.append(_lock_run(t.run.path))
    cfg = t.cfg
    state, reason, last_ckpt = "failed", "", None
    ckpt_step = None  # the step of the newest checkpoint, known on every rank (only rank 0 writes it)
    agreed = False  # a failure every rank saw (NaN), so they can still leave the group together
    pending: list[dict] = []
    t0 = time.perf_counter()
    t_last, step_last = t0, t.step
    with writing(t.run.log_path):
        log_f = t.run.open_log() if t.main else None
    t.write_status("running")
    try:
        while t.step < cfg.steps:
            if dist_util.any_rank(bool(stop and stop()), t.ctx, t.device):
                state, reason = "stopped", "stop requested"
                break
            pending.append(t.train_step())
            step = t.step
            last = step >= cfg.steps
            do_sample = last or (cfg.sample_every and step % cfg.sample_every == 0)
            do_ckpt = last or (cfg.ckpt_every and step % cfg.ckpt_every == 0)
            if not (last or do_sample or do_ckpt or step % cfg.log_every == 0):
                continue
            # One host sync per logged interval: the per-step terms come back together.
            names = sorted({k for p in pending for k in p})
            nan = torch.tensor(float("nan"), device=t.device)
            rows = torch.stack([torch.stack([p.get(k, nan) for k in names]) if names else nan.new_zeros(0)
                                for p in pending]).cpu()
            absent = _absent_mask(pending, names)
            ok = torch.isfinite(rows) | absent
            if dist_util.any_rank(not bool(ok.all()), t.ctx, t.device):
                bad = (~ok.all(dim=1)).nonzero()
                bad_step = step - len(pending) + 1 + (int(bad[0]) if len(bad) else len(pending) - 1)
                reason = f"loss became NaN at step {bad_step}"
                agreed = True
                raise TrainingError(reason)
            now = time.perf_counter()
            dt = max(now - t_last, 1e-9)
            img_per_s = (step - step_last) * cfg.batch / dt
            means = {k: float(rows[~absent[:, j], j].mean()) for j, k in enumerate(names)}
            stats = {"step": step, "steps": cfg.steps, "kimg": t.kimg(),
                     "epoch": t.batches // t.batches_per_epoch, "time": time.time(),
                     "elapsed_s": now - t0, "img_per_s": img_per_s,
                     "eta_s": (cfg.steps - step) * dt / max(step - step_last, 1), "losses": means}
            if t.progressive:
                stats["stage"], stats["alpha"] = t.stage, t.alpha
            pending.clear()
            t_last, step_last = now, step
            if do_sample and t.main:
                grid = t.make_samples()
                path = t.run.sample_path(step)
                _save_png(path, grid)
                stats["sample"], stats["sample_path"] = grid, str(path)
            # The log line goes first: a crash between the two leaves a line that the resume
            # (from the previous checkpoint) drops, never a checkpoint without its line.
            if do_ckpt and t.main:
                stats["checkpoint"] = str(t.run.checkpoint_path(step))
            if log_f is not None:
                with writing(t.run.log_path):
                    log_f.append({k: v for k, v in stats.items() if k != "sample"})
            if do_ckpt:
                if t.main:
                    last_ckpt = t.save_checkpoint()
                    t.write_status("running", checkpoint=last_ckpt)
                ckpt_step = step
                t._barrier()
            yield stats
        else:
            state = "finished"
        # Every rank decides alike (a rank-0-only condition left rank 1 at a barrier rank 0 skipped).
        if state == "stopped" and t.step > 0 and t.step != ckpt_step:
            if t.main:
                last_ckpt = t.save_checkpoint()
            t._barrier()
    except GeneratorExit:
        # The consumer closed us between steps: the state is consistent, so keep it.
        state, reason = "stopped", "stopped by the caller"
        if t.main and (last_ckpt is None or t.step != step_of(last_ckpt)) and t.step > 0:
            last_ckpt = t.save_checkpoint()
        raise
    except KeyboardInterrupt:
        state, reason = "stopped", "interrupted"
        raise
    except BaseException as e:
        state = "failed"
        reason = reason or f"{type(e).__name__}: {e}"
        raise
    finally:
        _close_quietly(log_f)
        try:
            t.write_status(state, reason=reason, checkpoint=last_ckpt)
        except RunWriteError as e:
            # The disk that refused a checkpoint refuses the status too: the error already raised says
            # why, and a "running" status whose process is gone reads as killed.
            log.debug("status not written: %s", e)
            if state != "failed":
                raise
        hash_dir = os.environ.get("GANSTUDIO_TEST_HASH_DIR")
        if hash_dir:
            Path(hash_dir, f"rank{t.ctx.rank}.json").write_text(json.dumps(_hash_params(t)))
        if state != "failed" or agreed:
            dist_util.shutdown(t.ctx)
    return None


def _close_quietly(f) -> None:
    try:
        if f is not None:
            f.close()
    except OSError:  # a full disk refusing the last buffered bytes: every line was already flushed
        pass


def _absent_mask(pending: list[dict], names: list[str]) -> torch.Tensor:
    return torch.tensor([[k not in p for k in names] for p in pending], dtype=torch.bool).reshape(len(pending),
                                                                                                 len(names))
