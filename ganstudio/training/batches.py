"""Batches of real images in a reproducible order: epoch ``e`` is a permutation drawn from ``seed + e``.

Global batch ``b`` is a slice of its epoch's permutation; each process takes its share of it (the
DistributedSampler split, within every global batch), so the order depends on nothing but the seed and
the position, and a resumed run continues it exactly.
"""
from __future__ import annotations

import torch


class BatchSource:
    """The batches of ``dataset`` for one process, from global batch ``position`` on."""

    def __init__(self, dataset, *, batch: int, seed: int, flip: bool, num_workers: int, ctx, device,
                 gen: torch.Generator):
        self.dataset, self.batch, self.seed, self.flip = dataset, batch, seed, flip
        self.num_workers, self.ctx, self.device, self.gen = num_workers, ctx, device, gen
        self.per_epoch = len(dataset) // batch  # the partial last batch of an epoch is dropped
        self.position = 0  # global batches consumed
        self._perm, self._perm_epoch = None, None
        self._flip_epoch = None
        self._loader_iter = None
        # In-memory sets slice whole batches; others are read item by item (in worker processes if asked).
        self.sliced = hasattr(dataset, "batch")
        self.flips_itself = hasattr(dataset, "flip_mask")

    @property
    def epoch(self) -> int:
        return self.position // self.per_epoch

    def indices(self, b: int) -> torch.Tensor:
        """This rank's share of global batch ``b``: a slice of epoch ``b // per_epoch``'s permutation."""
        epoch, pos = divmod(b, self.per_epoch)
        if self._perm_epoch != epoch:
            g = torch.Generator().manual_seed(self.seed + epoch)
            self._perm = torch.randperm(len(self.dataset), generator=g)
            self._perm_epoch = epoch
        idx = self._perm[pos * self.batch:(pos + 1) * self.batch]
        return idx[self.ctx.rank::self.ctx.world_size]

    def _loader(self):
        """Worker processes for data sets read item by item."""
        start, source = self.position, self

        def batches():
            b = start
            while True:
                yield source.indices(b).tolist()
                b += 1

        class _Sampler(torch.utils.data.Sampler):
            def __iter__(self):
                return batches()

        loader = torch.utils.data.DataLoader(self.dataset, batch_sampler=_Sampler(), num_workers=self.num_workers,
                                             generator=torch.Generator().manual_seed(self.seed),
                                             persistent_workers=False)
        return iter(loader)

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(images [N, C, H, W] in [-1, 1], labels [N]) on the device."""
        epoch = self.epoch
        if self.sliced:
            idx = self.indices(self.position)
            if hasattr(self.dataset, "set_epoch") and self._flip_epoch != epoch:
                self.dataset.set_epoch(epoch, self.seed)  # flips: a function of (seed, epoch, index)
                self._flip_epoch = epoch
            img, labels = self.dataset.batch(idx)
        elif self.num_workers > 0:
            if self._loader_iter is None:
                self._loader_iter = self._loader()
            img, labels = next(self._loader_iter)
            labels = torch.as_tensor(labels, dtype=torch.long)
        else:
            items = [self.dataset[int(i)] for i in self.indices(self.position)]
            img = torch.stack([it[0] for it in items])
            labels = torch.as_tensor([int(it[1]) for it in items], dtype=torch.long)
        self.position += 1
        if self.flip and not self.flips_itself:
            flips = torch.rand(len(img), generator=self.gen) < 0.5
            img[flips] = img[flips].flip(-1)
        return img.to(self.device, non_blocking=True), labels.to(self.device)
