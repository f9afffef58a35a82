"""Deterministic train/val/test assignment, shared by every dataset.

Two conventions:

* :func:`permutation_split`: a fixed-seed permutation of ``n`` items cut into
  consecutive blocks (the Cormorant/EDM/EQGAT-diff convention for QM9). Needs
  the full item list up front; reproduces a published split exactly.
* :func:`hash_split`: the split of one item from a hash of its key and a seed,
  so it can be decided while streaming 100M molecules, independently on each
  shard, and stays stable when the dataset grows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np


def permutation_split(n: int, sizes: Sequence[int], names: Sequence[str], seed: int = 0) -> np.ndarray:
    """Split ``n`` items by ``np.random.RandomState(seed).permutation(n)`` into blocks of ``sizes``.

    Returns an ``[n]`` int array: entry ``k`` is the index (into ``names``) of item ``k``'s split.
    ``RandomState(seed).permutation`` draws the same permutation as the legacy
    ``np.random.seed(seed); np.random.permutation(n)`` used by published splits,
    without touching numpy's global random state.
    """
    if sum(sizes) != n or len(sizes) != len(names):
        raise ValueError(f"split sizes {list(sizes)} must sum to n={n} and match names {list(names)}")
    perm = np.random.RandomState(seed).permutation(n)
    assignment = np.empty(n, dtype=np.int64)
    start = 0
    for k, size in enumerate(sizes):
        assignment[perm[start:start + size]] = k
        start += size
    return assignment


def hash_split(key: str, fractions: dict[str, float], seed: int = 0) -> str:
    """Split name for ``key``: a uniform number from BLAKE2b(seed, key) placed in cumulative ``fractions``.

    ``fractions`` maps split name to probability (must sum to 1), e.g.
    ``{"train": 0.8, "val": 0.1, "test": 0.1}``; its order is significant.
    """
    total = sum(fractions.values())
    if abs(total - 1.0) > 1e-9:
        raise ValueError(f"split fractions {fractions} sum to {total}, not 1")
    digest = hashlib.blake2b(f"{seed}:{key}".encode(), digest_size=8).digest()
    u = int.from_bytes(digest, "big") / 2**64
    cumulative = 0.0
    for name, frac in fractions.items():
        cumulative += frac
        if u < cumulative:
            return name
    return next(reversed(fractions))
