"""SizeBucketSampler: each index once, atom budget respected, sizes grouped, reproducible."""

from __future__ import annotations

import pytest
import torch

from molgen.data.batching import SizeBucketSampler


def _sizes(n: int = 500, seed: int = 0) -> list[int]:
    return torch.randint(3, 60, (n,), generator=torch.Generator().manual_seed(seed)).tolist()


def test_every_index_once_and_budget_respected():
    sizes = _sizes()
    sampler = SizeBucketSampler(sizes, max_atoms_per_batch=300, seed=1)
    batches = list(sampler)
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(len(sizes)))
    assert all(sum(sizes[i] for i in b) <= 300 for b in batches)
    assert len(sampler) == len(batches)
    # greedy packing: a batch is closed only when the next molecule (< 60 atoms) does not fit,
    # so every batch except the final one holds more than 300 - 60 atoms
    underfull = [b for b in batches if sum(sizes[i] for i in b) <= 300 - 60]
    assert len(underfull) <= 1


def test_batches_group_similar_sizes_and_do_not_mix_buckets():
    sizes = _sizes(seed=3)
    sampler = SizeBucketSampler(sizes, max_atoms_per_batch=400, boundaries=[20, 40], seed=0)
    for batch in sampler:
        buckets = {0 if sizes[i] < 20 else 1 if sizes[i] < 40 else 2 for i in batch}
        assert len(buckets) == 1
    unbounded = SizeBucketSampler(sizes, max_atoms_per_batch=400, seed=0)
    spreads = [max(sizes[i] for i in b) - min(sizes[i] for i in b) for b in unbounded]
    # fully sorted packing: a batch spans only a few atom counts (random batches would span ~50)
    assert max(spreads) <= 10 and sum(spreads) / len(spreads) <= 2


def test_hand_computed_packing_without_shuffle():
    sampler = SizeBucketSampler([5, 1, 4, 2, 3], max_atoms_per_batch=6, shuffle=False)
    # sorted by size: 1(idx1) 2(idx3) 3(idx4) | 4(idx2) | 5(idx0)
    assert list(sampler) == [[1, 3, 4], [2], [0]]
    capped = SizeBucketSampler([1, 1, 1, 1, 1], max_atoms_per_batch=100, max_graphs_per_batch=2, shuffle=False)
    assert list(capped) == [[0, 1], [2, 3], [4]]
    dropped = SizeBucketSampler([1, 1, 1, 1, 1], max_atoms_per_batch=2, shuffle=False, drop_last=True)
    assert list(dropped) == [[0, 1], [2, 3]]


def test_epochs_reshuffle_reproducibly():
    sizes = _sizes()
    a = SizeBucketSampler(sizes, max_atoms_per_batch=250, seed=7)
    b = SizeBucketSampler(sizes, max_atoms_per_batch=250, seed=7)
    assert list(a) == list(b)
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first
    b.set_epoch(1)
    assert list(a) == list(b)


def test_distributed_ranks_get_disjoint_equal_shares():
    sizes = _sizes(seed=5)
    full = list(SizeBucketSampler(sizes, max_atoms_per_batch=200, seed=2))
    ranks = [list(SizeBucketSampler(sizes, max_atoms_per_batch=200, seed=2, num_replicas=3, rank=r))
             for r in range(3)]
    assert len({len(r) for r in ranks}) == 1 and len(ranks[0]) == len(full) // 3
    seen = [tuple(b) for r in ranks for b in r]
    assert len(seen) == len(set(seen)) and set(seen) <= {tuple(b) for b in full}
    with pytest.raises(ValueError, match="rank 3"):
        SizeBucketSampler(sizes, max_atoms_per_batch=200, num_replicas=3, rank=3)


def test_bad_arguments_are_rejected_with_the_reason():
    with pytest.raises(ValueError, match="item 1 has 50 atoms"):
        SizeBucketSampler([3, 50], max_atoms_per_batch=40)
    with pytest.raises(ValueError, match="strictly increasing"):
        SizeBucketSampler([3, 5], max_atoms_per_batch=40, boundaries=[10, 5])
    with pytest.raises(ValueError, match="non-empty"):
        SizeBucketSampler([], max_atoms_per_batch=40)
