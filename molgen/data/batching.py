"""Size-bucketed batching: group molecules of similar size under an atom budget.

GEOM-Drugs molecules range from a handful to ~180 atoms, so a fixed number of
molecules per batch either wastes memory on small molecules or overflows on
large ones. Following EQGAT-diff's adaptive batching, :class:`SizeBucketSampler`
yields batches whose total atom count stays within ``max_atoms_per_batch``;
molecules are grouped by size (optionally within explicit bucket boundaries) so
that the fully connected edge count, which grows as sum(n^2), is also bounded.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch.utils.data import Sampler


class SizeBucketSampler(Sampler[list[int]]):
    """Batch sampler: every index exactly once per epoch, batches under an atom budget.

    Args:
        num_atoms: atoms of each dataset item, length = dataset size.
        max_atoms_per_batch: upper bound on the sum of atoms in a batch.
        boundaries: increasing atom counts splitting items into buckets
            (``[20, 40]`` -> sizes ``<20``, ``20..39``, ``>=40``); batches never mix buckets.
            ``None`` sorts all items by size so neighbours in a batch have similar sizes.
        max_graphs_per_batch: optional cap on molecules per batch.
        shuffle: shuffle items within a bucket and the order of batches (seeded by ``seed`` + epoch).
        seed: base seed; call :meth:`set_epoch` each epoch for a new, reproducible order.
        drop_last: drop the last (possibly underfull) batch of each bucket that yields more than one batch.
        num_replicas, rank: distributed training: every rank builds the same batches (same seed and
            epoch) and keeps every ``num_replicas``-th one from ``rank``, all ranks the same number
            (up to ``num_replicas - 1`` batches per epoch are left out).
    """

    def __init__(self, num_atoms: Sequence[int] | torch.Tensor, max_atoms_per_batch: int,
                 boundaries: Sequence[int] | None = None, max_graphs_per_batch: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False,
                 num_replicas: int = 1, rank: int = 0) -> None:
        self.num_atoms = torch.as_tensor(num_atoms, dtype=torch.long)  # [G]
        if self.num_atoms.dim() != 1 or self.num_atoms.numel() == 0:
            raise ValueError("num_atoms must be a non-empty 1-D sequence of atom counts")
        if max_atoms_per_batch <= 0:
            raise ValueError(f"max_atoms_per_batch must be positive, got {max_atoms_per_batch}")
        too_big = (self.num_atoms > max_atoms_per_batch).nonzero().flatten()
        if too_big.numel():
            k = int(too_big[0])
            raise ValueError(f"item {k} has {int(self.num_atoms[k])} atoms, more than "
                             f"max_atoms_per_batch={max_atoms_per_batch} ({too_big.numel()} such items)")
        bounds = list(boundaries or [])
        if bounds != sorted(set(bounds)):
            raise ValueError(f"boundaries must be strictly increasing, got {bounds}")
        if max_graphs_per_batch is not None and max_graphs_per_batch <= 0:
            raise ValueError(f"max_graphs_per_batch must be positive, got {max_graphs_per_batch}")
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank {rank} must be in 0..{num_replicas - 1}")
        self.num_replicas, self.rank = num_replicas, rank
        self.max_atoms = int(max_atoms_per_batch)
        self.boundaries = torch.tensor(bounds, dtype=torch.long)
        self.max_graphs = max_graphs_per_batch
        self.shuffle = shuffle
        self.seed = seed
        self.drop_last = drop_last
        self.epoch = 0
        self._cache: tuple[int, list[list[int]]] | None = None

    def set_epoch(self, epoch: int) -> None:
        """Select the shuffle of epoch ``epoch`` (same epoch -> same batches)."""
        self.epoch = epoch

    def _batches(self) -> list[list[int]]:
        if self._cache is not None and self._cache[0] == self.epoch:
            return self._cache[1]
        gen = torch.Generator().manual_seed(self.seed + self.epoch)
        n = self.num_atoms.numel()
        order = torch.randperm(n, generator=gen) if self.shuffle else torch.arange(n)
        bucket = torch.bucketize(self.num_atoms[order], self.boundaries, right=True)  # [G]
        batches: list[list[int]] = []
        for b in bucket.unique().tolist():
            members = order[bucket == b]
            if not len(self.boundaries):
                members = members[torch.sort(self.num_atoms[members], stable=True).indices]
            batches.extend(self._pack(members.tolist()))
        if self.shuffle:
            batches = [batches[i] for i in torch.randperm(len(batches), generator=gen).tolist()]
        per_rank = len(batches) // self.num_replicas
        if self.num_replicas > 1:
            batches = batches[self.rank::self.num_replicas][:per_rank]
        self._cache = (self.epoch, batches)
        return batches

    def _pack(self, members: list[int]) -> list[list[int]]:
        """Greedily cut ``members`` (in order) into consecutive batches under the budgets."""
        out: list[list[int]] = []
        current: list[int] = []
        atoms = 0
        for idx in members:
            size = int(self.num_atoms[idx])
            full = atoms + size > self.max_atoms or (self.max_graphs is not None and len(current) >= self.max_graphs)
            if current and full:
                out.append(current)
                current, atoms = [], 0
            current.append(idx)
            atoms += size
        if current and not (self.drop_last and out):
            out.append(current)
        return out

    def __iter__(self) -> Iterator[list[int]]:
        yield from self._batches()

    def __len__(self) -> int:
        return len(self._batches())
