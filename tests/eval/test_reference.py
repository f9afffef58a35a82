"""References: a processed dataset's training split (through the data layer), an SDF, a SMILES file."""

from __future__ import annotations

import pytest
from rdkit import Chem
from rdkit.Chem import AllChem

from molgen.eval import evaluate_molecules
from molgen.eval.geometry import geometry_samples
from molgen.eval.reference import build_reference
from molgen.eval.registry import resolve_metrics


def embedded(smiles: str) -> Chem.Mol:
    mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
    AllChem.EmbedMolecule(mol, randomSeed=3)
    return mol


def test_processed_dataset_reference(tmp_path):
    featurize = pytest.importorskip("molgen.chem.featurize")
    store = pytest.importorskip("molgen.data.store")
    train = tmp_path / "processed" / "toy" / "train"
    train.parent.mkdir(parents=True)
    originals = [embedded(s) for s in ["CCO", "c1ccccc1", "CC(=O)O"]]
    with store.StoreWriter(train) as writer:
        for mol in originals:
            writer.append(featurize.featurize_mol(mol))
    samples = [embedded("OCC"), embedded("CCN")]
    out = evaluate_molecules(samples, "validity", reference="toy", data_root=tmp_path)
    assert out["validity/novelty"] == pytest.approx(1 / 2)  # ethanol is in the training split, ethylamine is not
    # the reference molecules rebuilt from the store keep their coordinates (bond lengths as in the originals)
    ref = build_reference("toy", resolve_metrics("geometry"), root=tmp_path)
    expected = sorted(v for m in originals for _, v in geometry_samples(m)["bonds"])
    got = sorted(v for r in ref.rows for _, v in r["_geometry"]["bonds"])
    assert got == pytest.approx(expected, abs=1e-4)


def test_sdf_reference_has_geometry_smiles_reference_does_not(tmp_path):
    sdf = tmp_path / "ref.sdf"
    with Chem.SDWriter(str(sdf)) as writer:
        for s in ["CCO", "CCCO"]:
            writer.write(embedded(s))
    smi = tmp_path / "ref.smi"
    smi.write_text("CCO\nCCCO\n")
    groups = resolve_metrics("validity,geometry")
    from_sdf, from_smi = build_reference(sdf, groups), build_reference(smi, groups)
    assert from_sdf.smiles == from_smi.smiles == {"CCO", "CCCO"}
    assert from_sdf.has_geometry and not from_smi.has_geometry


def test_unknown_reference_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.sdf"):
        evaluate_molecules([embedded("C")], "validity", reference=tmp_path / "nothere.sdf")
    with pytest.raises(FileNotFoundError, match="molgen data"):
        evaluate_molecules([embedded("C")], "validity", reference="nodataset", data_root=tmp_path)


def test_smiles_and_csv_references_list_bad_lines(tmp_path):
    from molgen.eval.reading import read_molecules

    smi = tmp_path / "ref.smi"
    smi.write_text("# comment\nCCO ethanol\nC1CC x\n\nc1ccccc1\n")
    read = read_molecules(smi)
    assert [Chem.MolToSmiles(m) for m in read.mols] == ["CCO", "c1ccccc1"]
    assert read.names == ["ethanol", ""]
    assert [(b.index, b.reason) for b in read.bad] == [(2, "line 3: invalid SMILES 'C1CC'")]
    csv_file = tmp_path / "ref.csv"
    csv_file.write_text("id,SMILES,name\n1,CCN,ethylamine\n2,not-smiles,x\n")
    read = read_molecules(csv_file)
    assert [Chem.MolToSmiles(m) for m in read.mols] == ["CCN"] and read.names == ["ethylamine"]
    assert [b.index for b in read.bad] == [2]
    (tmp_path / "bad.csv").write_text("id,formula\n1,CH4\n")
    with pytest.raises(ValueError, match="no 'smiles' column"):
        read_molecules(tmp_path / "bad.csv")


def test_reference_qm9_is_the_processed_training_split(shared_data, tmp_path):
    """``--reference qm9`` end to end: process the real gdb9 sample with the data layer, evaluate against it."""
    qm9 = pytest.importorskip("molgen.data.qm9")
    from molgen.chem.sanitize import canonical_smiles, sanitized_copy
    from molgen.data.template import ProcessedDataset
    from molgen.eval.reading import read_sdf

    raw = tmp_path / "raw"
    raw.mkdir()
    sample = shared_data / "qm9" / "gdb9_first100"
    for src in (sample / "gdb9.sdf", sample / "gdb9.sdf.csv", shared_data / "qm9" / "aux" / "uncharacterized.txt"):
        (raw / src.name).symlink_to(src)
    qm9.prepare_qm9("tg", raw, root=tmp_path, progress=False)

    train = ProcessedDataset(tmp_path, "qm9", "train")
    train_names = {train[i].name for i in range(len(train))}
    read = read_sdf(sample / "gdb9.sdf")
    out = evaluate_molecules(read.mols, "validity", reference="qm9", data_root=tmp_path)
    # independent expectation: distinct valid SMILES of the records that did not land in the training split
    smiles_by_name = {}
    for mol, name in zip(read.mols, read.names, strict=True):
        clean = sanitized_copy(mol)
        if clean is not None:
            smiles_by_name[name] = canonical_smiles(clean)
    # the reference holds the processed molecules: the five records whose charges or radicals contradict their
    # own hydrogens (gdb_23, 24, 45, 76, 89) are stored re-derived, so as read here they are novel against it
    train_smiles = {train[i].smiles for i in range(len(train))}
    assert train_smiles != {s for n, s in smiles_by_name.items() if n in train_names}
    unique = set(smiles_by_name.values())
    assert 0 < len(train_names) < len(read.mols)
    assert out["validity/novelty"] == pytest.approx(len(unique - train_smiles) / len(unique))


def test_the_users_qm9_noh_reference_names_the_command_that_builds_it(tmp_path, capsys):
    """`molgen evaluate samples.sdf --reference qm9_noh` before the dataset exists: one line, exit 2, with the
    exact `molgen data` command (issue #20, item 6), and no output folder."""
    from molgen.cli.evaluate import main

    sdf = tmp_path / "samples.sdf"
    with Chem.SDWriter(str(sdf)) as writer:
        writer.write(embedded("CCO"))
    out = tmp_path / "eval"
    code = main([str(sdf), "--reference", "qm9_noh", "--data-root", str(tmp_path / "data"), "--out", str(out),
                 "--metrics", "basic", "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert "--reference qm9_noh" in err[0] and "`molgen data qm9 --source qm9pack --remove-hs`" in err[0]
    assert not out.exists()
