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

import json
import logging
import math
import os
import time
from pathlib import Path
from typing import Callable, Iterator, Optional

import numpy as np
import torch
import torch.nn.functional as F

from ganstudio.checkpoints import step_of
from ganstudio.devices import pick_device
from ganstudio.training import distributed as dist_util
from ganstudio.training.batches import BatchSource
from ganstudio.training.checkpointer import Checkpointer
from ganstudio.training.ema import make_ema, update_ema
from ganstudio.training.errors import RunWriteError, TrainingError, writing
from ganstudio.training.networks import (build_models, check_applicable, check_models_run, init_generator_from,
                                         make_optimizer)
from ganstudio.training.phases import GANLoss
from ganstudio.training.presets import TrainConfig
from ganstudio.training.run_dir import RunDir, lock_run
from ganstudio.training.samples import progressive_reals, progressive_schedule, sample_grid, save_png
from ganstudio.training.stats import StatsAccumulator, param_hashes

_make_optimizer, _lock_run = make_optimizer, lock_run  # the names tests and older callers use
__all__ = ["RESUMABLE_CHANGES", "RunWriteError", "TrainingError", "build_models", "check_models_run",
           "progressive_schedule", "sample_grid", "train", "writing"]

log = logging.getLogger("ganstudio.training")

# Settings that may change when a run is resumed; the rest define the run and must not.
RESUMABLE_CHANGES = ("steps", "device", "num_workers", "log_every", "sample_every", "sample_count",
                     "ckpt_every", "keep", "amp")


def _step_seed(seed: int, step: int, rank: int) -> int:
    # Distinct for every (seed, step, rank) with step < 2**32 and rank < 256.
    return (seed * (1 << 40) + step * (1 << 8) + rank) % (1 << 63)


# -- the trainer ------------------------------------------------------------------------------

class _Trainer:
    """The state of one training process: networks, optimizers, data position, the loss and its phases."""

    def __init__(self, cfg: TrainConfig, run_dir, *, resume: bool, dataset, stop):
        self.cfg = cfg = cfg.validate()
        self.stop = stop
        device = pick_device(cfg.device)
        self.ctx = dist_util.init(device.type)
        if self.ctx.enabled and device.type == "cuda":
            device = torch.device("cuda", self.ctx.local_rank)
        self.device = device
        self.main = self.ctx.is_main
        self.run = RunDir(run_dir)
        self.amp = bool(cfg.amp and device.type == "cuda")
        self.gen = torch.Generator()  # CPU: latents and labels, the same on every device
        self.dev_gen = torch.Generator(device) if device.type == "cuda" else self.gen
        self._open_data(dataset)  # data first: a missing data set must fail before anything is written
        self._build_networks()
        self.step = 0
        self.d_iters = 0
        self.stage, self.alpha = 0, 1.0
        self.loss = GANLoss(self)
        self.checkpointer = Checkpointer(self)
        self.resumed_from: Optional[Path] = None
        self._fixed_latents()
        self._prepare_folder(resume)

    def _open_data(self, dataset) -> None:
        cfg = self.cfg
        if dataset is None:
            from ganstudio.training.data import make_dataset
            dataset = make_dataset(cfg.data, cfg.resolution, cfg.channels, flip=cfg.flip,
                                   class_folders=cfg.class_folders, limit=cfg.subset or None)
        self.dataset = dataset
        self.num_classes = int(getattr(dataset, "num_classes", 0) or 0)
        self.class_names = [str(n) for n in (getattr(dataset, "class_names", None) or [])]
        n = len(dataset)
        if cfg.batch % self.ctx.world_size:
            raise ValueError(f"batch {cfg.batch} does not split over {self.ctx.world_size} processes")
        if n < cfg.batch:
            raise ValueError(f"the data set has {n} images, fewer than one batch of {cfg.batch}; lower --batch")
        self.batches = BatchSource(dataset, batch=cfg.batch, seed=cfg.seed, flip=cfg.flip,
                                   num_workers=cfg.num_workers, ctx=self.ctx, device=self.device, gen=self.gen)

    def _build_networks(self) -> None:
        cfg, device = self.cfg, self.device
        torch.manual_seed(cfg.seed)  # the same initial weights on every rank
        self.G, self.D = build_models(cfg, self.num_classes)
        if cfg.init_g:  # a new run's starting point; a resume loads its own checkpoint over it
            init_generator_from(self.G, cfg.init_g)
        self.G.to(device).train()
        if self.D is not None:
            self.D.to(device).train()
        dist_util.broadcast_module(self.G, self.ctx)
        dist_util.broadcast_module(self.D, self.ctx)
        check_models_run(cfg, self.G, self.D, device)  # before anything is written
        self.G_ema = make_ema(self.G) if cfg.ema > 0 else None
        self.caps = caps = self.G.capabilities()
        self.is_vae = self.D is None
        self.is_vq = bool(caps.code_grid)  # VQ-VAE: stage 1 for vq_steps steps, then the prior
        if self.is_vq and cfg.vq_steps < 1:
            raise ValueError(f"{cfg.model} trains in two stages: set vq_steps (the VQ-VAE's steps before its prior "
                             "trains) to 1 or more; 0 would train the prior on the codes of an untrained encoder")
        if self.is_vae and not (caps.encoder or self.is_vq):
            raise ValueError(f"model {cfg.model} has no discriminator and no encoder: nothing to train it with")
        self.style_mixing = cfg.style_mixing if caps.style_layers else 0.0
        self.noise_kw = {"noise_mode": "random"} if caps.noise_layers else {}
        self.progressive = caps.progressive
        self.d_cond = self.D is not None and self.D.c_dim > 0
        self.info_cat = int(self.G.info_cat) if caps.latent_codes else 0
        self.info_cont = int(self.G.info_cont) if caps.latent_codes else 0
        check_applicable(cfg, caps, self.D.aux_heads() if self.D is not None else (), self.D is not None)
        self.use_info = cfg.info > 0
        self.use_aux_class = cfg.aux_class > 0
        if self.G.c_dim and self.num_classes and self.G.c_dim != self.num_classes:
            raise ValueError(f"the model has {self.G.c_dim} classes, the data set {self.num_classes}")
        self.use_pl = cfg.pl > 0
        lazy_g = cfg.pl_every if (cfg.lazy_adam and self.use_pl) else 1
        lazy_d = cfg.r1_every if (cfg.lazy_adam and cfg.r1) else 1
        self.opt_G = make_optimizer(self.G.parameters(), cfg.optimizer, cfg.lr_g, cfg.betas_g, lazy_g)
        self.opt_D = (None if self.D is None else
                      make_optimizer(self.D.parameters(), cfg.optimizer, cfg.lr_d, cfg.betas_d, lazy_d))

    def _prepare_folder(self, resume: bool) -> None:
        if self.main:
            with writing(self.run.path):
                self.run.path.mkdir(parents=True, exist_ok=True)
            self.run.remove_temp_files()
        self.barrier()
        if resume:
            self.resumed_from = self.checkpointer.resume()
        if self.main:
            with writing(self.run.config_path):
                self.run.write_config(self.cfg.to_dict())  # on resume too: the steps may have been extended
            with writing(self.run.log_path):
                if resume:
                    self.run.truncate_log(self.step)
                else:
                    self.run.log_path.unlink(missing_ok=True)

    def barrier(self) -> None:
        if self.ctx.enabled:
            torch.distributed.barrier()

    # -- latents --------------------------------------------------------------------------------
    def latents(self, n: int, generator: torch.Generator):
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
        labels = torch.randint(0, self.G.c_dim, (n,), generator=generator) if self.G.c_dim else None
        c = None if labels is None else F.one_hot(labels, self.G.c_dim).float().to(self.device)
        to = (lambda t: None if t is None else t.to(self.device))
        return z.to(self.device), c, to(labels), to(cat), to(cont)

    def _fixed_latents(self) -> None:
        n = self.cfg.sample_count
        self.grid_cols = max(1, int(math.ceil(math.sqrt(n))))
        g = torch.Generator().manual_seed(self.cfg.seed)
        z, c, labels, cat, cont = self.latents(n, g)
        rows = torch.arange(n) // self.grid_cols
        if self.G.c_dim:  # one class per row
            labels = (rows % self.G.c_dim).to(self.device)
            c = F.one_hot(labels, self.G.c_dim).float()
        if self.info_cat:  # one category per row
            start = self.G.z_dim - self.info_cat - self.info_cont
            z[:, start:start + self.info_cat] = F.one_hot(rows % self.info_cat, self.info_cat).float().to(z.device)
        self.z_fixed, self.c_fixed = z, c

    def prepare_real(self, real: torch.Tensor) -> torch.Tensor:
        return progressive_reals(real, self.stage, self.alpha) if self.progressive else real

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
            for m in filter(None, (self.G, self.D, self.G_ema)):
                m.set_stage(self.stage, self.alpha)
        terms: dict = {}
        if self.is_vq:
            self.loss.run_phase("VQ" if self.step < cfg.vq_steps else "PRIOR", terms)
        elif self.is_vae:
            self.loss.run_phase("VAE", terms)
        elif self.D.reads == "code":  # the adversarial autoencoder: reconstruction, then regularization
            self.loss.run_phase("AAE", terms)
        else:
            for _ in range(cfg.k_disc):
                self.loss.run_phase("D", terms)  # the terms of the last D step are reported
            self.loss.run_phase("G", terms)
        if self.G_ema is not None:
            update_ema(self.G_ema, self.G, cfg.ema)
        for m in filter(None, (self.G, self.D, self.G_ema)) if self.ctx.enabled else ():
            dist_util.broadcast_module(m, self.ctx, buffers_only=True)
        self.step += 1
        return {k: v.detach().float() for k, v in terms.items()}

    # -- samples, checkpoints, status -----------------------------------------------------------
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
        return self.checkpointer.save()

    def write_status(self, state: str, reason: str = "", checkpoint: Optional[Path] = None) -> None:
        if self.main:
            found = self.run.checkpoints()
            latest = str(checkpoint) if checkpoint else (str(found[-1][1]) if found else None)
            with writing(self.run.status_path):
                self.run.write_status(state, step=self.step, steps=self.cfg.steps, kimg=self.kimg(), reason=reason,
                                      checkpoint=latest)


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
    locks = [lock_run(Path(run_dir))] if main and resume else []
    try:
        t = _Trainer(config, run_dir, resume=resume, dataset=dataset, stop=stop)
        if main and not resume:
            locks.append(lock_run(t.run.path))
        yield from _Loop(t).run()
    finally:
        for lock in locks:
            lock.close()  # closing the file releases the lock


class _Loop:
    """Runs a trainer to its target step: reports, samples, checkpoints, status, stop and failure."""

    def __init__(self, t: _Trainer):
        self.t = t
        self.state, self.reason, self.last_ckpt = "failed", "", None
        self.ckpt_step = None  # the step of the newest checkpoint, known on every rank (only rank 0 writes it)
        self.agreed = False  # a failure every rank saw (NaN), so they can still leave the group together
        self.stats = StatsAccumulator(t.device)
        self.t0 = self.t_last = time.perf_counter()
        self.step_last = t.step
        self.log_f = None

    def run(self) -> Iterator[dict]:
        t = self.t
        with writing(t.run.log_path):
            self.log_f = t.run.open_log() if t.main else None
        t.write_status("running")
        try:
            yield from self._steps()
            # Every rank decides alike (a rank-0-only condition left rank 1 at a barrier rank 0 skipped).
            if self.state == "stopped" and t.step > 0 and t.step != self.ckpt_step:
                if t.main:
                    self.last_ckpt = t.save_checkpoint()
                t.barrier()
        except GeneratorExit:
            # The consumer closed us between steps: the state is consistent, so keep it.
            self.state, self.reason = "stopped", "stopped by the caller"
            if t.main and (self.last_ckpt is None or t.step != step_of(self.last_ckpt)) and t.step > 0:
                self.last_ckpt = t.save_checkpoint()
            raise
        except KeyboardInterrupt:
            self.state, self.reason = "stopped", "interrupted"
            raise
        except BaseException as e:
            self.state = "failed"
            self.reason = self.reason or f"{type(e).__name__}: {e}"
            raise
        finally:
            self._finish()

    def _steps(self) -> Iterator[dict]:
        t, cfg = self.t, self.t.cfg
        while t.step < cfg.steps:
            if dist_util.any_rank(bool(t.stop and t.stop()), t.ctx, t.device):
                self.state, self.reason = "stopped", "stop requested"
                return
            self.stats.add(t.train_step())
            step = t.step
            last = step >= cfg.steps
            do_sample = last or (cfg.sample_every and step % cfg.sample_every == 0)
            do_ckpt = last or (cfg.ckpt_every and step % cfg.ckpt_every == 0)
            if last or do_sample or do_ckpt or step % cfg.log_every == 0:
                yield self._report(step, do_sample, do_ckpt)
        self.state = "finished"

    def _report(self, step: int, do_sample: bool, do_ckpt: bool) -> dict:
        t, cfg = self.t, self.t.cfg
        # One host sync per logged interval: the per-step terms come back together.
        means, bad_step, nonfinite = self.stats.report(step)
        if dist_util.any_rank(nonfinite, t.ctx, t.device):
            self.reason = f"loss became NaN at step {bad_step if bad_step is not None else step}"
            self.agreed = True
            raise TrainingError(self.reason)
        now = time.perf_counter()
        dt = max(now - self.t_last, 1e-9)
        stats = {"step": step, "steps": cfg.steps, "kimg": t.kimg(), "epoch": t.batches.epoch, "time": time.time(),
                 "elapsed_s": now - self.t0, "img_per_s": (step - self.step_last) * cfg.batch / dt,
                 "eta_s": (cfg.steps - step) * dt / max(step - self.step_last, 1), "losses": means}
        if t.progressive:
            stats["stage"], stats["alpha"] = t.stage, t.alpha
        if t.loss.augment.adaptive:
            stats["augment_p"], stats["ada_rt"] = t.loss.augment.p, t.loss.augment.rt
        self.t_last, self.step_last = now, step
        if do_sample and t.main:
            grid = t.make_samples()
            path = t.run.sample_path(step)
            save_png(path, grid)
            stats["sample"], stats["sample_path"] = grid, str(path)
        # The log line goes first: a crash between the two leaves a line that the resume
        # (from the previous checkpoint) drops, never a checkpoint without its line.
        if do_ckpt and t.main:
            stats["checkpoint"] = str(t.run.checkpoint_path(step))
        if self.log_f is not None:
            with writing(t.run.log_path):
                self.log_f.append({k: v for k, v in stats.items() if k != "sample"})
        if do_ckpt:
            if t.main:
                self.last_ckpt = t.save_checkpoint()
                t.write_status("running", checkpoint=self.last_ckpt)
            self.ckpt_step = step
            t.barrier()
        return stats

    def _finish(self) -> None:
        t = self.t
        _close_quietly(self.log_f)
        try:
            t.write_status(self.state, reason=self.reason, checkpoint=self.last_ckpt)
        except RunWriteError as e:
            # The disk that refused a checkpoint refuses the status too: the error already raised says
            # why, and a "running" status whose process is gone reads as killed.
            log.debug("status not written: %s", e)
            if self.state != "failed":
                raise
        hash_dir = os.environ.get("GANSTUDIO_TEST_HASH_DIR")
        if hash_dir:
            Path(hash_dir, f"rank{t.ctx.rank}.json").write_text(json.dumps(param_hashes(t)))
        if self.state != "failed" or self.agreed:
            dist_util.shutdown(t.ctx)


def _close_quietly(f) -> None:
    try:
        if f is not None:
            f.close()
    except OSError:  # a full disk refusing the last buffered bytes: every line was already flushed
        pass
