"""The e3nn tensor product equal to a Gaunt product (reference for tests and bench/tp.py).

A Gaunt product couples only even paths (l1 + l2 + l3 even, triangle rule), each with one
fixed constant times e3nn's Wigner-3j symbol. ``e3nn_equivalent`` builds the channel-wise
("uuu") ``o3.TensorProduct`` over exactly those paths with the constants as path weights, so
``from_e3nn_layout(tp_e3nn(to_e3nn_layout(x), to_e3nn_layout(y)))`` equals the unweighted
``GauntTensorProduct(x, y)``.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from e3nn import o3

from molgen.nn.gaunt import gaunt_coefficients


def even_paths(lmax1: int, lmax2: int, lmax_out: int) -> Iterator[tuple[int, int, int]]:
    """All (l1, l2, l3) with l1 + l2 + l3 even and |l1 - l2| <= l3 <= min(l1 + l2, lmax_out)."""
    for l1 in range(lmax1 + 1):
        for l2 in range(lmax2 + 1):
            for l3 in range(abs(l1 - l2), min(l1 + l2, lmax_out) + 1):
                if (l1 + l2 + l3) % 2 == 0:
                    yield l1, l2, l3


def path_constants(lmax1: int, lmax2: int, lmax_out: int) -> dict[tuple[int, int, int], float]:
    """``{path: c}`` with ``G[path block] = c * o3.wigner_3j(*path)`` (least squares, exact here)."""
    g = gaunt_coefficients(lmax1, lmax2, lmax_out)
    out = {}
    for l1, l2, l3 in even_paths(lmax1, lmax2, lmax_out):
        block = g[l1 * l1 : (l1 + 1) ** 2, l2 * l2 : (l2 + 1) ** 2, l3 * l3 : (l3 + 1) ** 2]
        w3j = o3.wigner_3j(l1, l2, l3, dtype=torch.float64)
        out[(l1, l2, l3)] = float((block * w3j).sum() / (w3j * w3j).sum())
    return out


def e3nn_equivalent(lmax1: int, lmax2: int, lmax_out: int, channels: int) -> o3.TensorProduct:
    """e3nn "uuu" TensorProduct over the even paths, without learnable weights, equal to the Gaunt product."""
    instructions = []
    for path, c in path_constants(lmax1, lmax2, lmax_out).items():
        if c <= 0:
            raise ValueError(f"path {path}: constant {c} <= 0 cannot be an e3nn path weight (it takes sqrt)")
        instructions.append((*path, "uuu", False, c * c))  # e3nn scales each path by sqrt(path_weight)
    irreps = [o3.Irreps([(channels, (ell, (-1) ** ell)) for ell in range(lm + 1)]) for lm in (lmax1, lmax2, lmax_out)]
    return o3.TensorProduct(*irreps, instructions, irrep_normalization="none", path_normalization="none")
