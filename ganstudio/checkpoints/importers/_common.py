"""Helpers shared by the importers: finding a state dict inside a loaded object, describing contents."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Optional

import torch

from ganstudio.checkpoints import (SIZE_SLACK, CheckpointError, OverBudget, build_within, check_config, check_fit,
                                   load_fitted, meta_build)


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
    seen: set[int] = set()  # a pickle may share one dict under many keys: visit each once

    def walk(o: Any, where: str, depth: int):
        if id(o) in seen:
            return
        seen.add(id(o))
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
    seen: set[int] = set()

    def walk(o: Any, where: str, depth: int):
        if id(o) in seen:
            return
        seen.add(id(o))
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


def _count_tensors(o: Any, depth: int = 0, seen: Optional[set] = None) -> int:
    """Tensors reachable through nested mappings, each shared object counted once."""
    seen = set() if seen is None else seen
    if id(o) in seen:
        return 0
    seen.add(id(o))
    if isinstance(o, torch.Tensor):
        return 1
    if isinstance(o, Mapping) and depth < 4:
        return sum(_count_tensors(v, depth + 1, seen) for v in o.values())
    return 0


def load_exact(G: torch.nn.Module, sd: dict[str, torch.Tensor], path, what: str) -> None:
    """Load a mapped state dict strictly; any mismatch becomes a CheckpointError naming it.

    BatchNorm's ``num_batches_tracked`` came with PyTorch 0.4.1: files saved before it lack them, as
    torch's own loading allows (the counter plays no part at inference).
    """
    own = G.state_dict()
    sd = {**{k: v for k, v in own.items() if k.endswith("num_batches_tracked") and k not in sd}, **sd}
    check_fit(own, sd, what, path, "the inferred architecture")
    load_fitted(G, sd)


def _source_bytes(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.iterdir() if p.is_file())
    return path.stat().st_size


def create_checked(name: str, path, why: str, **config):
    """create_generator(name, **config), refused before any allocation when the inferred config is
    absurd or describes more weights than the file can hold (tensors pickled with stride 0, say)."""
    from ganstudio.models import create_generator
    path = Path(path)
    check_config(config, f"{path}: the inferred configuration")
    make = lambda: create_generator(name, **config)  # noqa: E731
    have = _source_bytes(path)
    limit = 2 * have + SIZE_SLACK
    try:
        return build_within(make, limit, why)
    except OverBudget:  # a misfit, or a network whose construction needs working room: the meta twin says
        need = sum(t.numel() * 4 for t in meta_build(make, why).state_dict().values())
        if need > limit:
            raise CheckpointError(f"{path}: the inferred {name} would hold {need / 2**20:.0f} MB of weights, "
                                  f"more than this {have / 2**20:.1f} MB file can contain") from None
        return make()
