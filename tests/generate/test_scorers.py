"""Scorers (QED, SA, Vina) on known molecules, the table of them, and keep_top's ranking."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from rdkit import Chem
from rdkit.Chem import AllChem

from molgen.chem.featurize import featurize_mol
from molgen.chem.molgraph import MolGraph
from molgen.chem.vocab import element_index
from molgen.errors import MolgenInputError
from molgen.generate.scorers import (
    SCORERS,
    MoleculeScorer,
    QEDScorer,
    SAScorer,
    VinaScorer,
    annotate,
    build_scorer,
    keep_top,
    ranking,
)

ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"
STRYCHNINE = "O=C1CC2OCC=C3CN4CCC56C4CC3C2C6N1c1ccccc15"  # stereo left to the embedding


def embedded(smiles: str, name: str = "") -> MolGraph:
    """``smiles`` with explicit hydrogens embedded in 3D (ETKDG, fixed seed)."""
    mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
    assert AllChem.EmbedMolecule(mol, randomSeed=0) == 0, f"embedding {smiles} failed"
    return featurize_mol(mol, name=name or smiles)


def pentavalent_carbon() -> MolGraph:
    """A carbon with five single bonds to carbons: RDKit refuses it."""
    pos = torch.randn(6, 3, generator=torch.Generator().manual_seed(0)) * 1.5
    c = element_index("C")
    return MolGraph(pos=pos, atom_types=torch.full((6,), c), charges=torch.zeros(6, dtype=torch.long),
                    bond_index=torch.tensor([[0, 0, 0, 0, 0], [1, 2, 3, 4, 5]]),
                    bond_types=torch.ones(5, dtype=torch.long), name="bad")


def two_methanes() -> MolGraph:
    """Two separate heavy-atom carbons (implicit H): a valid but fragmented graph."""
    c = element_index("C")
    return MolGraph(pos=torch.tensor([[0.0, 0.0, 0.0], [5.0, 0.0, 0.0]]), atom_types=torch.full((2,), c),
                    charges=torch.zeros(2, dtype=torch.long), bond_index=torch.zeros(2, 0, dtype=torch.long),
                    bond_types=torch.zeros(0, dtype=torch.long))


def test_qed_of_aspirin_in_3d_with_and_without_hydrogens():
    full = embedded(ASPIRIN)
    scores = QEDScorer().score([full, full.heavy_atoms()])
    assert scores.shape == (2,)
    assert scores[0] == pytest.approx(0.5501, abs=1e-3)  # RDKit's QED of aspirin
    assert scores[1] == pytest.approx(scores[0], abs=1e-9)  # implied hydrogens: the same molecule


def test_sa_is_rescaled_so_that_easy_molecules_score_high():
    benzene, strychnine = embedded("c1ccccc1"), embedded(STRYCHNINE)
    scores = SAScorer().score([benzene, strychnine])
    assert scores[0] == pytest.approx(1.0, abs=1e-6)  # SA of benzene is 1 (easiest): (10 - 1) / 9
    assert 0.0 < scores[1] < 0.6, f"strychnine's rescaled SA {scores[1]} should be far below benzene's"


@pytest.mark.parametrize("scorer", [QEDScorer(), SAScorer()], ids=["qed", "sa"])
def test_unscorable_molecules_get_nan_without_raising(scorer):
    empty = MolGraph(pos=torch.zeros(0, 3), atom_types=torch.zeros(0, dtype=torch.long),
                     charges=torch.zeros(0, dtype=torch.long), bond_index=torch.zeros(2, 0, dtype=torch.long),
                     bond_types=torch.zeros(0, dtype=torch.long))
    scores = scorer.score([pentavalent_carbon(), embedded("CCO"), two_methanes(), empty])
    assert np.isnan(scores[[0, 2, 3]]).all(), f"{scorer.name}: {scores}"
    assert np.isfinite(scores[1])


def test_fragments_are_scored_when_connectivity_is_not_required():
    assert np.isfinite(QEDScorer(connected=False).score([two_methanes()])).all()


def test_registry_builds_scorers_and_names_bad_requests():
    from molgen.generate.options import SCORER_NAMES

    assert SCORERS == {"qed": QEDScorer, "sa": SAScorer, "vina": VinaScorer}
    # the names the options check are the scorers that exist: the registry's, and fit (a placement's own)
    assert (*SCORERS, "fit") == SCORER_NAMES
    scorer = build_scorer("qed")
    assert isinstance(scorer, QEDScorer) and isinstance(scorer, MoleculeScorer)
    assert build_scorer("sa", implicit_hydrogens=False).implicit_hydrogens is False
    with pytest.raises(MolgenInputError, match="unknown scorer 'logp'.*qed, sa, vina"):
        build_scorer("logp")
    with pytest.raises(MolgenInputError, match="--guide vina:.*receptor_pdb"):
        build_scorer("vina")
    with pytest.raises(MolgenInputError, match="--guide qed:.*colour"):
        build_scorer("qed", colour="red")


def test_annotate_writes_scores_as_properties():
    graphs = [embedded(ASPIRIN), pentavalent_carbon()]
    scores = annotate(graphs, QEDScorer())
    assert graphs[0].props["score_qed"] == pytest.approx(scores[0], abs=1e-4)
    assert graphs[1].props["score_qed"] == ""


def test_ranking_puts_nan_last_and_keeps_ties_in_order():
    scores = np.array([0.2, np.nan, 0.9, 0.2, -np.inf, 0.5, np.nan])
    assert ranking(scores).tolist() == [2, 5, 0, 3, 4, 1, 6]


def test_keep_top_keeps_the_best_fraction_best_first():
    graphs = [MolGraph(pos=torch.zeros(1, 3), atom_types=torch.zeros(1, dtype=torch.long),
                       charges=torch.zeros(1, dtype=torch.long), bond_index=torch.zeros(2, 0, dtype=torch.long),
                       bond_types=torch.zeros(0, dtype=torch.long), name=f"m{k}") for k in range(10)]
    scores = [0.1, 0.7, np.nan, 0.3, 0.7, 0.0, 0.9, np.nan, 0.2, 0.5]
    assert [g.name for g in keep_top(graphs, scores, 0.3)] == ["m6", "m1", "m4"]
    assert [g.name for g in keep_top(graphs, scores, 0.25)] == ["m6", "m1", "m4"]  # ceil(2.5) = 3
    assert [g.name for g in keep_top(graphs, scores, 0.01)] == ["m6"]
    everything = keep_top(graphs, scores, 1.0)
    assert [g.name for g in everything[-2:]] == ["m2", "m7"] and len(everything) == 10
    for bad in (0, -0.5, 1.5, math.nan, "0.5"):
        with pytest.raises(MolgenInputError, match="--keep-top must be a fraction in \\(0, 1\\]"):
            keep_top(graphs, scores, bad)
    with pytest.raises(ValueError, match="10 molecules but scores of shape"):
        keep_top(graphs, scores[:5], 0.5)


# ---------------------------------------------------------------- Vina (needs the dock extra and ../shared/data)


@pytest.fixture(scope="module")
def vina_1iep(shared_data: Path) -> Path:
    pytest.importorskip("vina", reason="the dock extra (vina, meeko) is not installed")
    pytest.importorskip("meeko", reason="the dock extra (vina, meeko) is not installed")
    folder = shared_data / "docking" / "vina_1iep"
    if not folder.is_dir():
        pytest.skip(f"AutoDock Vina 1iep example not found at {folder}")
    return folder


@pytest.fixture(scope="module")
def imatinib(vina_1iep: Path) -> MolGraph:
    return featurize_mol(Chem.MolFromMolFile(str(vina_1iep / "1iep_ligand.sdf"), removeHs=False))


def test_vina_scores_the_1iep_crystal_ligand_and_nan_for_failures(vina_1iep, imatinib, tmp_path):
    from molgen.dock import read_box_file

    box = read_box_file(vina_1iep / "1iep_receptor.box.txt")
    scorer = build_scorer("vina", receptor_pdb=vina_1iep / "1iep_receptorH.pdb", box=box, cache_dir=tmp_path)
    scores = scorer.score([imatinib, imatinib.heavy_atoms(), pentavalent_carbon()])
    assert 11.5 < scores[0] < 13.5, f"crystal pose: {-scores[0]} kcal/mol, expected about -12.5"
    assert scores[1] == pytest.approx(scores[0], abs=0.3)  # hydrogens implied and placed by RDKit
    assert math.isnan(scores[2]) and "sanitise" in scorer.failures[2]
    moved = VinaScorer(vina_1iep / "1iep_receptorH.pdb", box=box, offset=(30.0, 0.0, 0.0), cache_dir=tmp_path)
    assert math.isnan(moved.score([imatinib])[0]) and "outside the box" in moved.failures[0]


def test_vina_boxes_each_ligand_itself_without_a_box(vina_1iep, imatinib, tmp_path):
    scorer = build_scorer("vina", receptor_pdb=vina_1iep / "1iep_receptorH.pdb", cache_dir=tmp_path)
    assert 11.5 < scorer.score([imatinib])[0] < 13.5


def test_vina_names_a_missing_receptor(tmp_path):
    pytest.importorskip("vina", reason="the dock extra (vina, meeko) is not installed")
    with pytest.raises(MolgenInputError, match="receptor file not found"):
        build_scorer("vina", receptor_pdb=tmp_path / "absent.pdb", cache_dir=tmp_path)
