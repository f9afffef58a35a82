"""The dataset template: process() output layout, counts, strictness, caching, parallel determinism."""

from __future__ import annotations

import filecmp
import json
from typing import ClassVar

import pytest
import torch
from torch.utils.data import DataLoader

from molgen.chem.molgraph import MolBatch, MolGraph
from molgen.chem.records import BadRecordError, RecordError
from molgen.data.splits import hash_split, permutation_split
from molgen.data.stats import DatasetStatistics
from molgen.data.template import DatasetBuilder, ProcessedDataset, RawRecord, collate, data_root, processed_dir


def chain(k: int) -> MolGraph:
    n = k % 4 + 2
    return MolGraph(
        pos=torch.arange(3 * n, dtype=torch.float32).reshape(n, 3) * (k + 1) / 10,
        atom_types=torch.full((n,), 2),
        charges=torch.zeros(n, dtype=torch.long),
        bond_index=torch.stack([torch.arange(n - 1), torch.arange(1, n)]),
        bond_types=torch.ones(n - 1, dtype=torch.long),
        name=f"chain_{k}",
        props={"k": k},
    )


class ChainBuilder(DatasetBuilder):
    """20 records; every 7th is bad (a RecordError), every 5th raises ValueError; k % 3 picks the split."""

    name: ClassVar[str] = "chains"

    def __init__(self, count: int = 20):
        self.count = count

    def signature(self):
        return {"count": self.count}

    def iter_raw(self):
        for k in range(self.count):
            yield RawRecord("chains.txt", k, k)

    def convert(self, record):
        k = record.payload
        if k % 7 == 6:
            return RecordError(record.file, record.index, "seventh record")
        if k % 5 == 4:
            raise ValueError(f"bad value {k}")
        return chain(k)

    def split_of(self, graph):
        return ("train", "val", "test")[graph.props["k"] % 3]


def test_process_writes_stores_statistics_and_report(tmp_path, capsys):
    report = ChainBuilder().process(tmp_path, progress=False)
    out = tmp_path / "processed" / "chains"
    assert sorted(p.name for p in out.iterdir()) == ["report.json", "statistics.json", "test", "train", "val"]
    # bad: k in {6, 13} (RecordError) and {4, 9, 14, 19} (ValueError): 14 kept
    assert report.kept == {"train": 5, "val": 4, "test": 5}
    assert report.dropped == {"seventh record": 2, "ValueError": 4}
    assert [e["index"] for e in report.errors] == [4, 6, 9, 13, 14, 19]
    saved = json.loads((out / "report.json").read_text())
    assert saved["kept"] == report.kept and saved["errors"][0]["detail"] == "bad value 4"
    assert "kept 14" in capsys.readouterr().out
    train = ProcessedDataset(tmp_path, "chains", "train")
    assert [g.name for g in train] == ["chain_0", "chain_3", "chain_12", "chain_15", "chain_18"]
    stats = train.statistics
    assert isinstance(stats, DatasetStatistics) and stats.num_molecules == 5
    assert not [p for p in (tmp_path / "processed").iterdir() if p.name.startswith(".")]


def test_processed_dataset_in_a_dataloader(tmp_path):
    ChainBuilder().process(tmp_path, progress=False, log=None)
    loader = DataLoader(ProcessedDataset(tmp_path, "chains", "val"), batch_size=3, collate_fn=collate,
                        num_workers=0)
    batch = next(iter(loader))
    assert isinstance(batch, MolBatch) and batch.num_graphs == 3
    assert batch.names == ["chain_1", "chain_7", "chain_10"]
    assert batch.ptr.tolist() == [0, 3, 8, 12]  # chains of k % 4 + 2 atoms
    dataset = ProcessedDataset(tmp_path, "chains", "train")
    serial = [b.names for b in DataLoader(dataset, batch_size=2, collate_fn=collate)]
    parallel = [b.names for b in DataLoader(dataset, batch_size=2, collate_fn=collate, num_workers=2)]
    assert parallel == serial == [["chain_0", "chain_3"], ["chain_12", "chain_15"], ["chain_18"]]
    with pytest.raises(FileNotFoundError, match="dataset 'nothing'.*molgen data"):
        ProcessedDataset(tmp_path, "nothing", "train")


def test_strict_mode_names_the_record_and_leaves_nothing(tmp_path):
    with pytest.raises(BadRecordError, match=r"chains.txt, record 4: ValueError \(bad value 4\)"):
        ChainBuilder().process(tmp_path, strict=True, progress=False, log=None)
    assert list((tmp_path / "processed").iterdir()) == []


def test_crash_in_a_hook_leaves_previous_output_intact(tmp_path):
    ChainBuilder().process(tmp_path, progress=False, log=None)

    class Broken(ChainBuilder):
        def split_of(self, graph):
            return "holdout"

    with pytest.raises(ValueError, match="holdout"):
        Broken().process(tmp_path, force=True, progress=False, log=None)
    out = tmp_path / "processed" / "chains"
    assert json.loads((out / "report.json").read_text())["kept"]["train"] == 5
    assert [p.name for p in (tmp_path / "processed").iterdir()] == ["chains"]


def test_cache_force_and_signature(tmp_path):
    first = ChainBuilder().process(tmp_path, progress=False, log=None)
    again = ChainBuilder().process(tmp_path, progress=False, log=None)
    assert again.cached and again.kept == first.kept
    smaller = ChainBuilder(count=3).process(tmp_path, progress=False, log=None)
    assert not smaller.cached and smaller.kept == {"train": 1, "val": 1, "test": 1}
    forced = ChainBuilder(count=3).process(tmp_path, force=True, progress=False, log=None)
    assert not forced.cached


def test_workers_give_identical_output(tmp_path):
    ChainBuilder(40).process(tmp_path / "one", progress=False, log=None)
    ChainBuilder(40).process(tmp_path / "two", workers=2, progress=False, log=None)
    for split in ("train", "val", "test"):
        a, b = processed_dir("chains", tmp_path / "one") / split, processed_dir("chains", tmp_path / "two") / split
        names = sorted(p.name for p in a.iterdir())
        assert filecmp.cmpfiles(a, b, names, shallow=False)[0] == names


def test_data_root_convention(tmp_path, monkeypatch):
    monkeypatch.delenv("MOLGEN_DATA", raising=False)
    assert str(data_root()) == "data"
    monkeypatch.setenv("MOLGEN_DATA", str(tmp_path))
    assert data_root() == tmp_path and processed_dir("qm9") == tmp_path / "processed" / "qm9"
    assert data_root("elsewhere").name == "elsewhere"


def test_permutation_split_matches_legacy_numpy_convention():
    import numpy as np

    assignment = permutation_split(10, [6, 3, 1], ["train", "val", "test"], seed=0)
    state = np.random.get_state()
    np.random.seed(0)
    perm = np.random.permutation(10)
    np.random.set_state(state)
    assert sorted(perm[:6].tolist()) == np.flatnonzero(assignment == 0).tolist()
    assert perm[9] == int(np.flatnonzero(assignment == 2)[0])
    with pytest.raises(ValueError, match="sum to n"):
        permutation_split(10, [6, 3], ["train", "val"])


def test_hash_split_is_deterministic_and_proportional():
    fractions = {"train": 0.8, "val": 0.1, "test": 0.1}
    names = [hash_split(f"CID{k}", fractions) for k in range(5000)]
    assert names == [hash_split(f"CID{k}", fractions) for k in range(5000)]
    assert 0.77 < names.count("train") / 5000 < 0.83 and 0.08 < names.count("test") / 5000 < 0.12
    assert [hash_split(f"CID{k}", fractions, seed=1) for k in range(50)] != names[:50]
    with pytest.raises(ValueError, match="sum to"):
        hash_split("x", {"train": 0.5})
