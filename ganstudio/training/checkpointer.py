"""Training checkpoints: a GAN Studio checkpoint of G (the EMA copy when there is one) and D, plus the
training state: raw G, optimizer states flattened into named tensors, the RNG state, the counters.

Tensor names (``extra.`` + ...): ``G_raw.<param>`` (with EMA), ``opt_G.<param id>.<key>``,
``opt_D.<param id>.<key>``, ``rng.torch_cpu``; ``meta["extra"]["resume"]`` holds the rest (step,
batches, d_iters, pl_mean, the optimizers' JSON structure).  The names are part of the run folder
format: runs written by earlier versions resume through the same reader.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Optional

import torch

from ganstudio.training.errors import TrainingError, writing

log = logging.getLogger("ganstudio.training")


def flatten_optimizer(opt: torch.optim.Optimizer, prefix: str) -> tuple[dict, dict]:
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


def unflatten_optimizer(opt: torch.optim.Optimizer, structure: dict, tensors: dict) -> None:
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


class Checkpointer:
    """Saves a trainer's state into its run folder and restores it from the newest checkpoint that loads."""

    def __init__(self, trainer):
        self.t = trainer

    def _state_tensors(self) -> tuple[dict, dict, Optional[dict]]:
        t = self.t
        tensors: dict[str, torch.Tensor] = {}
        if t.G_ema is not None:
            tensors.update({f"G_raw.{k}": v for k, v in t.G.state_dict().items()})
        opt_g_t, opt_g = flatten_optimizer(t.opt_G, "opt_G")
        tensors.update(opt_g_t)
        opt_d = None
        if t.opt_D is not None:
            opt_d_t, opt_d = flatten_optimizer(t.opt_D, "opt_D")
            tensors.update(opt_d_t)
        tensors["rng.torch_cpu"] = torch.get_rng_state()
        return tensors, opt_g, opt_d

    def save(self) -> Path:
        from ganstudio.checkpoints import save_checkpoint

        t = self.t
        cfg = t.cfg
        tensors, opt_g, opt_d = self._state_tensors()
        resume = {"step": t.step, "batches": t.batches.position, "d_iters": t.d_iters,
                  "pl_mean": float(t.loss.pl_mean), "opt_G": opt_g, "opt_D": opt_d, "ema": t.G_ema is not None,
                  "seed": cfg.seed}
        if cfg.loss == "began":
            resume["k_t"] = float(t.loss.k_t)  # BEGAN's control variable: a float32 value, exact as a double
        if t.loss.augment.kind != "none":
            resume["augment"] = t.loss.augment.state()  # ADA's p and its partial window: a resume continues them
        training = {"preset": cfg.preset, "data": cfg.data, "step": t.step, "steps": cfg.steps,
                    "kimg": t.kimg(), "batch": cfg.batch, "loss": cfg.loss, "ema": cfg.ema,
                    "resolution": cfg.resolution, "channels": cfg.channels, "seed": cfg.seed,
                    "time": time.time(), "config": cfg.to_dict()}
        if t.progressive:
            training["stage"], training["alpha"] = t.stage, t.alpha
        names = None
        if t.G.c_dim:
            names = (t.class_names if len(t.class_names) == t.G.c_dim else [str(i) for i in range(t.G.c_dim)])
        path = t.run.checkpoint_path(t.step)
        G_out = t.G_ema if t.G_ema is not None else t.G
        with writing(path):
            save_checkpoint(path, G_out, D=t.D, class_names=names, training=training,
                            extra_tensors=tensors, extra={"resume": resume})
        t.run.prune_checkpoints(cfg.keep)
        return path

    def resume(self) -> Optional[Path]:
        """Restore the newest checkpoint that loads; None when the run has none (it starts over)."""
        from ganstudio.checkpoints import CheckpointError, load_checkpoint

        t, newest_error = self.t, None
        for step, path, err in t.run.loadable_checkpoints():
            if err is None:
                try:
                    self.restore(load_checkpoint(path, load_D=True))
                except (CheckpointError, KeyError, ValueError, RuntimeError) as e:
                    # torch's size-mismatch listing runs to a dozen lines: its first says enough
                    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()] or [type(e).__name__]
                    first = " ".join(lines[:2]) if lines[0].endswith(":") else lines[0]
                    err = first if isinstance(e, CheckpointError) else f"{path}: cannot resume from it ({first})"
                else:
                    log.info("resuming from %s (step %d)", path, t.step)
                    return path
            newest_error = newest_error or err
            log.warning("skipping checkpoint %s: %s", path.name, err)
        if newest_error is not None:
            # Starting over would overwrite (and prune) the run's checkpoints with a new run's:
            # when it has some and none loads, stop and leave the folder as it is.
            raise TrainingError(f"none of the checkpoints in {t.run.checkpoints_dir} can be resumed "
                                f"(the newest: {newest_error}); nothing was changed. Fix config.json or start "
                                f"a new run with --out")
        log.warning("no checkpoint to resume from in %s; starting from step 0", t.run.checkpoints_dir)
        return None

    def restore(self, ckpt) -> None:
        t = self.t
        meta = ckpt.meta
        if meta["model"] != t.cfg.model:
            raise ValueError(f"it holds a {meta['model']}, the run trains {t.cfg.model}")
        resume = (meta.get("extra") or {}).get("resume")
        if not isinstance(resume, dict):
            raise ValueError("it has no training state (not written by `ganstudio train`)")
        self._restore_weights(ckpt, resume)
        extra = ckpt.extra
        unflatten_optimizer(t.opt_G, resume["opt_G"], extra)
        if t.opt_D is not None:
            unflatten_optimizer(t.opt_D, resume["opt_D"], extra)
        if "rng.torch_cpu" in extra:
            torch.set_rng_state(extra["rng.torch_cpu"])
        t.step, t.batches.position, t.d_iters = int(resume["step"]), int(resume["batches"]), int(resume["d_iters"])
        t.loss.pl_mean = torch.tensor(float(resume.get("pl_mean", 0.0)), device=t.device)
        t.loss.k_t = torch.tensor(float(resume.get("k_t", 0.0)), device=t.device)
        t.loss.augment.load_state(resume.get("augment"))
        t.G.to(t.device)
        if t.D is not None:
            t.D.to(t.device)

    def _restore_weights(self, ckpt, resume: dict) -> None:
        t = self.t
        if resume.get("ema"):
            if t.G_ema is None:
                raise ValueError("it was trained with EMA; this config has none")
            t.G_ema.load_state_dict(ckpt.G.state_dict())
            raw = {k[len("G_raw."):]: v for k, v in ckpt.extra.items() if k.startswith("G_raw.")}
            t.G.load_state_dict(raw)
        else:
            t.G.load_state_dict(ckpt.G.state_dict())
            if t.G_ema is not None:
                t.G_ema.load_state_dict(ckpt.G.state_dict())
        if t.D is not None:
            if ckpt.D is None:
                raise ValueError("it has no discriminator weights")
            t.D.load_state_dict(ckpt.D.state_dict())
