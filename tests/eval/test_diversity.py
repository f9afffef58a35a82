"""Vendi scores and internal diversity against closed forms, the vendi-score package and RDKit."""

from __future__ import annotations

import numpy as np
import pytest
from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator

from molgen.eval import evaluate_molecules
from molgen.eval.diversity import (
    fingerprint_bits,
    internal_diversity,
    merge_duplicates,
    tanimoto_kernel,
    vendi_scores,
)

ORDERS = (0.0, 0.1, 0.5, 1.0, 2.0, float("inf"))
SMILES = ["CCO", "CCN", "c1ccccc1", "Cc1ccccc1", "CC(=O)O", "CCCCCC", "C1CCCCC1", "OCCO", "CCO", "c1ccncc1"]


@pytest.mark.parametrize("n", [1, 5, 37])
def test_identity_kernel_gives_n_for_every_order(n):
    scores = vendi_scores(np.eye(n), ORDERS)
    assert all(v == pytest.approx(n) for v in scores.values())


@pytest.mark.parametrize("n", [1, 5, 37])
def test_all_ones_kernel_gives_one_for_every_order(n):
    scores = vendi_scores(np.ones((n, n)), ORDERS)
    assert all(v == pytest.approx(1.0) for v in scores.values())


def test_block_kernel_closed_form():
    # Two groups of identical items (sizes 3 and 1): eigenvalues of K/n are 3/4 and 1/4.
    kernel = np.zeros((4, 4))
    kernel[:3, :3] = 1.0
    kernel[3, 3] = 1.0
    lam = np.array([0.75, 0.25])
    scores = vendi_scores(kernel, ORDERS)
    assert scores[0.0] == pytest.approx(2.0)
    assert scores[1.0] == pytest.approx(np.exp(-(lam * np.log(lam)).sum()))
    assert scores[2.0] == pytest.approx(1.0 / (lam**2).sum())
    assert scores[0.5] == pytest.approx(np.sqrt(lam).sum() ** 2)
    assert scores[float("inf")] == pytest.approx(1 / 0.75)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # vendi-score uses a deprecated scipy.sparse path
def test_agrees_with_vendi_score_package_where_it_is_right():
    vendi = pytest.importorskip("vendi_score.vendi")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 5))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    kernel = x @ x.T
    ours = vendi_scores(kernel, ORDERS)
    assert ours[1.0] == pytest.approx(vendi.score_K(kernel, q=1), rel=1e-8)
    assert ours[2.0] == pytest.approx(vendi.score_K(kernel, q=2), rel=1e-8)  # score_K honours q
    # score_X ignores q (always the q=1 value): why molgen computes every order from the eigenvalues itself
    assert vendi.score_X(x, q=2) == pytest.approx(ours[1.0], rel=1e-8)
    assert ours[2.0] < ours[1.0] - 0.1


def test_tanimoto_kernel_matches_rdkit():
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    mols = [Chem.MolFromSmiles(s) for s in SMILES]
    fps = [generator.GetFingerprint(m) for m in mols]
    bits = np.unpackbits(np.stack([fingerprint_bits(m) for m in mols]), axis=1)
    kernel = tanimoto_kernel(bits)
    for i, fp in enumerate(fps):
        np.testing.assert_allclose(kernel[i], DataStructs.BulkTanimotoSimilarity(fp, fps), atol=1e-6)


def test_duplicate_merging_is_exact():
    mols = [Chem.MolFromSmiles(s) for s in SMILES + SMILES[:4]]
    packed = np.stack([fingerprint_bits(m) for m in mols])
    full = tanimoto_kernel(np.unpackbits(packed, axis=1))
    unique, counts = merge_duplicates(packed)
    merged = vendi_scores(tanimoto_kernel(np.unpackbits(unique, axis=1)), ORDERS, weights=counts)
    direct = vendi_scores(full, ORDERS)
    for q in ORDERS:
        assert merged[q] == pytest.approx(direct[q], rel=1e-5)
    # internal diversity by brute force over pairs i != j
    n = len(mols)
    brute = 1 - (full.sum() - n) / (n * (n - 1))
    assert internal_diversity(tanimoto_kernel(np.unpackbits(unique, axis=1)), counts) == pytest.approx(brute, rel=1e-6)


def test_group_summary_on_molecules():
    out = evaluate_molecules([Chem.AddHs(Chem.MolFromSmiles(s)) for s in ["CCO", "CCO", "CCO"]], "diversity")
    assert out["diversity/n_valid"] == 3
    assert out["diversity/vendi_q1"] == pytest.approx(1.0)
    assert out["diversity/internal_diversity"] == pytest.approx(0.0)
