"""SMILES -> 3D conformers: real SMILES in small files; stored geometry checked against RDKit's own MMFF
conformers, every failure listed with line and reason, a killed build resumes to the uninterrupted result."""

from __future__ import annotations

import csv
import gzip

import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem import AllChem

import molgen.data.moses as moses_mod
from molgen.chem.featurize import reconstruct_mol
from molgen.cli import main
from molgen.data.smiles import SmilesConformers, build_smiles, embed_conformers, molecule_seed, parse_smiles
from molgen.data.smiles_raw import iter_smiles_rows
from molgen.data.store import MolStore
from molgen.data.template import processed_dir
from molgen.errors import MolgenInputError

GOOD = {  # drug-like molecules with S, Cl, Br, F, a charge and stereo
    "aspirin": "CC(=O)Oc1ccccc1C(=O)O",
    "paracetamol": "CC(=O)Nc1ccc(O)cc1",
    "sulfamethoxazole": "Cc1cc(NS(=O)(=O)c2ccc(N)cc2)no1",
    "bromhexine_core": "CN(C1CCCCC1)Cc1cc(Br)cc(Br)c1N",
    "chlorzoxazone": "O=c1[nH]c2cc(Cl)ccc2o1",
    "fluoxetine": "CN[C@@H](CCOc1ccc(C(F)(F)F)cc1)c1ccccc1",
    "choline": "C[N+](C)(C)CCO",
}
BAD = {  # SMILES -> expected failure reason
    "C1CC": "unparsable SMILES",
    "C[Se]C": "disallowed element",
    "OB(O)c1ccccc1": "MMFF setup failed",
    "C1#CCCC1": "embedding failed",
    "CCO.Cl": "disconnected",
}
STORES = ("train", "val", "test")


def _write_smi(path, entries):
    path.write_text("".join(f"{s} {name}\n" for name, s in entries))
    return path


def _stored(root, name):
    return {g.name: g for s in STORES for g in MolStore(processed_dir(name, root) / s)}


def _files(root, name):
    folder = processed_dir(name, root)
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*.bin"))}


def test_reader_detects_headers_columns_and_lines(tmp_path):
    smi = tmp_path / "a.smi"
    smi.write_text("# my set\n\nCCO ethanol\nc1ccccc1 benzene ring\n")
    assert [(r.line, r.smiles, r.name) for r in iter_smiles_rows(str(smi))] == [
        (3, "CCO", "ethanol"), (4, "c1ccccc1", "benzene ring")]
    table = tmp_path / "b.csv.gz"
    with gzip.open(table, "wt") as handle:
        handle.write("ID,logP,SMILES\nm1,1.5,CCN\nm2,,CCC\n")
    rows = list(iter_smiles_rows(str(table)))
    assert [(r.line, r.smiles, r.name, r.props) for r in rows] == [(2, "CCN", "m1", {"logP": 1.5}),
                                                                   (3, "CCC", "m2", {})]
    unnamed = tmp_path / "c.tsv"
    unnamed.write_text("molecule\tvalue\nCCO\t3\n")  # header found because 'molecule' is no SMILES but 'CCO' is
    assert [(r.smiles, r.props) for r in iter_smiles_rows(str(unnamed))] == [("CCO", {"value": 3.0})]
    broken = tmp_path / "d.csv"
    broken.write_text("name,smiles\nx,CCO\ny\n")
    with pytest.raises(MolgenInputError, match=r"d.csv, line 3: no SMILES in field 'smiles'"):
        list(iter_smiles_rows(str(broken)))


def test_conformers_are_rdkit_mmff_minima_and_failures_are_listed(tmp_path):
    smi = _write_smi(tmp_path / "set.smi", [*GOOD.items(), *((f"bad{k}", s) for k, s in enumerate(BAD))])
    report = build_smiles(smi, "mine", tmp_path, progress=False, log=None)
    assert report.total_kept == len(GOOD)
    stored = _stored(tmp_path, "mine")
    assert sorted(stored) == sorted(GOOD)
    for name, smiles in GOOD.items():
        graph = stored[name]
        ref, confs = embed_conformers(parse_smiles(smiles), 1, molecule_seed(0, smiles), smiles)
        ref_pos = ref.GetConformer(confs[0][0]).GetPositions()
        stored_atoms = [a.GetAtomicNum() for a in reconstruct_mol(graph, sanitize=False).mol.GetAtoms()]
        assert [a.GetAtomicNum() for a in ref.GetAtoms()] == stored_atoms
        pos = graph.pos.double().numpy()
        i, j = graph.bond_index.numpy()
        lengths, ref_lengths = np.linalg.norm(pos[i] - pos[j], axis=1), np.linalg.norm(ref_pos[i] - ref_pos[j], axis=1)
        np.testing.assert_allclose(lengths, ref_lengths, atol=1e-4)  # the stored conformer is RDKit's, float32
        assert 0.9 < lengths.min() and lengths.max() < 2.0  # covalent bonds (C-Br ~1.9 A)
        mol = reconstruct_mol(graph).mol  # the stored molecule, re-read: an MMFF minimum at its own coordinates
        props = AllChem.MMFFGetMoleculeProperties(mol)
        ff = AllChem.MMFFGetMoleculeForceField(mol, props)
        before = ff.CalcEnergy()
        ff.Minimize(maxIts=2000)
        assert before - ff.CalcEnergy() < 0.05
        assert abs(before - graph.props["mmff_energy"]) < 0.05
        Chem.AssignStereochemistryFrom3D(mol)  # the SMILES' stereocentre is kept in 3D
        assert Chem.MolToSmiles(Chem.RemoveHs(mol)) == Chem.MolToSmiles(Chem.MolFromSmiles(smiles))
    lines = {e["index"]: e for e in report.errors}
    assert {k: e["reason"] for k, e in lines.items()} == {len(GOOD) + 1 + k: r for k, r in enumerate(BAD.values())}
    with open(processed_dir("mine", tmp_path) / "failures.tsv") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert [(int(r["line"]), r["reason"]) for r in rows] == [(k, e["reason"]) for k, e in sorted(lines.items())]
    assert all(r["file"] == str(smi) and s in r["detail"] for r, s in zip(rows, BAD, strict=True))


def test_heavy_atoms_kekule_and_conformers_per_molecule(tmp_path):
    entries = list(GOOD.items())[:3]
    smi = _write_smi(tmp_path / "set.smi", entries)
    build_smiles(smi, "full", tmp_path, conformers=2, progress=False, log=None)
    build_smiles(smi, "noh", tmp_path, conformers=2, remove_hs=True, progress=False, log=None)
    full = [g for s in STORES for g in MolStore(processed_dir("full", tmp_path) / s)]
    noh = [g for s in STORES for g in MolStore(processed_dir("noh", tmp_path) / s)]
    assert sorted((g.name, g.props["conformer"]) for g in full) == sorted(
        (name, k) for name, _ in entries for k in range(2))
    for a, b in zip(full, noh, strict=True):
        heavy = a.atom_types != 0
        assert (b.atom_types != 0).all() and b.num_atoms == int(heavy.sum())
        assert np.array_equal(a.pos[heavy].numpy(), b.pos.numpy()) and a.smiles == b.smiles
        assert set(b.bond_types.tolist()) <= {1, 2, 3}  # Kekulé
    first = [g for g in full if g.props["conformer"] == 0]
    second = {g.name: g for g in full if g.props["conformer"] == 1}
    assert all(not np.allclose(g.pos.numpy(), second[g.name].pos.numpy(), atol=1e-2) for g in first)


def test_same_seed_same_store_any_workers_other_seed_other_conformers(tmp_path):
    smi = _write_smi(tmp_path / "set.smi", list(GOOD.items())[:4])
    build_smiles(smi, "a", tmp_path, shard_size=2, progress=False, log=None)
    build_smiles(smi, "b", tmp_path, shard_size=3, workers=2, progress=False, log=None)
    build_smiles(smi, "c", tmp_path, shard_size=2, seed=7, progress=False, log=None)
    assert _files(tmp_path, "a") == _files(tmp_path, "b")
    a, c = _stored(tmp_path, "a"), _stored(tmp_path, "c")
    assert any(not np.allclose(a[k].pos.numpy(), c[k].pos.numpy(), atol=1e-2) for k in a)


def test_killed_build_resumes_to_the_uninterrupted_store(tmp_path, monkeypatch):
    entries = [*list(GOOD.items())[:5], ("bad", "C1CC")]
    smi = _write_smi(tmp_path / "set.smi", entries)
    build_smiles(smi, "ds", tmp_path / "ref", shard_size=2, progress=False, log=None)
    calls = []
    original = SmilesConformers.convert_record

    def dies_in_third_shard(self, record):
        calls.append(record.index)
        if len(calls) == 5:
            raise KeyboardInterrupt  # as a Ctrl-C / kill in the middle of shard 3
        return original(self, record)

    monkeypatch.setattr(SmilesConformers, "convert_record", dies_in_third_shard)
    with pytest.raises(KeyboardInterrupt):
        build_smiles(smi, "ds", tmp_path / "run", shard_size=2, progress=False, log=None)
    work = processed_dir("ds", tmp_path / "run").parent / ".ds.work" / "shards"
    assert sorted(p.name for p in work.iterdir()) == ["000000", "000001"]
    assert not processed_dir("ds", tmp_path / "run").exists()
    calls.clear()
    monkeypatch.setattr(SmilesConformers, "convert_record", lambda self, record: calls.append(record.index)
                        or original(self, record))
    report = build_smiles(smi, "ds", tmp_path / "run", shard_size=2, progress=False, log=None)
    assert calls == [5, 6]  # only the unfinished shard is redone
    assert _files(tmp_path / "run", "ds") == _files(tmp_path / "ref", "ds")
    assert [(e["index"], e["reason"]) for e in report.errors] == [(6, "unparsable SMILES")]
    calls.clear()
    monkeypatch.setattr(SmilesConformers, "convert_record", dies_in_third_shard)
    with pytest.raises(KeyboardInterrupt):
        build_smiles(smi, "ds2", tmp_path / "run", shard_size=2, progress=False, log=None)
    with pytest.raises(MolgenInputError, match="other settings"):  # resuming with another seed is refused
        build_smiles(smi, "ds2", tmp_path / "run", shard_size=2, seed=1, progress=False, log=None)

def test_cli_builds_lists_failures_and_moses_absent_is_one_line(tmp_path, monkeypatch, capsys):
    smi = _write_smi(tmp_path / "set.smi", [("aspirin", GOOD["aspirin"]), ("bad", "C[Se]C")])
    assert main(["data", "smiles", "--smi", str(smi), "--name", "cli", "--root", str(tmp_path), "--remove-hs",
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert f"dropped       1  disallowed element  (first: {smi}:2, Se in C[Se]C)" in out and "failures.tsv" in out
    assert len(_stored(tmp_path, "cli")["aspirin"].atom_types) == 13
    monkeypatch.setattr(moses_mod.importlib.util, "find_spec", lambda name: None)
    assert main(["data", "moses", "--limit", "2", "--root", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pip install --no-deps molsets" in err[0]


def test_moses_builds_from_the_installed_package(tmp_path):
    from molgen.data.moses import build_moses, moses_file

    try:
        path = moses_file("train")
    except MolgenInputError:
        pytest.skip("the optional molsets package (pip install --no-deps molsets) is not installed")
    report = build_moses("train", tmp_path, limit=3, remove_hs=True, progress=False, log=None)
    assert report.name == "moses_noh" and report.total_kept == 3
    with gzip.open(path, "rt") as handle:
        assert next(handle).strip() == "SMILES"
        expected = [Chem.CanonSmiles(next(handle).strip()) for _ in range(3)]
    stored = _stored(tmp_path, "moses_noh")
    assert sorted(Chem.CanonSmiles(g.props["input_smiles"]) for g in stored.values()) == sorted(expected)


def test_pubchem_compounds_as_smiles_match_their_pubchem_3d_records(shared_data, tmp_path):
    """The 10 real PubChem3D records' molecules, written as a named .smi (SMILES from the records): the stored
    molecules are PubChem's: same heavy-atom count, canonical SMILES, and stereo read back from the 3D conformer."""
    from molgen.chem.hydrogens import add_hydrogens
    from molgen.chem.sdf_records import iter_sdf_mols

    records = {}
    for path in sorted((shared_data / "pubchem3d").glob("*.sdf")):
        ((_, mol),) = list(iter_sdf_mols(path))
        records[f"CID{mol.GetProp('PUBCHEM_COMPOUND_CID')}"] = mol
    assert len(records) == 10
    smi = _write_smi(tmp_path / "pubchem.smi", [(k, Chem.MolToSmiles(Chem.RemoveHs(m))) for k, m in records.items()])
    report = build_smiles(smi, "pubchem_smiles", tmp_path, remove_hs=True, progress=False, log=None)
    stored = _stored(tmp_path, "pubchem_smiles")
    assert report.total_kept == 10 and not report.errors and sorted(stored) == sorted(records)
    for name, graph in stored.items():
        pubchem = records[name]
        assert graph.num_atoms == int(pubchem.GetProp("PUBCHEM_HEAVY_ATOM_COUNT"))
        assert Chem.CanonSmiles(graph.props["input_smiles"]) == Chem.MolToSmiles(Chem.RemoveHs(pubchem))
        full, error = add_hydrogens(graph)  # heavy atoms stored; hydrogens implied, as a heavy-atom model writes
        assert error is None
        mol = Chem.RemoveHs(reconstruct_mol(full).mol)  # the conformer keeps every stereocentre of the record
        Chem.AssignStereochemistryFrom3D(mol)
        assert Chem.MolToSmiles(mol) == Chem.MolToSmiles(Chem.RemoveHs(pubchem)), name


def test_smiles_builds_a_slice_of_the_real_moses_csv(tmp_path):
    """The first 12 lines of the installed MOSES test_scaffolds.csv.gz, in its own format (gzip CSV, 'SMILES'
    header), through the CLI with 2 workers."""
    from molgen.data.moses import moses_file

    try:
        path = moses_file("test_scaffolds")
    except MolgenInputError:
        pytest.skip("the optional molsets package (pip install --no-deps molsets) is not installed")
    with gzip.open(path, "rt") as handle:
        lines = [next(handle) for _ in range(13)]
    part = tmp_path / "moses_slice.csv.gz"
    with gzip.open(part, "wt") as handle:
        handle.write("".join(lines))
    assert main(["data", "smiles", "--smi", str(part), "--name", "slice", "--root", str(tmp_path), "--remove-hs",
                 "--workers", "2", "--no-progress"]) == 0
    stored = _stored(tmp_path, "slice")
    assert len(stored) == 12
    expected = sorted(Chem.CanonSmiles(s.strip()) for s in lines[1:])
    assert sorted(Chem.CanonSmiles(g.props["input_smiles"]) for g in stored.values()) == expected
    assert all(12 <= g.num_atoms <= 30 and set(g.bond_types.tolist()) <= {1, 2, 3} for g in stored.values())
