"""The memory budget of building a network from a file: a config can name any size, so construction is
counted allocation by allocation and stopped once it asks for more than the file can fill.
"""
from __future__ import annotations

import math

import torch

from ganstudio.checkpoints.errors import CheckpointError

# What a constructor raises on a config it cannot build (a zero width, a negative depth...).
_BUILD_ERRORS = (TypeError, ValueError, RuntimeError, ZeroDivisionError, OverflowError, KeyError, IndexError,
                 AttributeError, MemoryError, RecursionError, NotImplementedError)


# Slack over twice the file's size (a half-precision file fills a float32 model twice over).
SIZE_SLACK = 64 * 2**20


class OverBudget(Exception):
    """A module's construction asked for more memory than its budget."""


class Budget(torch.overrides.TorchFunctionMode):
    """Counts the bytes a module's construction asks for and stops it before the total passes
    ``limit``.  A config naming a network far larger than its file is stopped before the memory is
    taken, for a few set lookups per tensor; a meta-device twin took seconds (meta arithmetic runs
    Python reference kernels, and the first one imports TorchDynamo)."""

    _FACTORIES = {torch.empty, torch.zeros, torch.ones, torch.full, torch.randn, torch.rand}
    _NEW = {torch.Tensor.new_empty, torch.Tensor.new_zeros, torch.Tensor.new_ones, torch.Tensor.new_full}

    def __init__(self, limit: int):
        super().__init__()
        self.limit, self.used = limit, 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in self._FACTORIES or func in self._NEW:
            self.used += request_bytes(func in self._NEW, func in (torch.full, torch.Tensor.new_full), args, kwargs)
            if self.used > self.limit:
                raise OverBudget(f"asked for {self.used / 2**20:.0f} MB, more than {self.limit / 2**20:.0f} MB")
        return func(*args, **kwargs)


def request_bytes(method: bool, full: bool, args: tuple, kwargs: dict) -> int:
    """Bytes a factory call (torch.empty(2, 3), torch.full((2, 3), v), t.new_zeros(4) ...) will allocate."""
    rest = args[1:] if method else args
    if "size" in kwargs:
        size = kwargs["size"]
    elif rest and isinstance(rest[0], (tuple, list, torch.Size)):
        size = rest[0]
    else:
        size = [a for a in (rest[:1] if full else rest) if isinstance(a, int)]
    dtype = kwargs.get("dtype") or (args[0].dtype if method else torch.get_default_dtype())
    try:
        return math.prod(int(n) for n in size) * torch.empty((), dtype=dtype).element_size()
    except (TypeError, ValueError, RuntimeError):
        return 0  # an unusual signature: the call itself reports what is wrong


def build_within(make, limit: int, why: str):
    """``make()`` for real, raising OverBudget before its allocations pass ``limit`` bytes; any
    other failure is a CheckpointError starting with ``why``."""
    return _guarded(make, why, Budget(limit))


def meta_build(make, why: str):
    """``make()`` on the meta device; a failure is a CheckpointError starting with ``why``."""
    return _guarded(make, why, torch.device("meta"))


def _guarded(make, why: str, context):
    try:
        with context:
            return make()
    except (CheckpointError, OverBudget):
        raise
    except _BUILD_ERRORS as e:
        raise CheckpointError(f"{why}: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
