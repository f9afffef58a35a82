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
