"""CrossDocked2020: index/split readers, pocket selection, processing of the real sample, partial downloads."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from rdkit import Chem

from molgen.chem.vocab import element_index
from molgen.data.crossdocked import MISSING_ON_DISK, CrossDocked
from molgen.data.crossdocked_raw import assign_splits, load_index, load_name_split, load_pose_split
from molgen.data.pocket import AMINO_ACIDS, parse_pdb, pocket_graph, select_pocket
from molgen.data.store import MolStore
from molgen.data.template import processed_dir

PDB = """\
HEADER    POCKET
ATOM      1  N   GLY A   1       0.000   0.000   0.000  1.00  0.00           N
ATOM      2  CA  GLY A   1       6.500   0.000   0.000  1.00  0.00           C
ATOM      3  O   GLY A   1      20.000   0.000   0.000  1.00  0.00           O
ATOM      4  N   SER A   2       7.500   0.000   0.000  1.00  0.00           N
ATOM      5  OG  SER A   2       0.000   7.200   0.000  1.00  0.00           O
ATOM      6  SD  MET B   2       0.000   0.000   6.900  1.00  0.00           S
ATOM      7  H   MET B   2       0.000   0.000   6.000  1.00  0.00           H
END
"""


def test_pocket_keeps_whole_residues_within_cutoff(tmp_path):
    path = tmp_path / "p.pdb"
    path.write_text(PDB)
    atoms = parse_pdb(path, hydrogens=False)
    assert len(atoms) == 6 and atoms.elements == ["N", "C", "O", "N", "O", "S"]
    pocket = select_pocket(atoms, np.array([[0.0, 0.0, 0.0]]), cutoff=7.0)
    # GLY A1 (CA at 6.5 A) kept whole, incl. O at 20 A; SER A2 nearest 7.2 A dropped; MET B2 at 6.9 A kept
    assert pocket.atom_names == ["N", "CA", "O", "SD"]
    graph = pocket_graph(pocket, "p")
    assert graph.atom_types.tolist() == [element_index(e) for e in ("N", "C", "O", "S")]
    assert graph.props["residue_type"] == [AMINO_ACIDS.index("GLY")] * 3 + [AMINO_ACIDS.index("MET")]
    assert graph.props["residue_number"] == [0, 0, 0, 1] and graph.props["is_backbone"] == [True, True, True, False]
    assert graph.num_bonds == 0
    assert len(select_pocket(atoms, np.array([[0.0, 0.0, 0.0]]), cutoff=7.3)) == 6


def test_index_and_split_readers(shared_data, tmp_path):
    root = shared_data / "crossdocked"
    entries = load_index(root / "crossdocked_pocket10" / "index.pkl")
    assert len(entries) == 78
    first = entries[0]
    assert first.pocket_fn.endswith("_pocket10.pdb") and first.ligand_fn.endswith(".sdf")
    assert first.protein_fn.endswith("_rec.pdb") and 0 <= first.rmsd < 2
    names = load_name_split(root / "splits" / "pocket2mol_test_list.tsv")
    assert list(names) == ["test"] and len(names["test"]) == 100
    poses = load_pose_split(root / "splits" / "crossdocked_pocket10_pose_split.pt")
    assert {k: len(v) for k, v in poses.items()} == {"train": 99990, "val": 0, "test": 100}
    grouped = assign_splits(entries, pose_split=poses, default=None)
    assert sum(len(v) for v in grouped.values()) == sum(i < 78 for v in poses.values() for i in v)
    split_pt = tmp_path / "split_by_name.pt"
    torch.save({"train": [e.key for e in entries[:5]], "test": [e.key for e in entries[5:7]]}, split_pt)
    assert load_name_split(split_pt)["test"] == [entries[5].key, entries[6].key]


def pairs(root, split: str) -> tuple[MolStore, MolStore]:
    """The aligned ligand and pocket stores of a processed CrossDocked split."""
    folder = processed_dir("crossdocked", root)
    return MolStore(folder / split), MolStore(folder / f"{split}_pocket")


def test_process_real_pairs_aligned(shared_data, tmp_path):
    raw = shared_data / "crossdocked" / "crossdocked_pocket10"
    report = CrossDocked(raw).process(tmp_path, progress=False, log=None)
    assert report.kept == {"train": 78} and report.total_dropped == 0
    ligands, pockets = pairs(tmp_path, "train")
    assert len(ligands) == len(pockets) == 78
    for k in (0, 40, 77):
        ligand, pocket = ligands[k], pockets[k]
        assert pocket.name == ligand.props["pocket_fn"]
        ref = Chem.MolFromMolFile(str(raw / ligand.props["ligand_fn"]))
        assert ligand.num_atoms == ref.GetNumHeavyAtoms() and not (ligand.atom_types == 0).any()
        np.testing.assert_allclose(ligand.pos.numpy(), ref.GetConformer().GetPositions(), atol=1e-3)
        # every pocket residue has an atom within 7 A of the ligand; no residue left out has one
        atoms = parse_pdb(raw / ligand.props["pocket_fn"], hydrogens=False)
        dist = np.linalg.norm(atoms.pos[:, None] - ref.GetConformer().GetPositions()[None], axis=-1).min(1)
        near = {key for key, d in zip(atoms.res_keys, dist, strict=True) if d <= 7.0}
        assert pocket.num_atoms == sum(key in near for key in atoms.res_keys)
        assert pocket.props["num_residues"] == len(near)


def test_ten_angstrom_selection_reproduces_the_published_pocket10_files(shared_data):
    """The released *_pocket10.pdb files hold the residues within 10 A of the ligand: cutting at 10 A keeps all."""
    root = shared_data / "crossdocked"
    ligands = sorted((root / "crossdocked_pocket10").glob("*/*.sdf"))[:6]
    ligands += list((root / "targetdiff_examples").glob("1h36*.sdf"))
    for ligand in ligands:
        atoms = parse_pdb(ligand.with_name(ligand.stem + "_pocket10.pdb"))
        ligand_pos = Chem.MolFromMolFile(str(ligand)).GetConformer().GetPositions()
        assert len(select_pocket(atoms, ligand_pos, cutoff=10.0)) == len(atoms)
        assert len(select_pocket(atoms, ligand_pos, cutoff=7.0)) < len(atoms)


def test_partial_download_is_counted_not_fatal(shared_data, tmp_path):
    raw = shared_data / "crossdocked" / "crossdocked_pocket10"
    with open(raw / "index.pkl", "rb") as handle:
        index = pickle.load(handle)
    index = index[:6] + [("GONE_1/x_pocket10.pdb", "GONE_1/x.sdf", "GONE_1/x_rec.pdb", 0.5),
                         (None, "GONE_2/y.sdf", "GONE_2/y_rec.pdb", 1.0)]
    index_file = tmp_path / "index.pkl"
    with open(index_file, "wb") as handle:
        pickle.dump(index, handle)
    split_pt = tmp_path / "split_by_name.pt"
    torch.save({"train": [tuple(e[:2]) for e in index[:4]] + [("A/absent_pocket10.pdb", "A/absent.sdf")],
                "test": [tuple(e[:2]) for e in index[4:7]]}, split_pt)
    report = CrossDocked(raw, index_file=index_file, split_file=split_pt).process(tmp_path, progress=False, log=None)
    assert report.kept == {"train": 4, "test": 2}
    assert report.dropped == {MISSING_ON_DISK: 1, "split members not in index.pkl": 1}
    missing = [e for e in report.errors if e["reason"] == MISSING_ON_DISK][0]
    assert missing["file"].endswith("GONE_1/x.sdf") and missing["index"] == 6
    ligands, pockets = pairs(tmp_path, "test")
    ligand, pocket = ligands[1], pockets[1]
    assert ligand.props["ligand_fn"] == index[5][1] and pocket.name == index[5][0]


def test_bad_split_file_is_named(tmp_path):
    bad = tmp_path / "list.tsv"
    bad.write_text("a\tb\n")
    with pytest.raises(ValueError, match="list.tsv:1: expected header"):
        load_name_split(bad)
