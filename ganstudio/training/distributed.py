"""Data-parallel training across processes started by ``torchrun``.

Under ``torchrun --nproc_per_node=N`` every process holds full copies of G and D, takes a
disjoint 1/N of each global batch, and averages gradients with an all-reduce after every
backward pass, so the replicas stay identical.  This is what DistributedDataParallel does,
done by hand as in NVIDIA's StyleGAN2 trainer: DDP's wrapper does not support double
backward (R1, WGAN-GP, DRAGAN), toggling requires_grad between the G and D phases, or
calls to methods other than ``forward`` (``D.forward_aux``, ``G.mapping``), all of which
the loop needs.  Buffers (BatchNorm statistics, w_avg) are broadcast from rank 0 after each
step, like DDP's ``broadcast_buffers``.  Only rank 0 writes files.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterable

import torch
import torch.distributed as dist


@dataclass
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def env_world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def init(device_type: str) -> DistContext:
    """Join the process group torchrun describes in the environment (no-op for one process)."""
    world = env_world_size()
    if world <= 1:
        return DistContext()
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        backend = "nccl" if device_type == "cuda" else "gloo"
        if device_type == "cuda":
            torch.cuda.set_device(local_rank)
        dist.init_process_group(backend=backend)
    return DistContext(rank=rank, world_size=world, local_rank=local_rank)


def shutdown(ctx: DistContext) -> None:
    """Leave the group; the barrier first, since destroying it while a peer still talks aborts the run."""
    if ctx.enabled and dist.is_initialized():
        try:
            dist.barrier()
        finally:
            dist.destroy_process_group()


@torch.no_grad()
def broadcast_module(module: torch.nn.Module, ctx: DistContext, buffers_only: bool = False) -> None:
    """Copy rank 0's parameters (and buffers) to every rank."""
    if not ctx.enabled or module is None:
        return
    tensors = list(module.buffers()) if buffers_only else list(module.parameters()) + list(module.buffers())
    for t in tensors:
        dist.broadcast(t.data, src=0)


def average_gradients(params: Iterable[torch.nn.Parameter], ctx: DistContext) -> None:
    """All-reduce the gradients of ``params`` (those that have one) into their mean, in one flat bucket."""
    if not ctx.enabled:
        return
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= ctx.world_size
    offset = 0
    for g in grads:
        n = g.numel()
        g.copy_(flat[offset:offset + n].view_as(g))
        offset += n


def mean_over_ranks(t: torch.Tensor, ctx: DistContext) -> torch.Tensor:
    """The mean of a tensor over all ranks (itself in a single process)."""
    if not ctx.enabled:
        return t
    t = t.clone()
    dist.all_reduce(t)
    return t / ctx.world_size


def any_rank(flag: bool, ctx: DistContext, device: torch.device) -> bool:
    """True when ``flag`` is true on any rank (so that every rank stops at the same step)."""
    if not ctx.enabled:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t)
    return bool(t.item() > 0)


def gather_objects(obj, ctx: DistContext) -> list:
    if not ctx.enabled:
        return [obj]
    out = [None] * ctx.world_size
    dist.all_gather_object(out, obj)
    return out
