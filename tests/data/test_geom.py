"""GEOM-Drugs processing: both releases, K conformers, molecule-level split, resume, memory, bad records."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import msgpack
import numpy as np
import pytest
from fixtures_geom import expected_kept_geom_ids, make_drugs_msgpack, make_rdkit_folder
from fixtures_mols import drug_like_smiles
from torch.utils.data import DataLoader

from molgen.chem.molgraph import MolBatch
from molgen.data.geom import GeomDrugs
from molgen.data.batching import SizeBucketSampler
from molgen.data.stats import DatasetStatistics, compute_statistics
from molgen.data.store import MolStore
from molgen.data.template import ProcessedDataset, collate, processed_dir

ROOT = Path(__file__).resolve().parents[2]


def _contents(root: Path, name: str) -> dict[str, list[tuple]]:
    out = {}
    for split in ("train", "val", "test"):
        store = MolStore(processed_dir(name, root) / split)
        out[split] = [(g.name, g.props["source_smiles"], g.atom_types.tolist(),
                       sorted(zip(*g.bond_index.tolist(), g.bond_types.tolist(), strict=True)),
                       g.pos.numpy().round(4).tolist()) for g in store]
    return out


@pytest.fixture(scope="module")
def geom_raw(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("geom")
    smiles = drug_like_smiles(24)
    return smiles, make_rdkit_folder(tmp, smiles, 7), make_drugs_msgpack(tmp / "drugs_crude.msgpack", smiles, 7)


def test_rdkit_folder_keeps_five_lowest_and_splits_by_molecule(geom_raw, tmp_path):
    smiles, folder, _ = geom_raw
    report = GeomDrugs(folder, shard_size=5).process(tmp_path, progress=False, log=None)
    assert report.total_kept == 24 * 5 and report.total_dropped == 0
    contents = _contents(tmp_path, "geom_drugs")
    split_of = {}
    for split, items in contents.items():
        for _, smi, *_ in items:
            assert split_of.setdefault(smi, split) == split  # no SMILES crosses splits
    assert sorted(split_of) == sorted(smiles)
    assert {s: sum(v == s for v in split_of.values()) for s in contents}["train"] >= 12
    kept = {}
    for items in contents.values():
        for name, smi, *_ in items:
            kept.setdefault(smi, []).append(int(name.split(":")[1]))
    for s, smi in enumerate(smiles):
        assert kept[smi] == expected_kept_geom_ids(s, 7, 5)
    stats = DatasetStatistics.load(processed_dir("geom_drugs", tmp_path) / "statistics.json")
    assert stats == compute_statistics(MolStore(processed_dir("geom_drugs", tmp_path) / "train"))
    train = ProcessedDataset(tmp_path, "geom_drugs", "train")
    batch = next(iter(DataLoader(train, batch_size=8, collate_fn=collate)))
    assert isinstance(batch, MolBatch) and batch.num_graphs == 8
    sampler = SizeBucketSampler(train.store.num_atoms(), max_atoms_per_batch=150)
    batches = list(DataLoader(train, batch_sampler=sampler, collate_fn=collate))
    assert sum(b.num_graphs for b in batches) == len(train)
    assert all(int(b.num_atoms.sum()) <= 150 for b in batches)


def test_msgpack_release_gives_the_same_molecules(geom_raw, tmp_path):
    _, folder, msgpack_path = geom_raw
    GeomDrugs(folder, shard_size=5).process(tmp_path, progress=False, log=None)
    GeomDrugs(msgpack_path, shard_size=5, name="geom_msgpack").process(tmp_path, progress=False, log=None)
    a, b = _contents(tmp_path, "geom_drugs"), _contents(tmp_path, "geom_msgpack")
    for split in a:  # perceived bonds (checked against SMILES) equal the RDKit molecules' bonds
        assert [x[:4] for x in a[split]] == [x[:4] for x in b[split]]
        for x, y in zip(a[split], b[split], strict=True):
            np.testing.assert_allclose(x[4], y[4], atol=1e-3)


def test_interrupted_run_resumes_to_identical_output(geom_raw, tmp_path, monkeypatch):
    _, folder, _ = geom_raw
    GeomDrugs(folder, shard_size=4).process(tmp_path / "ref", progress=False, log=None)
    calls = {"n": 0}
    original = GeomDrugs.convert

    def crash_after_three_shards(self, record):
        calls["n"] += 1
        if calls["n"] > 3 * 4 * 5:  # 3 shards x 4 molecules x 5 conformers
            raise KeyboardInterrupt("simulated kill")
        return original(self, record)

    monkeypatch.setattr(GeomDrugs, "convert", crash_after_three_shards)
    with pytest.raises(KeyboardInterrupt):
        GeomDrugs(folder, shard_size=4).process(tmp_path / "run", progress=False, log=None)
    work = processed_dir("geom_drugs", tmp_path / "run").parent / ".geom_drugs.work" / "shards"
    assert sorted(p.name for p in work.iterdir()) == ["000000", "000001", "000002"]
    monkeypatch.setattr(GeomDrugs, "convert", original)
    GeomDrugs(folder, shard_size=4).process(tmp_path / "run", progress=False, log=None)
    assert _contents(tmp_path / "run", "geom_drugs") == _contents(tmp_path / "ref", "geom_drugs")
    assert not work.parent.exists()  # work folder removed once merged


_CHILD = """
import sys, time
from molgen.data.geom import GeomDrugs
from molgen.data.batching import SizeBucketSampler
original = GeomDrugs.convert
def slow(self, record):
    time.sleep(0.02)
    return original(self, record)
GeomDrugs.convert = slow
GeomDrugs(sys.argv[1], shard_size=3).process(sys.argv[2], progress=False, log=None)
"""


def test_killed_subprocess_resumes_without_loss_or_duplicates(geom_raw, tmp_path):
    _, folder, _ = geom_raw
    GeomDrugs(folder, shard_size=3).process(tmp_path / "ref", progress=False, log=None)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(folder), str(tmp_path / "run")], env=env)
    shards = processed_dir("geom_drugs", tmp_path / "run").parent / ".geom_drugs.work" / "shards"
    deadline = time.time() + 120
    while len(list(shards.glob("*/manifest.json"))) < 2 and time.time() < deadline and child.poll() is None:
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait()
    finished = len(list(shards.glob("*/manifest.json")))
    assert 2 <= finished < 8, "the child should have been killed mid-run"
    GeomDrugs(folder, shard_size=3).process(tmp_path / "run", progress=False, log=None)
    assert _contents(tmp_path / "run", "geom_drugs") == _contents(tmp_path / "ref", "geom_drugs")


def test_parallel_workers_match_serial(geom_raw, tmp_path):
    _, folder, _ = geom_raw
    GeomDrugs(folder, shard_size=5).process(tmp_path / "serial", progress=False, log=None)
    GeomDrugs(folder, shard_size=5).process(tmp_path / "parallel", workers=2, progress=False, log=None)
    assert _contents(tmp_path / "parallel", "geom_drugs") == _contents(tmp_path / "serial", "geom_drugs")


_PEAK_SCRIPT = """
import sys, tracemalloc
from pathlib import Path
from molgen.data.geom import GeomDrugs
folder, warmup, root = map(Path, sys.argv[1:])
GeomDrugs(folder, shard_size=10, conformers=1).process(warmup, progress=False, log=None)  # first-use caches
tracemalloc.start()
GeomDrugs(folder, shard_size=10, conformers=1).process(root, progress=False, log=None)
print(tracemalloc.get_traced_memory()[1])
"""


def _peak_bytes(folder: Path, root: Path) -> int:
    """Peak Python memory of processing ``folder``, in a fresh interpreter: tracemalloc counts every thread,
    so threads other tests left running in this process must not be measured with it."""
    done = subprocess.run([sys.executable, "-c", _PEAK_SCRIPT, str(folder), str(root.with_name(root.name + "_w")),
                           str(root)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr
    return int(done.stdout.split()[-1])


def test_peak_memory_does_not_grow_with_dataset_size(tmp_path):
    small = make_rdkit_folder(tmp_path / "small", drug_like_smiles(20), 1)
    large = make_rdkit_folder(tmp_path / "large", drug_like_smiles(80), 1)
    peak_small = _peak_bytes(small, tmp_path / "a")
    peak_large = _peak_bytes(large, tmp_path / "b")
    sizes = [sum(len(MolStore(processed_dir("geom_drugs", tmp_path / r) / s)) for s in ("train", "val", "test"))
             for r in ("a", "b")]
    assert sizes == [20, 80]
    # 4x the molecules, < 10% more peak Python memory (only per-shard bookkeeping grows)
    assert peak_large < 1.1 * peak_small, (peak_small, peak_large)


def test_bad_records_are_reported_and_do_not_stop_the_run(tmp_path):
    smiles = drug_like_smiles(6)
    folder = make_rdkit_folder(tmp_path, smiles, 3)
    (folder / "drugs" / "mol00001.pickle").write_bytes(b"\x80corrupt")
    with open(folder / "drugs" / "mol00002.pickle", "rb") as handle:
        record = pickle.load(handle)
    for conf in record["conformers"]:
        del conf["rd_mol"]
    with open(folder / "drugs" / "mol00002.pickle", "wb") as handle:
        pickle.dump(record, handle)
    summary = json.loads((folder / "summary_drugs.json").read_text())
    summary["C[Se]C"] = {"pickle_path": "drugs/absent.pickle"}
    (folder / "summary_drugs.json").write_text(json.dumps(summary))
    report = GeomDrugs(folder, shard_size=2).process(tmp_path, progress=False, log=None)
    assert report.total_kept == 4 * 3  # 6 molecules, 2 unreadable pickles, 1 missing pickle (C[Se]C)
    by_index = {e["index"]: e for e in report.errors}
    assert set(by_index) == {1, 2, 6}
    assert "mol00001.pickle" in by_index[1]["detail"] and by_index[1]["reason"] == "unreadable GEOM pickle"
    assert "without 'rd_mol'" in by_index[2]["detail"]
    assert "absent.pickle" in by_index[6]["detail"]


def test_user_split_file_and_max_atoms(geom_raw, tmp_path):
    smiles, folder, _ = geom_raw
    split_file = tmp_path / "split.json"
    split_file.write_text(json.dumps({"train": smiles[:10], "val": smiles[10:12], "test": smiles[12:14]}))
    GeomDrugs(folder, split_file=split_file).process(tmp_path, progress=False, log=None)
    contents = _contents(tmp_path, "geom_drugs")
    assert {x[1] for x in contents["val"]} == set(smiles[10:12])
    assert len(contents["train"]) == 50 and len(contents["test"]) == 10
    report = json.loads((processed_dir("geom_drugs", tmp_path) / "report.json").read_text())
    assert report["dropped"] == {"molecule not in split file": 10}  # one record per unlisted molecule
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"train": [smiles[0]], "test": [smiles[0]]}))
    with pytest.raises(ValueError, match="in both 'train' and 'test'"):
        GeomDrugs(folder, split_file=bad)
    capped = GeomDrugs(folder, max_atoms=25, name="capped").process(tmp_path, progress=False, log=None)
    sizes = [g.num_atoms for s in ("train", "val", "test") for g in MolStore(processed_dir("capped", tmp_path) / s)]
    assert max(sizes) <= 25 and capped.dropped["more atoms than max_atoms"] > 0


def test_shared_geomlike_samples(shared_data, tmp_path):
    root = shared_data / "geom_like"
    report = GeomDrugs(root / "nff_confgen_geomlike", summary_name="summary.json").process(
        tmp_path, progress=False, log=None)
    # 6 molecules; 4 have 2 conformers, 2 have >= 5 (kept: 5)
    assert report.total_kept == 4 * 2 + 2 * 5 and report.total_dropped == 0
    msgpack_file = root / "tutorial_derived_msgpack" / "drugs_crude_tutorial_1mol_1conf.msgpack"
    report = GeomDrugs(msgpack_file, name="tutorial").process(tmp_path, progress=False, log=None)
    assert report.total_kept == 1
    (graph,) = [g for s in ("train", "val", "test") for g in MolStore(processed_dir("tutorial", tmp_path) / s)]
    assert graph.name == "geom:119926532" and graph.num_atoms == 43
    assert graph.smiles == "O=C(C=Cc1ccco1)Nc1ccc(Cl)c(S(=O)(=O)N2CCOCC2)c1"


def test_msgpack_conformer_contradicting_its_smiles_is_rejected(tmp_path):
    smiles = drug_like_smiles(3)
    path = make_drugs_msgpack(tmp_path / "drugs_crude.msgpack", smiles, 2, per_chunk=3)
    with open(path, "rb") as handle:
        (chunk,) = list(msgpack.Unpacker(handle, raw=False))
    chunk["CCO"] = chunk.pop(smiles[1])  # coordinates of molecule 1 filed under another SMILES
    path.write_bytes(msgpack.packb(chunk, use_bin_type=True))
    report = GeomDrugs(path, conformers=2).process(tmp_path, progress=False, log=None)
    assert report.total_kept == 4
    assert report.dropped == {"perceived bonds disagree with reference SMILES/InChI": 2}
    assert all(e["file"] == str(path) and e["index"] == 2 and "CCO" in e["detail"] for e in report.errors)


def test_empty_summary_is_a_clear_error(tmp_path):
    (tmp_path / "summary_drugs.json").write_text("{}")
    with pytest.raises(ValueError, match="geom_drugs: the raw input holds no records"):
        GeomDrugs(tmp_path).process(tmp_path / "out", progress=False, log=None)
