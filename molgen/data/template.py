"""The one dataset template: every dataset is a small :class:`DatasetBuilder` subclass.

A subclass says only what differs between datasets:

* ``name``: folder name under ``<data_root>/processed/``;
* :meth:`~DatasetBuilder.iter_raw`: cheap streaming read of the raw files into
  picklable :class:`RawRecord` items (file, index, payload), in the main process;
* :meth:`~DatasetBuilder.convert`: the expensive part (parse, perceive bonds,
  featurise with :func:`molgen.chem.featurize.featurize_mol`) for one record,
  returning a :class:`MolGraph` or a :class:`RecordError`; it runs in worker
  processes, so the builder must pickle cheaply (large main-process-only
  caches go in attributes whose names start with ``_main_``: they are not sent);
* :meth:`~DatasetBuilder.split_of`: which split a featurised molecule belongs to.

The shared :meth:`DatasetBuilder.process` does the rest: runs ``convert`` over
``workers`` processes (ordered, so output is deterministic), writes
``<data_root>/processed/<name>/{train,val,test}/`` stores, ``statistics.json``
(from the train split) and ``report.json`` (kept per split, dropped per reason,
every dropped record), all staged in a temporary folder and renamed into place
at the end; prints kept/dropped counts. Existing output is reused unless ``force``.

Data-root convention: ``root`` argument, else ``$MOLGEN_DATA``, else ``./data``;
raw files under ``<root>/raw/<name>/``, processed under ``<root>/processed/<name>/``.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import shutil
import sys
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from torch.utils.data import Dataset
from tqdm import tqdm

from molgen.safe_write import naming, replace_dir, temp_sibling
from molgen.chem.featurize import FeaturizeError
from molgen.chem.molgraph import MolBatch, MolGraph
from molgen.chem.records import BadRecordError, RecordError
from molgen.chem.vocab import VocabularyError
from molgen.data.stats import DatasetStatistics, compute_statistics
from molgen.data.store import MolStore, StoreWriter
from molgen.errors import MolgenInputError
from molgen.outputs import check_dataset_dir

SPLITS: tuple[str, ...] = ("train", "val", "test")


def data_root(root: str | os.PathLike | None = None) -> Path:
    """``root`` if given, else ``$MOLGEN_DATA``, else ``./data``."""
    return Path(root if root is not None else os.environ.get("MOLGEN_DATA", "data"))


def raw_dir(name: str, root: str | os.PathLike | None = None) -> Path:
    return data_root(root) / "raw" / name


def processed_dir(name: str, root: str | os.PathLike | None = None) -> Path:
    """``<root>/processed/<name>``; ``name`` must be one plain folder name (never a path out of processed/)."""
    if not name or name in (".", "..") or any(c in name for c in "/\\\0") or name.startswith("."):
        raise MolgenInputError(f"dataset name {name!r}: must be a plain folder name (no '/', not starting with '.')")
    return data_root(root) / "processed" / name


@dataclass(frozen=True)
class RawRecord:
    """One unparsed input record: where it came from and whatever ``convert`` needs (picklable)."""

    file: str
    index: int
    payload: Any


@dataclass
class ProcessReport:
    """What :meth:`DatasetBuilder.process` did (also saved as ``report.json``)."""

    name: str
    path: str
    kept: dict[str, int]
    dropped: dict[str, int]
    errors: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    cached: bool = False
    signature: dict[str, Any] = field(default_factory=dict)

    @property
    def total_kept(self) -> int:
        return sum(self.kept.values())

    @property
    def total_dropped(self) -> int:
        return sum(self.dropped.values())

    def summary(self) -> str:
        """Kept per split, then one line per distinct drop reason: its count and its first record.

        The first record is ``file:index`` (the record index, or the line for text inputs) with its detail;
        every dropped record is in ``report.json`` (and the builders' TSV files), never on the terminal.
        """
        kept = ", ".join(f"{k} {v}" for k, v in self.kept.items())
        lines = [f"{self.name}: kept {self.total_kept} ({kept}); dropped {self.total_dropped}"
                 + (" [cached]" if self.cached else f" in {self.seconds:.1f} s") + f" -> {self.path}"]
        first: dict[str, dict[str, Any]] = {}
        for error in self.errors:
            first.setdefault(error["reason"], error)
        for reason, n in sorted(self.dropped.items(), key=lambda x: -x[1]):
            example = first.get(reason)
            where = ""
            if example is not None:
                detail = _short(example.get("detail", ""))
                where = f"  (first: {example['file']}:{example['index']}" + (f", {detail}" if detail else "") + ")"
            lines.append(f"  dropped {n:>7d}  {reason}{where}")
        return "\n".join(lines)


def _short(text: str, limit: int = 100) -> str:
    """``text`` on one line, cut to ``limit`` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def error_from_exception(record: RawRecord, exc: ValueError) -> RecordError:
    """Turn a conversion ``ValueError`` into a countable :class:`RecordError` (reason = kind, detail = message)."""
    if isinstance(exc, BadRecordError):
        return exc.record
    if isinstance(exc, VocabularyError):
        reason = "unsupported element or charge"
    elif isinstance(exc, FeaturizeError):
        reason = str(exc).split(" between atoms")[0]
    else:
        reason = type(exc).__name__
    return RecordError(record.file, record.index, reason, str(exc))


class DatasetBuilder(ABC):
    """Template for turning one dataset's raw files into processed stores (see module docstring)."""

    name: ClassVar[str]
    splits: ClassVar[tuple[str, ...]] = SPLITS

    @abstractmethod
    def iter_raw(self) -> Iterator[RawRecord]:
        """Yield raw records in a fixed order (main process; keep it cheap and streaming)."""

    @abstractmethod
    def convert(self, record: RawRecord) -> MolGraph | RecordError:
        """Featurise one record (worker process). Raising ``ValueError`` also counts as a dropped record."""

    @abstractmethod
    def split_of(self, graph: MolGraph) -> str:
        """Name of the split (one of ``self.splits``) that ``graph`` belongs to (main process)."""

    def signature(self) -> dict[str, Any]:
        """What the processed output depends on besides the raw data (e.g. source, limit); a cached
        output with a different signature is rebuilt."""
        return {}

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_main_")}

    def _convert_safely(self, record: RawRecord) -> MolGraph | RecordError:
        try:
            return self.convert(record)
        except ValueError as exc:
            return error_from_exception(record, exc)

    def _convert_packed(self, record: RawRecord) -> dict[str, Any] | RecordError:
        """Worker side: molecules travel back as numpy dicts (torch would pass tensors as file descriptors)."""
        result = self._convert_safely(record)
        return result if isinstance(result, RecordError) else result.to_dict()

    def iter_records(self, workers: int = 1, chunksize: int = 64) -> Iterator[MolGraph | RecordError]:
        """``convert`` applied to every raw record, in order, over ``workers`` processes.

        Raw records are handed to the pool in windows of ``16 * workers * chunksize``, so memory
        stays bounded however large the input (``Pool.imap`` alone would read it all ahead).
        """
        if workers <= 1:
            yield from map(self._convert_safely, self.iter_raw())
            return
        raw = iter(self.iter_raw())
        window = 16 * workers * chunksize
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            while batch := list(itertools.islice(raw, window)):
                for item in pool.imap(self._convert_packed, batch, chunksize=chunksize):
                    yield item if isinstance(item, RecordError) else MolGraph.from_dict(item)

    def process(self, root: str | os.PathLike | None = None, *, force: bool = False, workers: int = 1,
                strict: bool = False, progress: bool = True, log: Callable[[str], None] | None = print,
                ) -> ProcessReport:
        """Write ``<root>/processed/<name>/`` (stores per split, statistics, report); reuse it unless ``force``.

        ``strict`` raises :class:`BadRecordError` (naming file and record) at the first bad record
        instead of counting it; nothing partial is left behind either way.
        """
        out = processed_dir(self.name, root)
        check_dataset_dir(out)  # a folder molgen did not write is never replaced
        cached = self._cached_report(out) if not force else None
        if cached is not None:
            if log:
                log(cached.summary() + "\n  (cached; pass --force to rebuild)")
            return cached
        start = time.perf_counter()
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = temp_sibling(out)  # made inside the try: a signal as it appears leaves nothing
        try:
            staging.mkdir()
            with naming(out):
                report = self._write_all(staging, strict, workers, progress)
                report.path = str(out)
                report.signature = self.signature()
                report.seconds = round(time.perf_counter() - start, 2)
                (staging / "report.json").write_text(json.dumps(asdict(report), indent=1) + "\n")
                replace_dir(staging, out)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        if log:
            log(report.summary())
        return report

    def _cached_report(self, out: Path) -> ProcessReport | None:
        """The saved report if ``out`` holds a finished build with this builder's signature."""
        if not (out / "report.json").is_file():
            return None
        try:
            report = ProcessReport(**json.loads((out / "report.json").read_text(encoding="utf-8")))
        except (UnicodeDecodeError, ValueError, TypeError) as exc:
            raise MolgenInputError(f"{out / 'report.json'}: not a molgen dataset report ({exc}); move the folder "
                                   "away to rebuild it") from None
        if report.signature != self.signature():
            print(f"{out} was built with {report.signature}, now {self.signature()}: rebuilding", file=sys.stderr)
            return None
        report.cached = True
        return report

    def _write_all(self, staging: Path, strict: bool, workers: int, progress: bool) -> ProcessReport:
        writers = {s: StoreWriter(staging / s) for s in self.splits}
        kept: Counter[str] = Counter({s: 0 for s in self.splits})
        errors: list[RecordError] = []
        try:
            records = self.iter_records(workers)
            bar = tqdm(records, desc=f"processing {self.name}", unit="mol", disable=not progress, file=sys.stderr)
            for item in bar:
                if isinstance(item, RecordError):
                    if strict:
                        item.raise_()
                    errors.append(item)
                    continue
                split = self.split_of(item)
                if split not in writers:
                    raise ValueError(f"{type(self).__name__}.split_of returned {split!r}, not one of {self.splits}")
                writers[split].append(item)
                kept[split] += 1
            for w in writers.values():
                w.close()
        except BaseException:
            for w in writers.values():
                w.abort()
            raise
        compute_statistics(MolStore(staging / "train")).save(staging / "statistics.json")
        dropped = Counter(e.reason for e in errors)
        return ProcessReport(name=self.name, path="", kept=dict(kept), dropped=dict(dropped),
                             errors=[e.to_dict() for e in errors])


class ProcessedDataset(Dataset):
    """A processed split as a torch ``Dataset`` of :class:`MolGraph` (use :func:`collate` in the DataLoader).

    Args:
        root: data root (``None``: ``$MOLGEN_DATA`` or ``./data``).
        name: dataset name (folder under ``processed/``).
        split: ``"train"``, ``"val"`` or ``"test"``.
        transform: optional function applied to each molecule.
    """

    def __init__(self, root: str | os.PathLike | None, name: str, split: str,
                 transform: Callable[[MolGraph], MolGraph] | None = None):
        self.folder = processed_dir(name, root)
        if not (self.folder / split / "meta.json").is_file():
            raise FileNotFoundError(f"no processed split {split!r} of dataset {name!r} at {self.folder}; prepare it "
                                    "first with 'molgen data DATASET ...' ('molgen data --help' lists them)")
        self.store = MolStore(self.folder / split)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.store)

    def __getitem__(self, i: int) -> MolGraph:
        graph = self.store[i]
        return self.transform(graph) if self.transform else graph

    @property
    def statistics(self) -> DatasetStatistics:
        """Statistics of the train split, computed at processing time."""
        return DatasetStatistics.load(self.folder / "statistics.json")


def collate(graphs: list[MolGraph]) -> MolBatch:
    """DataLoader ``collate_fn``: molecules -> :class:`MolBatch`."""
    return MolBatch.from_graphs(graphs)
