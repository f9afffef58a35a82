"""Diversity: the Vendi score family and internal diversity on Morgan fingerprints.

For a similarity kernel ``K`` [n, n] with unit diagonal, let ``lambda`` be the eigenvalues
of ``K / n`` (they sum to 1). The Vendi score of order ``q`` (Pasarkar & Dieng, "Cousins
of the Vendi Score") is ``exp(log(sum lambda^q) / (1 - q))``; ``q = 1`` is
``exp(-sum lambda log lambda)``, ``q = inf`` is ``1 / max lambda`` and ``q = 0`` counts the
nonzero eigenvalues. The kernel here is Tanimoto similarity of Morgan fingerprints
(radius 2) of the valid molecules, on the sanitised heavy-atom graph (``RemoveHs``), the
field's convention: the same molecules written with or without explicit hydrogens give
the same numbers.

Speed: molecules with identical fingerprints are merged first (exact: the nonzero
eigenvalues of ``K / n`` equal those of ``sqrt(w) K_u sqrt(w) / n`` with ``K_u`` the kernel
of the distinct fingerprints and ``w`` their multiplicities); the kernel is built with
one float32 matrix product of the bit matrices and diagonalised with ``eigvalsh``.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import scipy.linalg
from rdkit import Chem
from rdkit.Chem import rdFingerprintGenerator

from molgen.chem.sanitize import sanitized_copy, without_hydrogens
from molgen.eval.group import EvalOptions, ReferenceData, Rows

#: Eigenvalues below this (relative to the largest) count as zero (matters for q = 0 and small q).
EIGEN_TOL = 1e-9
#: Largest kernel (distinct fingerprints) diagonalised in float64; larger ones use float32.
FLOAT64_MAX_N = 5000


def vendi_from_eigenvalues(eigenvalues: np.ndarray, q: float, rel_tol: float = EIGEN_TOL) -> float:
    """Vendi score of order ``q`` from the eigenvalues [n] of ``K / n`` (summing to 1).

    Eigenvalues below ``rel_tol`` times the largest are round-off and count as zero.
    """
    lam = np.clip(np.asarray(eigenvalues, dtype=np.float64), 0.0, None)
    lam = lam[lam > rel_tol * lam.max()]
    if math.isinf(q):
        return float(1.0 / lam.max())
    if q == 0:
        return float(lam.size)
    if q == 1:
        return float(np.exp(-np.sum(lam * np.log(lam))))
    return float(np.exp(np.log(np.sum(lam**q)) / (1.0 - q)))


def vendi_scores(kernel: np.ndarray, orders=(0.1, 0.5, 1.0, 2.0, float("inf")), weights=None) -> dict[float, float]:
    """Vendi scores for each order from a kernel [n, n] with unit diagonal.

    ``weights`` [n] (multiplicities) makes row ``i`` stand for ``weights[i]`` identical samples.
    Up to :data:`FLOAT64_MAX_N` rows the eigenvalues are computed in float64, above in float32
    (half the memory and time; the zero threshold is raised to match float32 round-off).
    """
    n = kernel.shape[0]
    dtype = np.float64 if n <= FLOAT64_MAX_N else np.float32
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    root = (np.sqrt(w) / np.sqrt(w.sum())).astype(dtype)
    scaled = np.array(kernel, dtype=dtype)  # [n, n] copy, scaled in place
    scaled *= root[:, None]
    scaled *= root[None, :]
    eigenvalues = scipy.linalg.eigvalsh(scaled, overwrite_a=True, check_finite=False, driver="evd")
    rel_tol = max(EIGEN_TOL, 50 * float(np.finfo(dtype).eps))
    return {q: vendi_from_eigenvalues(eigenvalues, q, rel_tol) for q in orders}


def fingerprint_bits(mol: Chem.Mol, n_bits: int = 2048) -> np.ndarray:
    """Morgan fingerprint (radius 2) of a sanitised molecule as packed bits [n_bits / 8] (uint8)."""
    return np.packbits(_morgan_generator(n_bits).GetFingerprintAsNumPy(mol).astype(bool))


@cache
def _morgan_generator(n_bits: int):
    return rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=n_bits)


def tanimoto_kernel(bits: np.ndarray) -> np.ndarray:
    """Tanimoto similarity [n, n] (float32) of unpacked 0/1 fingerprints ``bits`` [n, n_bits].

    Two empty fingerprints have similarity 1 with themselves and 0 with others.
    """
    x = np.asarray(bits, dtype=np.float32)  # [n, n_bits]
    kernel = x @ x.T  # [n, n] intersections, turned into similarities in place (two n x n buffers at most)
    counts = np.diag(kernel).copy()  # [n]
    union = counts[:, None] + counts[None, :]  # [n, n]
    union -= kernel
    np.divide(kernel, union, out=kernel, where=union > 0)
    del union
    np.fill_diagonal(kernel, 1.0)
    return kernel


def merge_duplicates(packed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct packed fingerprints [u, n_bytes] and their multiplicities [u] from ``packed`` [n, n_bytes]."""
    unique, counts = np.unique(packed, axis=0, return_counts=True)
    return unique, counts


def internal_diversity(kernel: np.ndarray, weights: np.ndarray) -> float:
    """1 - mean Tanimoto similarity over ordered pairs of distinct samples (i != j)."""
    w = weights.astype(np.float64)
    n = w.sum()
    if n < 2:
        return 0.0
    total = float(w @ kernel.astype(np.float64) @ w)
    same = float(np.sum(w))  # the i == j terms (diagonal similarity 1)
    return 1.0 - (total - same) / (n * (n - 1))


def compute(mols: list[Chem.Mol], options: EvalOptions) -> Rows:
    rows = []
    for mol in mols:
        clean = sanitized_copy(mol)
        heavy = None if clean is None else without_hydrogens(clean)  # explicit or implicit H: the same bits
        rows.append({"_fingerprint": None if heavy is None else fingerprint_bits(heavy, options.fingerprint_bits)})
    return rows


def summarize(rows: Rows, reference: ReferenceData | None, options: EvalOptions) -> dict:
    fps = [r["_fingerprint"] for r in rows if r["_fingerprint"] is not None]
    if not fps:
        return {"n_valid": 0}
    unique, counts = merge_duplicates(np.stack(fps))
    kernel = tanimoto_kernel(np.unpackbits(unique, axis=1))
    scores = vendi_scores(kernel, options.vendi_orders, weights=counts)
    out = {"n_valid": len(fps), "internal_diversity": internal_diversity(kernel, counts)}
    out.update({f"vendi_q{_order_name(q)}": v for q, v in scores.items()})
    return out


def _order_name(q: float) -> str:
    return "inf" if math.isinf(q) else f"{q:g}"


DEFINITIONS = {
    "n_valid": "valid molecules used for diversity",
    "internal_diversity": "1 - mean pairwise Tanimoto similarity (Morgan r=2, 2048 bits) over pairs i != j",
    "vendi_q0.1": "Vendi score, order 0.1, Tanimoto kernel of Morgan fingerprints",
    "vendi_q0.5": "Vendi score, order 0.5",
    "vendi_q1": "Vendi score, order 1 (Shannon; the original Vendi score)",
    "vendi_q2": "Vendi score, order 2",
    "vendi_qinf": "Vendi score, order infinity (1 / largest eigenvalue)",
}
