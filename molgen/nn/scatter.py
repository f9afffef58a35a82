"""Segment reductions over the edge or atom axis in plain torch (no torch_scatter).

``index`` assigns each row of ``src`` to one of ``size`` segments (e.g. the target
atom of each edge, or the graph of each atom). Shapes: src [M, ...], index [M],
result [size, ...] (or [M, ...] for :func:`segment_softmax`).
"""

from __future__ import annotations

import torch
from torch import Tensor


def segment_sum(src: Tensor, index: Tensor, size: int) -> Tensor:
    """Sum of the rows of ``src`` in each segment: [M, ...] -> [size, ...]."""
    out = src.new_zeros((size, *src.shape[1:]))
    return out.index_add_(0, index, src)


def segment_count(index: Tensor, size: int, dtype: torch.dtype) -> Tensor:
    """[size] number of rows in each segment (at least 1, so it can divide)."""
    ones = torch.ones(index.shape[0], dtype=dtype, device=index.device)
    return segment_sum(ones, index, size).clamp(min=1.0)


def segment_mean(src: Tensor, index: Tensor, size: int) -> Tensor:
    """Mean of the rows of ``src`` in each segment (0 for an empty segment)."""
    count = segment_count(index, size, src.dtype)
    return segment_sum(src, index, size) / count.view(-1, *([1] * (src.dim() - 1)))


def segment_softmax(src: Tensor, index: Tensor, size: int) -> Tensor:
    """Softmax of ``src`` [M, F] over the rows sharing an ``index``, separately per column."""
    expanded = index.view(-1, *([1] * (src.dim() - 1))).expand_as(src)
    seg_max = src.new_full((size, *src.shape[1:]), float("-inf"))
    seg_max = seg_max.scatter_reduce(0, expanded, src.detach(), reduce="amax", include_self=True)
    exp = torch.exp(src - seg_max[index])
    return exp / segment_sum(exp, index, size)[index]
