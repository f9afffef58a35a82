"""The dataset template, sharded: large datasets processed resumably and in parallel.

:class:`ShardedBuilder` is a :class:`molgen.data.template.DatasetBuilder` whose raw input
comes in shards; its :meth:`~ShardedBuilder.process` runs them through
:func:`molgen.data.sharded.run_shards` (finished shards survive an interruption) and merges
them into exactly the layout every dataset produces: ``<root>/processed/<name>/`` with a
store per split, ``statistics.json`` (train split) and ``report.json``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import time
import glob
from abc import abstractmethod
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from molgen.safe_write import naming, owner_lock, remove_stale_temps, replace_dir, temp_sibling
from molgen.chem.molgraph import MolGraph
from molgen.chem.records import RecordError
from molgen.data.sharded import Shard, ShardReport, merge_shards, run_shards, shard_dirs
from molgen.data.stats import compute_statistics
from molgen.data.store import OPTIONAL_FEATURES, MolStore
from molgen.data.template import DatasetBuilder, ProcessReport, RawRecord, error_from_exception, processed_dir
from molgen.errors import MolgenInputError
from molgen.outputs import check_dataset_dir


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
        """All records in shard order; strict: an unreadable record raises :class:`BadRecordError`."""
        for shard in self.shards():
            for record in self.shard_records(shard.payload):
                if isinstance(record, RecordError):
                    record.raise_()
                yield record

    def num_shards(self) -> int | None:
        """Number of shards if known cheaply (for the progress bar), else ``None``."""
        return None

    def stores(self) -> dict[str, tuple[str, ...]]:
        """Store name -> optional atom features it keeps (default: one store per split, all features)."""
        return {split: OPTIONAL_FEATURES for split in self.splits}

    def signature(self) -> dict[str, Any]:
        """Every setting (as text; long ones, e.g. file lists, as a digest): must match to resume an
        interrupted run or to reuse a finished one."""
        out = {"builder": type(self).__name__}
        for key, value in sorted(self.__getstate__().items()):
            text = str(value)
            out[key] = text if len(text) <= 500 else "blake2b:" + hashlib.blake2b(text.encode()).hexdigest()[:32]
        return out

    def convert_record(self, record: RawRecord) -> list[tuple[str, MolGraph]]:
        """(store name, molecule) pairs for one record; a ``ValueError`` drops the record."""
        graph = self.convert(record)
        if isinstance(graph, RecordError):
            graph.raise_()
        return [(self.split_of(graph), graph)]

    def _run(self, work: Path, workers: int, progress: bool, strict: bool = False) -> list[ShardReport]:
        """All shard reports; a :class:`MolgenInputError` when the input holds no molecule at all."""
        fn = functools.partial(_builder_shard, self)
        reports = run_shards(fn, self.shards(), work, self.stores(), self.signature(), workers=workers,
                             total=self.num_shards(), progress=progress, desc=f"processing {self.name}")
        if not reports:
            raise MolgenInputError(f"{self.name}: the raw input holds no records (no shards to process)")
        errors = [e for r in reports for e in r.rejects]
        if strict and errors:
            errors[0].raise_()
        if not any(sum(r.counts.values()) for r in reports):
            raise _no_molecules(self.name, errors)
        return reports

    def process(self, root: str | os.PathLike | None = None, *, force: bool = False, workers: int = 1,
                strict: bool = False, progress: bool = True, log: Callable[[str], None] | None = print,
                ) -> ProcessReport:
        """Like :meth:`DatasetBuilder.process`, but shard by shard and resumable.

        Finished shards live in ``<root>/processed/.<name>.work/`` until the final merge;
        re-running after an interruption skips them. ``force`` discards that folder and any output.
        ``strict`` raises :class:`BadRecordError` for the first dropped record once shards are done.
        Bad input (a truncated file, no molecule at all) is a :class:`MolgenInputError`, and the work
        folder is removed then: it is kept only across interruptions.
        """
        out = processed_dir(self.name, root)
        check_dataset_dir(out)  # a folder molgen did not write is never replaced
        with owner_lock(out.parent / f".{self.name}.lock", f"building {out}"):  # one writer of .<name>.work
            return self._process(out, force, workers, strict, progress, log)

    def _process(self, out: Path, force: bool, workers: int, strict: bool, progress: bool,
                 log: Callable[[str], None] | None) -> ProcessReport:
        work = out.parent / f".{self.name}.work"
        if force:
            shutil.rmtree(work, ignore_errors=True)
        cached = None if force else self._cached_report(out)
        if cached is not None:
            if log:
                log(cached.summary() + "\n  (cached; pass --force to rebuild)")
            return cached
        remove_stale_temps(out.parent, glob.escape(self.name))  # a merge killed half-way leaves its staging
        start = time.perf_counter()
        try:
            reports = self._run(work, workers, progress, strict)
            errors = [e for r in reports for e in r.rejects]
            report = finish_processed(shard_dirs(work, reports), reports, out, list(self.stores()), self.name,
                                      errors, start, splits=self.splits, signature=self.signature())
        except (MolgenInputError, OSError):  # bad input or a full disk (also in the merge), not an interruption:
            shutil.rmtree(work, ignore_errors=True)  # nothing kept
            raise
        shutil.rmtree(work)
        if log:
            log(report.summary())
        return report


def _no_molecules(name: str, errors: list[RecordError]) -> MolgenInputError:
    first = f"; first: {errors[0].describe()}" if errors else ""
    return MolgenInputError(f"{name}: no molecule could be read from the input ({len(errors)} record(s) "
                            f"rejected{first})")


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
    check_dataset_dir(Path(out))
    staging = temp_sibling(out)
    try:
        with naming(out):
            merge_shards(dirs, staging, stores)
            compute_statistics(MolStore(staging / "train")).save(staging / "statistics.json")
            kept = {s: sum(r.counts.get(s, 0) for r in reports) for s in (stores if splits is None else splits)}
            report = ProcessReport(name=name, path=str(out), kept=kept,
                                   dropped=dict(Counter(e.reason for e in errors)),
                                   errors=[e.to_dict() for e in errors], seconds=round(time.perf_counter() - start, 2), signature=signature or {})
            (staging / "report.json").write_text(json.dumps(asdict(report), indent=1) + "\n")
            replace_dir(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return report
