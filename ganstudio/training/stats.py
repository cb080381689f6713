"""The loss terms of the steps since the last report, gathered on the device and read back in one sync."""
from __future__ import annotations

from typing import Optional

import torch


class StatsAccumulator:
    """Per-step loss terms (name -> scalar tensor); ``report()`` returns their means and the first
    step whose terms were not finite (None when all were).  Terms a step did not compute (a lazy
    regularizer off-interval) do not count as missing values."""

    def __init__(self, device):
        self.device = device
        self.pending: list[dict] = []

    def add(self, terms: dict) -> None:
        self.pending.append(terms)

    def __len__(self) -> int:
        return len(self.pending)

    def report(self, step: int) -> tuple[dict, Optional[int], bool]:
        """(means by name, the first non-finite step or None, whether any value was not finite);
        ``step`` is the step of the last added entry.  Clears the entries."""
        pending = self.pending
        names = sorted({k for p in pending for k in p})
        nan = torch.tensor(float("nan"), device=self.device)
        rows = torch.stack([torch.stack([p.get(k, nan) for k in names]) if names else nan.new_zeros(0)
                            for p in pending]).cpu()
        absent = torch.tensor([[k not in p for k in names] for p in pending], dtype=torch.bool).reshape(
            len(pending), len(names))
        ok = torch.isfinite(rows) | absent
        bad_step = None
        if not bool(ok.all()):
            bad = (~ok.all(dim=1)).nonzero()
            bad_step = step - len(pending) + 1 + (int(bad[0]) if len(bad) else len(pending) - 1)
        means = {k: float(rows[~absent[:, j], j].mean()) for j, k in enumerate(names)}
        self.pending = []
        return means, bad_step, bad_step is not None


def param_hashes(trainer) -> dict:
    """sha256 of each network's state (and pl_mean): the DDP tests compare ranks with it."""
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
        out["pl_mean"] = float(trainer.loss.pl_mean)  # kept in step by averaging over ranks
    return out
