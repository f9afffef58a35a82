"""GEOM raw readers: official-schema fixtures and the shared GEOM-like samples."""

from __future__ import annotations

import json
import pickle

import msgpack
import numpy as np
import pytest
from fixtures_geom import expected_kept_geom_ids, make_drugs_msgpack, make_rdkit_folder
from fixtures_mols import drug_like_smiles

from molgen.data.geom_raw import (
    GeomFormatError,
    iter_msgpack_chunks,
    iter_summary,
    lowest_energy,
    msgpack_molecule,
    read_rdkit_pickle,
    resolve_pickle_path,
)


def test_rdkit_folder_keeps_k_lowest_energy_conformers(tmp_path):
    smiles = drug_like_smiles(3)
    folder = make_rdkit_folder(tmp_path, smiles, num_confs=7)
    summary = dict(iter_summary(folder / "summary_drugs.json"))
    assert list(summary) == smiles
    for s, smi in enumerate(smiles):
        mol = read_rdkit_pickle(resolve_pickle_path(folder, summary[smi]["pickle_path"]), smi, k=5)
        assert [c.meta["geom_id"] for c in mol.conformers] == expected_kept_geom_ids(s, 7, 5)
        assert all(c.rd_mol.GetNumConformers() == 1 for c in mol.conformers)
    every = read_rdkit_pickle(folder / "drugs" / "mol00000.pickle", smiles[0], k=0)
    assert len(every.conformers) == 7


def test_msgpack_stream_matches_rdkit_folder_coordinates(tmp_path):
    smiles = drug_like_smiles(5)
    path = make_drugs_msgpack(tmp_path / "drugs_crude.msgpack", smiles, num_confs=3, per_chunk=2)
    folder = make_rdkit_folder(tmp_path, smiles, num_confs=3)
    chunks = list(iter_msgpack_chunks(path))
    assert [len(c) for c in chunks] == [2, 2, 1]
    for s, (smi, entry) in enumerate(item for chunk in chunks for item in chunk.items()):
        mol = msgpack_molecule(smi, entry, k=2, source=str(path))
        ref = read_rdkit_pickle(folder / "drugs" / f"mol{s:05d}.pickle", smi, k=2)
        assert [c.meta["geom_id"] for c in mol.conformers] == expected_kept_geom_ids(s, 3, 2)
        for got, want in zip(mol.conformers, ref.conformers, strict=True):
            assert got.numbers.tolist() == [a.GetAtomicNum() for a in want.rd_mol.GetAtoms()]
            np.testing.assert_allclose(got.pos, want.rd_mol.GetConformer().GetPositions(), atol=1e-9)


def test_streamed_summary_equals_json_load_for_any_buffer_size(shared_data):
    path = shared_data / "geom_like" / "nff_confgen_geomlike" / "summary.json"
    expected = list(json.loads(path.read_text()).items())
    for chunk in (1, 7, 64, 1 << 20):
        assert list(iter_summary(path, chunk_chars=chunk)) == expected


def test_shared_geomlike_pickles_without_geom_id(shared_data):
    root = shared_data / "geom_like" / "nff_confgen_geomlike"
    summary = dict(iter_summary(root / "summary.json"))
    assert len(summary) == 6
    for smi, entry in summary.items():
        # pickle_path is an absolute path from the authors' machine: resolved by file name under root
        path = resolve_pickle_path(root, entry["pickle_path"])
        mol = read_rdkit_pickle(path, smi, k=5)
        with open(path, "rb") as handle:
            raw = pickle.load(handle)
        assert len(mol.conformers) == min(5, len(raw["conformers"]))
        assert "geom_id" not in mol.conformers[0].meta and "confnum" in mol.conformers[0].meta
        energies = [c.meta["totalenergy"] for c in mol.conformers]
        assert energies == sorted(energies)
        assert min(energies) == pytest.approx(min(c["totalenergy"] for c in raw["conformers"]))


def test_shared_tutorial_msgpack(shared_data):
    path = shared_data / "geom_like" / "tutorial_derived_msgpack" / "drugs_crude_tutorial_1mol_1conf.msgpack"
    (chunk,) = list(iter_msgpack_chunks(path))
    ((smi, entry),) = chunk.items()
    mol = msgpack_molecule(smi, entry, k=5, source=str(path))
    assert smi == "O=C(/C=C/c1ccco1)Nc1ccc(Cl)c(S(=O)(=O)N2CCOCC2)c1"
    (conf,) = mol.conformers
    assert conf.meta["geom_id"] == 119926532
    assert conf.numbers.shape == (43,) and conf.pos.shape == (43, 3)
    # C17H17ClN2O5S: 17 C, 17 H, 1 Cl, 2 N, 5 O, 1 S
    counts = dict(zip(*np.unique(conf.numbers, return_counts=True), strict=True))
    assert counts == {1: 17, 6: 17, 7: 2, 8: 5, 16: 1, 17: 1}


def test_bad_inputs_name_the_file_and_molecule(tmp_path):
    with pytest.raises(GeomFormatError, match="neither 'totalenergy'"):
        lowest_energy([{"xyz": []}], 5, "f.msgpack (CCO)")
    bad = tmp_path / "summary_drugs.json"
    for text, message in [("{not json", "invalid JSON"), ("[1]", "expected a JSON object"),
                          ('{"CCO": 5}', "entry for 'CCO' is not an object"), ('{"CCO": {}', "invalid JSON")]:
        bad.write_text(text)
        with pytest.raises(GeomFormatError, match=f"summary_drugs.json: {message}"):
            list(iter_summary(bad))
    with pytest.raises(FileNotFoundError, match="drugs/missing.pickle"):
        resolve_pickle_path(tmp_path, "drugs/missing.pickle")
    broken = tmp_path / "broken.pickle"
    broken.write_bytes(b"not a pickle")
    with pytest.raises(GeomFormatError, match="broken.pickle"):
        read_rdkit_pickle(broken, "CCO", 5)
    entry = {"conformers": [{"xyz": [[6, 0, 0]], "totalenergy": 1.0}]}
    with pytest.raises(GeomFormatError, match=r"x\.msgpack \(C\)"):
        msgpack_molecule("C", entry, 5, "x.msgpack")
    stream = tmp_path / "list.msgpack"
    stream.write_bytes(msgpack.packb([1, 2]))
    with pytest.raises(GeomFormatError, match="object 0 is a list"):
        list(iter_msgpack_chunks(stream))
