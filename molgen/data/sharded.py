"""Shard-parallel, resumable preprocessing on top of :class:`StoreWriter` / :func:`merge_stores`.

This module is the generic engine (:func:`run_shards`, :func:`merge_shards`);
:class:`molgen.data.sharded_builder.ShardedBuilder` plugs it into the dataset template.

A large raw dataset is cut into shards (a chunk of GEOM molecules, one PubChem
``.sdf.gz`` file, a slice of CrossDocked pairs). Each shard is processed by a
worker into its own small stores, written into a temporary folder and renamed
to ``<work>/shards/<key>/`` only after its ``manifest.json`` is complete. A
re-run after an interruption therefore skips exactly the finished shards and
redoes the others from scratch: no molecule is lost or written twice. When all
shards are done, the per-shard stores are concatenated (shard order) into the
final stores.

Memory per worker is bounded by one shard's StoreWriter buffer, independent of
the dataset size; the parent keeps at most ``2 * workers`` shards in flight.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from tqdm import tqdm

from molgen.safe_write import naming, remove_stale_temps, temp_sibling, write_text_atomic
from molgen.chem.molgraph import MolGraph
from molgen.chem.records import RecordError
from molgen.data.store import StoreWriter, merge_stores
from molgen.errors import MolgenInputError

MANIFEST = "manifest.json"
#: read size when concatenating shard stores (shards are small; a big block would dominate peak memory)
MERGE_BLOCK_BYTES = 4 << 20
#: atoms buffered per store before a flush to disk (~1000 drug-like molecules): bounds a worker's memory
SHARD_CHUNK_ATOMS = 50_000


@dataclass(frozen=True)
class Shard:
    """A unit of work: ``key`` is stable across runs (it names the shard folder); ``payload`` is picklable."""

    key: str
    payload: Any


@dataclass
class ShardReport:
    """What one shard produced (saved as its manifest)."""

    key: str
    counts: dict[str, int] = field(default_factory=dict)
    rejects: list[RecordError] = field(default_factory=list)
    extra: dict[str, int] = field(default_factory=dict)


#: A shard function turns a payload into (store name, molecule) pairs and rejects.
ShardFn = Callable[[Any], Iterator[tuple[str, MolGraph] | RecordError]]


def process_shard(fn: ShardFn, shard: Shard, shard_root: Path, stores: dict[str, tuple[str, ...]]) -> ShardReport:
    """Run ``fn`` on one shard and atomically publish ``shard_root/<key>/`` (stores + manifest)."""
    final = shard_root / shard.key
    tmp = temp_sibling(shard_root / shard.key)  # made inside the try: a signal as it appears leaves nothing
    report = ShardReport(key=shard.key, counts=dict.fromkeys(stores, 0))
    writers: dict[str, StoreWriter] = {}
    try:
        tmp.parent.mkdir(parents=True, exist_ok=True)
        tmp.mkdir()
        for name, feats in stores.items():
            writers[name] = StoreWriter(tmp / name, features=feats, chunk_atoms=SHARD_CHUNK_ATOMS)
        with naming(final):
            for item in fn(shard.payload):
                if isinstance(item, RecordError):
                    report.rejects.append(item)
                    continue
                name, graph = item
                if name not in writers:
                    raise KeyError(f"shard function produced store {name!r}; declared stores are {sorted(stores)}")
                writers[name].append(graph)
                report.counts[name] += 1
            for writer in writers.values():
                writer.close()
            (tmp / MANIFEST).write_text(json.dumps(asdict(report), indent=1))
            os.replace(tmp, final)
    except BaseException:
        for writer in writers.values():
            writer.abort()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return report


def load_report(shard_dir: Path) -> ShardReport:
    raw = json.loads((shard_dir / MANIFEST).read_text())
    return ShardReport(key=raw["key"], counts=raw["counts"], rejects=[RecordError(**r) for r in raw["rejects"]],
                       extra=raw.get("extra", {}))


def _check_params(work: Path, params: dict[str, Any]) -> None:
    """Refuse to resume a work folder that was started with different settings."""
    path = work / "params.json"
    text = json.dumps(params, sort_keys=True, default=str)
    if path.exists():
        if path.read_text() != text:
            raise MolgenInputError(f"{work} holds shards made with other settings ({path.read_text()}); "
                             f"remove it or use the same settings ({text})")
        return
    work.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, text)


def run_shards(fn: ShardFn, shards: Iterable[Shard], work: Path, stores: dict[str, tuple[str, ...]],
               params: dict[str, Any], workers: int = 1, total: int | None = None,
               progress: bool = True, desc: str = "shards") -> list[ShardReport]:
    """Process every shard not yet finished under ``work/shards`` and return all reports, in shard order.

    Args:
        fn: picklable shard function (module-level function or ``functools.partial`` of one).
        shards: the shards, consumed lazily (a generator over a stream is fine); keys must be unique.
        work: work folder; ``params`` are recorded there and must match on resume.
        stores: store name -> optional atom features kept in it (every shard writes every store).
        workers: worker processes; ``<= 1`` runs in this process.
    """
    work = Path(work)
    _check_params(work, params)
    shard_root = work / "shards"
    shard_root.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(shard_root)  # shards of a worker killed with -9 (a live run's stay)
    reports: dict[str, ShardReport] = {}
    order: list[str] = []
    bar = tqdm(total=total, desc=desc, unit="shard", disable=not progress)
    todo = _pending(shards, shard_root, reports, order, bar)
    if workers <= 1:
        for shard in todo:
            reports[shard.key] = process_shard(fn, shard, shard_root, stores)
            bar.update()
    else:
        _run_pool(fn, todo, shard_root, stores, workers, reports, bar)
    bar.close()
    return [reports[k] for k in order]


def _pending(shards: Iterable[Shard], shard_root: Path, reports: dict[str, ShardReport], order: list[str],
             bar: tqdm) -> Iterator[Shard]:
    """Yield shards still to do; record finished ones (and the key order) on the way."""
    for shard in shards:
        if shard.key in order:
            raise ValueError(f"duplicate shard key {shard.key!r}")
        order.append(shard.key)
        if (shard_root / shard.key / MANIFEST).is_file():
            reports[shard.key] = load_report(shard_root / shard.key)
            bar.update()
        else:
            yield shard


def _run_pool(fn: ShardFn, todo: Iterator[Shard], shard_root: Path, stores: dict[str, tuple[str, ...]],
              workers: int, reports: dict[str, ShardReport], bar: tqdm) -> None:
    context = multiprocessing.get_context("fork")  # as the template: workers inherit imports, start fast
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        inflight: set[Future] = set()
        for shard in todo:
            inflight.add(pool.submit(process_shard, fn, shard, shard_root, stores))
            if len(inflight) >= 2 * workers:
                inflight = _collect(inflight, reports, bar)
        while inflight:
            inflight = _collect(inflight, reports, bar)


def _collect(inflight: set[Future], reports: dict[str, ShardReport], bar: tqdm) -> set[Future]:
    done, rest = wait(inflight, return_when=FIRST_COMPLETED)
    for future in done:
        report = future.result()  # a failed shard stops the run; finished shards stay on disk
        reports[report.key] = report
        bar.update()
    return rest


def merge_shards(shard_dirs: list[Path], out: Path, stores: Iterable[str], overwrite: bool = False) -> dict[str, Path]:
    """Concatenate each store over ``shard_dirs`` (in that order) into ``out/<store>``."""
    return {name: merge_stores([Path(d) / name for d in shard_dirs], Path(out) / name, overwrite=overwrite,
                               block_bytes=MERGE_BLOCK_BYTES) for name in stores}


def shard_dirs(work: Path, reports: list[ShardReport]) -> list[Path]:
    """Folders of the finished shards of ``reports`` under ``work``."""
    return [Path(work) / "shards" / r.key for r in reports]


def batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Consecutive lists of ``size`` items (the last may be shorter)."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
