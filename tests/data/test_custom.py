"""Custom SDF datasets: every rejected record is reported with its reason; accepted ones load and batch."""

from __future__ import annotations

import csv
import json

import pytest
from fixtures_mols import conformer_mols, drug_like_smiles
from rdkit import Chem
from rdkit.Chem import AllChem
from torch.utils.data import DataLoader

from molgen.chem.vocab import element_index
from molgen.chem.featurize import featurize_mol
from molgen.cli import main
from molgen.data.custom import CustomSDF, build_custom, count_fragments
from molgen.data.store import MolStore
from molgen.data.template import ProcessedDataset, collate, processed_dir


def _embedded(smiles: str, seed: int = 0) -> Chem.Mol:
    mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
    assert AllChem.EmbedMolecule(mol, randomSeed=seed) == 0
    return mol


def _block(mol: Chem.Mol, title: str) -> str:
    mol = Chem.Mol(mol)
    mol.SetProp("_Name", title)
    return Chem.MolToMolBlock(mol) + "$$$$\n"


@pytest.fixture
def user_sdf(tmp_path):
    """A user's SDF: 4 good molecules and one record for each rejection reason (title = expected reason)."""
    good = [conformer_mols(s, 1)[0] for s in drug_like_smiles(4)]
    flat = Chem.AddHs(Chem.MolFromSmiles("CCO"))
    AllChem.Compute2DCoords(flat)
    big = _embedded("CCCCCCCCCCCCCCCCCCCC")  # 62 atoms
    blocks = [_block(m, f"good{k}") for k, m in enumerate(good)]
    blocks += [
        _block(_embedded("C[Se]C"), "unsupported element"),
        _block(_embedded("[O-3]"), "charge out of range"),
        _block(flat, "missing 3D coordinates"),
        _block(big, "more atoms than max_atoms"),
        _block(_embedded("CCO.O"), "disconnected"),
        _block(Chem.RemoveHs(_embedded("CCN")), "implicit hydrogens"),
        "garbage\n\n\n  x  y  z\nM  END\n$$$$\n",
    ]
    path = tmp_path / "mine.sdf"
    path.write_text("".join(blocks))
    return path


def test_every_rejected_record_is_reported_with_its_reason(user_sdf, tmp_path):
    report = build_custom(user_sdf, "mine", tmp_path, max_atoms=40, reject_disconnected=True,
                          progress=False, log=None)
    assert report.total_kept == 4
    by_index = {e["index"]: e for e in report.errors}
    assert sorted(by_index) == [4, 5, 6, 7, 8, 9, 10]
    assert by_index[4]["reason"] == "unsupported element" and "Se" in by_index[4]["detail"]
    assert by_index[5]["reason"] == "charge out of range"
    assert by_index[6]["reason"].startswith("missing 3D coordinates")
    assert by_index[7]["reason"] == "more atoms than max_atoms" and "62 > 40" in by_index[7]["detail"]
    assert by_index[8]["reason"] == "disconnected" and "2 fragments" in by_index[8]["detail"]
    assert "implicit hydrogens" in by_index[9]["reason"]
    assert by_index[10]["reason"] == "unparseable molfile block"
    titles = ["unsupported element", "charge out of range", "missing 3D coordinates", "more atoms than max_atoms",
              "disconnected", "implicit hydrogens"]
    for k, title in enumerate(titles, start=4):  # each rejection names file, record and the record's title
        assert by_index[k]["file"] == str(user_sdf) and by_index[k]["detail"].startswith(f"title {title!r}")
    with open(processed_dir("mine", tmp_path) / "rejected.tsv") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert [int(r["record"]) for r in rows] == [4, 5, 6, 7, 8, 9, 10]
    names = sorted(g.name for s in ("train", "val", "test") for g in MolStore(processed_dir("mine", tmp_path) / s))
    assert names == ["good0", "good1", "good2", "good3"]


def test_options_change_what_is_accepted(user_sdf, tmp_path):
    report = build_custom(user_sdf, "lenient", tmp_path, add_hs=True, progress=False, log=None)
    # no atom cap, fragments allowed, hydrogens added: big, disconnected and H-less records are kept
    assert report.total_kept == 4 + 3
    assert set(report.dropped) == {"unsupported element", "charge out of range", "unparseable molfile block"} | {
        r for r in report.dropped if r.startswith("missing 3D")}


def test_custom_dataset_loads_and_batches_via_cli_wrapper(user_sdf, tmp_path, capsys):
    argv = ["data", "custom", "--sdf", str(user_sdf.parent), "--name", "cli", "--max-atoms", "40", "--root",
            str(tmp_path), "--no-progress"]
    assert main(argv) == 0
    assert "rejected.tsv" in capsys.readouterr().out
    report = json.loads((processed_dir("cli", tmp_path) / "report.json").read_text())
    assert sum(report["kept"].values()) == 5  # the disconnected record is allowed without the flag
    train = ProcessedDataset(tmp_path, "cli", "train")
    batch = next(iter(DataLoader(train, batch_size=2, collate_fn=collate)))
    assert batch.num_graphs == min(2, len(train))


def test_fragment_count_and_bad_names(tmp_path):
    assert count_fragments(featurize_mol(_embedded("CCO.O.[NH4+]"))) == 3
    assert count_fragments(featurize_mol(_embedded("c1ccccc1"))) == 1
    with pytest.raises(ValueError, match="dataset name"):
        CustomSDF(tmp_path, "../escape")
    with pytest.raises(FileNotFoundError, match="no .sdf"):
        CustomSDF(tmp_path, "empty")


def test_remove_hs_keeps_heavy_atoms_of_the_checked_molecules(user_sdf, tmp_path):
    argv = ["data", "custom", "--sdf", str(user_sdf.parent), "--name", "heavy", "--max-atoms", "40", "--root",
            str(tmp_path), "--no-progress", "--remove-hs"]
    assert main(argv) == 0
    full = build_custom(user_sdf, "full", tmp_path, max_atoms=40, progress=False, log=None)
    heavy = [g for split in ("train", "val", "test") for g in ProcessedDataset(tmp_path, "heavy", split)]
    # the same records pass the checks (made with their H), and the heavy-atom record too: a heavy-atom
    # dataset derives the hydrogens RDKit implies, as its model does when it writes molecules
    assert full.total_kept == 5 and sorted(g.name for g in heavy if g.name.startswith("implicit")) == [
        "implicit hydrogens"] and len(heavy) == 6
    assert [g.num_atoms for g in heavy if g.name == "implicit hydrogens"] == [3]  # CCN
    with_h = {g.name: g for split in ("train", "val", "test") for g in ProcessedDataset(tmp_path, "full", split)}
    for g in (g for g in heavy if g.name in with_h):
        assert not (g.atom_types == element_index("H")).any()  # no hydrogen
        assert g.num_atoms == int((with_h[g.name].atom_types != 0).sum())
