"""Helpers shared by the importers: finding a state dict inside a loaded object, describing contents."""
from __future__ import annotations

from typing import Any, Callable, Iterator, Mapping, Optional

import torch

from ganstudio.checkpoints._format import CheckpointError


def is_state_dict(obj: Any) -> bool:
    """A non-empty mapping from str to tensors (non-tensor entries such as metadata are allowed)."""
    return (isinstance(obj, Mapping) and bool(obj) and all(isinstance(k, str) for k in obj)
            and any(isinstance(v, torch.Tensor) for v in obj.values()))


def tensors_only(sd: Mapping) -> dict[str, torch.Tensor]:
    return {k: v for k, v in sd.items() if isinstance(v, torch.Tensor)}


def strip_prefix(sd: Mapping[str, torch.Tensor], prefix: str = "module.") -> dict[str, torch.Tensor]:
    """Remove a prefix every key carries (DataParallel wraps the model as ``module.``)."""
    if sd and all(k.startswith(prefix) for k in sd):
        return {k[len(prefix):]: v for k, v in sd.items()}
    return dict(sd)


def candidate_state_dicts(obj: Any, preferred: tuple[str, ...] = (), max_depth: int = 3
                          ) -> Iterator[tuple[str, dict[str, torch.Tensor]]]:
    """Yield (where, state dict) for obj itself and every nested state dict, preferred keys first.

    Training checkpoints keep the generator under a key such as "netG", "generator" or "G"
    next to the discriminator and optimizer states; the caller's predicate picks the right one.
    """
    def walk(o: Any, where: str, depth: int):
        if is_state_dict(o):
            yield where or "<top level>", strip_prefix(tensors_only(o))
        if depth >= max_depth or not isinstance(o, Mapping):
            return
        keys = sorted((k for k in o if isinstance(k, str)),
                      key=lambda k: (k not in preferred, preferred.index(k) if k in preferred else 0))
        for k in keys:
            if isinstance(o[k], Mapping):
                yield from walk(o[k], f"{where}.{k}" if where else k, depth + 1)
    yield from walk(obj, "", 0)


def find_state_dict(obj: Any, accept: Callable[[dict[str, torch.Tensor]], bool],
                    preferred: tuple[str, ...] = ()) -> Optional[tuple[str, dict[str, torch.Tensor]]]:
    for where, sd in candidate_state_dicts(obj, preferred):
        if accept(sd):
            return where, sd
    return None


def describe(obj: Any, limit: int = 6) -> str:
    """A one-line summary of a loaded object: top-level keys and a few tensors with shapes."""
    if isinstance(obj, torch.Tensor):
        return f"a single tensor of shape {list(obj.shape)}"
    if not isinstance(obj, Mapping):
        return f"a {type(obj).__name__}"
    keys = [str(k) for k in list(obj)[:10]]
    more = f" (+{len(obj) - 10} more)" if len(obj) > 10 else ""
    tensors: list[str] = []

    def walk(o: Any, where: str, depth: int):
        for k, v in o.items():
            if len(tensors) >= limit:
                return
            name = f"{where}.{k}" if where else str(k)
            if isinstance(v, torch.Tensor):
                tensors.append(f"{name} {list(v.shape)}")
            elif isinstance(v, Mapping) and depth < 3:
                walk(v, name, depth + 1)
    walk(obj, "", 0)
    n = _count_tensors(obj)
    text = f"top-level keys [{', '.join(keys)}]{more}"
    if tensors:
        text += f"; {n} tensor(s), e.g. {', '.join(tensors)}"
    else:
        text += "; no tensors"
    return text


def _count_tensors(o: Any, depth: int = 0) -> int:
    if isinstance(o, torch.Tensor):
        return 1
    if isinstance(o, Mapping) and depth < 4:
        return sum(_count_tensors(v, depth + 1) for v in o.values())
    return 0


def load_exact(G: torch.nn.Module, sd: dict[str, torch.Tensor], path, what: str) -> None:
    """Load a mapped state dict strictly; any mismatch becomes a CheckpointError naming it."""
    own = G.state_dict()
    missing = sorted(set(own) - set(sd))
    unexpected = sorted(set(sd) - set(own))
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} tensor(s), e.g. {missing[0]}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected, e.g. {unexpected[0]}")
        raise CheckpointError(f"{path}: the {what} weights do not fit the inferred architecture: {'; '.join(parts)}")
    for k, v in own.items():
        if tuple(sd[k].shape) != tuple(v.shape):
            raise CheckpointError(f"{path}: {what} tensor {k} has shape {list(sd[k].shape)}, "
                                  f"the inferred architecture needs {list(v.shape)}")
        if sd[k].is_floating_point() and not torch.isfinite(sd[k]).all():
            raise CheckpointError(f"{path}: {what} tensor {k} contains NaN or Inf")
    G.load_state_dict({k: sd[k].to(own[k].dtype) for k in own})
