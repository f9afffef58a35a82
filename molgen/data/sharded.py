"""Shard-parallel, resumable preprocessing on top of :class:`StoreWriter` / :func:`merge_stores`.

The engine (:func:`run_shards`, :func:`merge_shards`) is generic; :class:`ShardedBuilder`
plugs it into the dataset template (:class:`molgen.data.template.DatasetBuilder`) so
that large datasets (GEOM-Drugs, PubChem3D, CrossDocked) produce exactly the
processed layout every other dataset produces.

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

import functools
import json
import multiprocessing
import os
import shutil
import time
import uuid
from abc import abstractmethod
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from tqdm import tqdm

from molgen.chem.molgraph import MolGraph
from molgen.chem.records import RecordError
from molgen.data.stats import compute_statistics
from molgen.data.store import OPTIONAL_FEATURES, MolStore, StoreWriter, merge_stores
from molgen.data.template import DatasetBuilder, ProcessReport, RawRecord, error_from_exception, processed_dir

MANIFEST = "manifest.json"
#: read size when concatenating shard stores (shards are small; a big block would dominate peak memory)
MERGE_BLOCK_BYTES = 4 << 20


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
    tmp = shard_root / f".{shard.key}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    report = ShardReport(key=shard.key, counts=dict.fromkeys(stores, 0))
    writers = {name: StoreWriter(tmp / name, features=feats) for name, feats in stores.items()}
    try:
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
            raise ValueError(f"{work} holds shards made with other settings ({path.read_text()}); "
                             f"remove it or use the same settings ({text})")
        return
    work.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".params.tmp-{uuid.uuid4().hex[:8]}")
    tmp.write_text(text)
    os.replace(tmp, path)


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
    for stale in shard_root.glob(".*.tmp-*"):
        shutil.rmtree(stale)
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


class ShardedBuilder(DatasetBuilder):
    """A :class:`DatasetBuilder` whose raw input comes in shards, processed resumably in parallel.

    Subclasses implement :meth:`shards` (main process, cheap: e.g. file names or chunks of
    summary entries) and :meth:`shard_records` (worker process: read one shard's raw records),
    plus the template's ``convert`` and ``split_of``. :meth:`convert_record` may be overridden
    to write more than one store per record (e.g. a ligand and its pocket).
    ``iter_raw`` is derived, so the template's one-pass ``process`` behaviour is preserved.
    """

    @abstractmethod
    def shards(self) -> Iterator[Shard]:
        """The shards in a fixed order with stable keys (main process)."""

    @abstractmethod
    def shard_records(self, payload: Any) -> Iterator[RawRecord | RecordError]:
        """Raw records of one shard, in order (worker process); unreadable records as RecordError."""

    def iter_raw(self) -> Iterator[RawRecord]:
        for shard in self.shards():
            for record in self.shard_records(shard.payload):
                if isinstance(record, RecordError):
                    record.raise_()
                yield record

    def stores(self) -> dict[str, tuple[str, ...]]:
        """Store name -> optional atom features it keeps (default: one store per split, all features)."""
        return {split: OPTIONAL_FEATURES for split in self.splits}

    def signature(self) -> dict[str, Any]:
        """Every setting (as text): must match to resume an interrupted run or to reuse a finished one."""
        return {"builder": type(self).__name__, **{k: str(v) for k, v in sorted(self.__getstate__().items())}}

    def convert_record(self, record: RawRecord) -> list[tuple[str, MolGraph]]:
        """(store name, molecule) pairs for one record; a ``ValueError`` drops the record."""
        graph = self.convert(record)
        if isinstance(graph, RecordError):
            graph.raise_()
        return [(self.split_of(graph), graph)]

    def process(self, root: str | os.PathLike | None = None, *, force: bool = False, workers: int = 1,
                strict: bool = False, progress: bool = True, log: Callable[[str], None] | None = print,
                ) -> ProcessReport:
        """Like :meth:`DatasetBuilder.process`, but shard by shard and resumable.

        Finished shards live in ``<root>/processed/.<name>.work/`` until the final merge;
        re-running after an interruption skips them. ``force`` discards that folder and any output.
        ``strict`` raises :class:`BadRecordError` for the first dropped record once shards are done.
        """
        out = processed_dir(self.name, root)
        work = out.parent / f".{self.name}.work"
        if force:
            shutil.rmtree(work, ignore_errors=True)
        cached = None if force else self._cached_report(out)
        if cached is not None:
            if log:
                log(cached.summary() + "\n  (cached; pass --force to rebuild)")
            return cached
        start = time.perf_counter()
        fn = functools.partial(_builder_shard, self)
        reports = run_shards(fn, self.shards(), work, self.stores(), self.signature(), workers=workers,
                             progress=progress, desc=f"processing {self.name}")
        errors = [e for r in reports for e in r.rejects]
        if strict and errors:
            errors[0].raise_()
        report = finish_processed(shard_dirs(work, reports), reports, out, list(self.stores()), self.name,
                                  errors, start, splits=self.splits, signature=self.signature())
        shutil.rmtree(work)
        if log:
            log(report.summary())
        return report


def _builder_shard(builder: ShardedBuilder, payload: Any) -> Iterator[tuple[str, MolGraph] | RecordError]:
    for record in builder.shard_records(payload):
        if isinstance(record, RecordError):
            yield record
            continue
        try:
            yield from builder.convert_record(record)
        except ValueError as exc:
            yield error_from_exception(record, exc)


def finish_processed(dirs: list[Path], reports: list[ShardReport], out: Path, stores: list[str], name: str,
                     errors: list[RecordError], start: float, splits: Iterable[str] | None = None,
                     signature: dict[str, Any] | None = None) -> ProcessReport:
    """Merge the stores of ``dirs`` into ``out`` with ``statistics.json`` (train) and ``report.json``; atomic swap.

    ``splits``: the stores counted as kept molecules in the report (default: all stores).
    """
    staging = out.parent / f".{out.name}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        merge_shards(dirs, staging, stores)
        compute_statistics(MolStore(staging / "train")).save(staging / "statistics.json")
        kept = {s: sum(r.counts.get(s, 0) for r in reports) for s in (stores if splits is None else splits)}
        report = ProcessReport(name=name, path=str(out), kept=kept, dropped=dict(Counter(e.reason for e in errors)),
                               errors=[e.to_dict() for e in errors],
                               seconds=round(time.perf_counter() - start, 2), signature=signature or {})
        (staging / "report.json").write_text(json.dumps(asdict(report), indent=1) + "\n")
        swap_in(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return report


def swap_in(staging: Path, out: Path) -> None:
    """Rename the finished ``staging`` folder to ``out``; an older ``out`` is removed only after the swap."""
    if out.exists():
        trash = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
        os.replace(out, trash)
        os.replace(staging, out)
        shutil.rmtree(trash)
    else:
        os.replace(staging, out)


def batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Consecutive lists of ``size`` items (the last may be shorter)."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
