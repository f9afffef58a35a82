"""Resumable shard processing: interruption + resume == uninterrupted run; params guard; rejects kept."""

from __future__ import annotations

import functools

import pytest
import torch

from molgen.chem.molgraph import MolGraph
from molgen.chem.records import RecordError
from molgen.data.sharded import Shard, merge_shards, run_shards, shard_dirs
from molgen.data.store import MolStore

STORES = {"train": (), "test": ()}


def _graph(name: str, n: int) -> MolGraph:
    return MolGraph(pos=torch.arange(3 * n, dtype=torch.float32).reshape(n, 3), atom_types=torch.full((n,), 2),
                    charges=torch.zeros(n, dtype=torch.long), bond_index=torch.zeros(2, 0, dtype=torch.long),
                    bond_types=torch.zeros(0, dtype=torch.long), name=name)


def toy_shard(payload, fail_on: str | None = None):
    """Molecules k of a shard go to test when k % 4 == 0; k % 5 == 3 is a reject."""
    key, count = payload
    if key == fail_on:
        raise RuntimeError(f"simulated crash in shard {key}")
    for k in range(count):
        if k % 5 == 3:
            yield RecordError(f"{key}.raw", k, "unsupported element", "Xe")
            continue
        yield ("test" if k % 4 == 0 else "train"), _graph(f"{key}-{k}", 1 + k % 3)


def _shards(n: int = 6):
    return (Shard(f"{s:03d}", (f"{s:03d}", 7 + s)) for s in range(n))


def _names(path):
    return [g.name for g in MolStore(path)]


def test_interrupted_run_resumes_to_the_same_molecules(tmp_path):
    reports = run_shards(toy_shard, _shards(), tmp_path / "ref", STORES, params={"v": 1}, progress=False)
    merge_shards(shard_dirs(tmp_path / "ref", reports), tmp_path / "ref_out", STORES)

    work = tmp_path / "work"
    crashing = functools.partial(toy_shard, fail_on="003")
    with pytest.raises(RuntimeError, match="shard 003"):
        run_shards(crashing, _shards(), work, STORES, params={"v": 1}, progress=False)
    finished = sorted(p.name for p in (work / "shards").iterdir())
    assert finished == ["000", "001", "002"]  # the crashed shard left no folder behind
    done_before = (work / "shards" / "001" / "manifest.json").stat().st_mtime_ns
    reports = run_shards(toy_shard, _shards(), work, STORES, params={"v": 1}, progress=False)
    assert (work / "shards" / "001" / "manifest.json").stat().st_mtime_ns == done_before  # skipped, not redone
    merge_shards(shard_dirs(work, reports), tmp_path / "out", STORES)
    for split in STORES:
        assert _names(tmp_path / "out" / split) == _names(tmp_path / "ref_out" / split)
    all_names = _names(tmp_path / "out" / "train") + _names(tmp_path / "out" / "test")
    expected = {f"{s:03d}-{k}" for s in range(6) for k in range(7 + s) if k % 5 != 3}
    assert len(all_names) == len(expected) and set(all_names) == expected
    rejects = [r for rep in reports for r in rep.rejects]
    assert len(rejects) == sum(1 for s in range(6) for k in range(7 + s) if k % 5 == 3)
    assert rejects[0] == RecordError("000.raw", 3, "unsupported element", "Xe")


def test_resume_with_other_settings_is_refused(tmp_path):
    run_shards(toy_shard, _shards(2), tmp_path, STORES, params={"k": 5}, progress=False)
    with pytest.raises(ValueError, match="other settings"):
        run_shards(toy_shard, _shards(2), tmp_path, STORES, params={"k": 3}, progress=False)


def test_duplicate_shard_keys_and_undeclared_stores_fail(tmp_path):
    with pytest.raises(ValueError, match="duplicate shard key"):
        run_shards(toy_shard, [Shard("a", ("a", 1)), Shard("a", ("a", 1))], tmp_path / "d", STORES,
                   params={}, progress=False)
    with pytest.raises(KeyError, match="declared stores"):
        run_shards(toy_shard, _shards(1), tmp_path / "u", {"train": ()}, params={}, progress=False)
    assert not any((tmp_path / "u" / "shards").iterdir())
