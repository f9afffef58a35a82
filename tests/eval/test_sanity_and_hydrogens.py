"""Evaluation that cannot be fooled: geometry sanity first and loud; H-independent diversity and uniqueness."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdkit import Chem
from rdkit.Chem import AllChem

from molgen.cli.evaluate import main as evaluate_main
from molgen.eval import evaluate_sdf
from molgen.eval.registry import resolve_metrics
from molgen.eval.sanity import check_molecule

SMILES = ("CCO", "CCO", "c1ccccc1", "CC(=O)O", "CCN", "OC1CCCC1", "CC#N", "C1CC1C", "NC(=O)C", "COC")


def embedded(smiles: str) -> Chem.Mol:
    mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
    assert AllChem.EmbedMolecule(mol, randomSeed=3) == 0
    return mol


def write(path: Path, mols: list[Chem.Mol]) -> Path:
    with Chem.SDWriter(str(path)) as writer:
        for mol in mols:
            writer.write(mol)
    return path


def test_same_molecules_with_and_without_explicit_h_give_identical_numbers(tmp_path: Path) -> None:
    mols = [embedded(s) for s in SMILES]
    with_h = write(tmp_path / "with_h.sdf", mols)
    without_h = write(tmp_path / "without_h.sdf", [Chem.RemoveHs(m) for m in mols])
    assert "H " in with_h.read_text() and " H " not in without_h.read_text()
    reference = [Chem.AddHs(Chem.MolFromSmiles(s)) for s in ("CCO", "CCN")]
    a = evaluate_sdf(with_h, "validity,diversity", reference).summary
    b = evaluate_sdf(without_h, "validity,diversity", reference).summary
    assert a["diversity"] == b["diversity"]
    for key in ("uniqueness", "uniqueness_legacy", "novelty"):
        assert a["validity"][key] == b["validity"][key], key
    assert a["validity"]["novelty"] == pytest.approx(7 / 9)  # 9 distinct, CCO and CCN known


def test_sanity_flags_collapsed_clashing_and_stretched_molecules() -> None:
    good = embedded("CCO")
    assert check_molecule(good) == {"collapsed": False, "close_pair": False, "bad_bond_length": False}
    collapsed = Chem.Mol(good)
    for k in range(collapsed.GetNumAtoms()):
        collapsed.GetConformer().SetAtomPosition(k, (0.0, 0.0, 0.0))
    assert check_molecule(collapsed)["collapsed"] and check_molecule(collapsed)["close_pair"]
    clash = Chem.Mol(good)
    p = clash.GetConformer().GetAtomPosition(0)
    clash.GetConformer().SetAtomPosition(8, (p.x + 0.3, p.y, p.z))  # an H 0.3 A from the first carbon
    assert check_molecule(clash)["close_pair"] and not check_molecule(clash)["collapsed"]
    stretched = Chem.Mol(good)
    conf = stretched.GetConformer()
    conf.SetAtomPosition(2, tuple(conf.GetAtomPosition(2) * 3))  # the C-O bond far too long
    assert check_molecule(stretched)["bad_bond_length"]


def test_standard_preset_checks_sanity_first_and_the_cli_warns_loudly(tmp_path: Path, capsys) -> None:
    assert resolve_metrics("standard")[0].name == "sanity"
    flat = [embedded(s) for s in ("CCO", "CCN")]
    for k in range(flat[0].GetNumAtoms()):
        flat[0].GetConformer().SetAtomPosition(k, (0.0, 0.0, 0.0))
    sdf = write(tmp_path / "flat.sdf", flat)
    assert evaluate_main([str(sdf), "--metrics", "sanity,validity", "--out", str(tmp_path / "ev"), "--workers", "1",
                          "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.err.splitlines()[0] == "WARNING: 50.0% of the molecules have collapsed coordinates " \
                                           "(all atoms within 0.1 A)"
    assert [line for line in captured.out.splitlines() if not line.startswith("input/")][0].startswith("sanity/")
    assert "WARNING: 50.0% of the molecules" in (tmp_path / "ev" / "report.html").read_text()
