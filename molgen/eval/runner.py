"""Run metric groups over molecules: chunked, optionally in parallel processes, with progress.

Molecules travel to workers as mol blocks (text) and are re-read unsanitised with
hydrogens kept, in the serial path too, so results do not depend on ``workers``.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace

from rdkit import Chem
from tqdm.auto import tqdm

from molgen.chatter import terminal
from molgen.eval.group import EvalOptions, MetricGroup, ReferenceData, Rows
from molgen.eval.registry import GROUPS, resolve_metrics
from molgen.eval.timed import compute_timed

#: Molecules per work unit sent to a worker.
CHUNK_SIZE = 32
#: Seconds between two partial-result callbacks while timed groups run.
PARTIAL_EVERY_S = 2.0


@dataclass
class EvaluationResult:
    """Everything an evaluation produced: set-level summary, per-molecule rows, provenance."""

    summary: dict[str, dict]
    rows: Rows
    groups: list[str]
    definitions: dict[str, str]
    timings_s: dict[str, float]
    bad_records: list[dict] = field(default_factory=list)
    n_records: int = 0
    reference: str | None = None
    protein: str | None = None
    reference_rows: Rows = field(default_factory=list)

    def flat(self) -> dict:
        """Summary as ``{"group/metric": value}``."""
        return {f"{g}/{k}": v for g, metrics in self.summary.items() for k, v in metrics.items()}

    def __getitem__(self, key: str):
        """``result["group/metric"]``: one value of :meth:`flat` (what ``molgen.evaluate`` used to return)."""
        return self.flat()[key]

    @property
    def per_molecule(self):
        """One row per molecule as a pandas ``DataFrame`` of the public columns (those of molecules.csv)."""
        import pandas as pd

        columns: dict[str, None] = {c: None for c in ("record", "name") if any(c in r for r in self.rows)}
        for row in self.rows:
            columns.update({k: None for k in row if not k.startswith("_") and k not in columns})
        return pd.DataFrame([{c: row.get(c) for c in columns} for row in self.rows], columns=list(columns))


def to_blocks(mols: Sequence[Chem.Mol]) -> list[bytes]:
    """RDKit's binary form of ``mols``, for sending to worker processes.

    Unlike a mol block, it keeps every molecule exactly as read (aromatic flags, explicit
    hydrogens, and even atoms RDKit refuses to write to a mol block, such as H with charge +2).
    """
    return [mol.ToBinary() for mol in mols]


def from_blocks(blocks: Sequence[bytes]) -> list[Chem.Mol]:
    """The inverse of :func:`to_blocks`, with implicit valences refreshed non-strictly."""
    mols = []
    for block in blocks:
        mol = Chem.Mol(block)
        mol.UpdatePropertyCache(strict=False)
        mols.append(mol)
    return mols


def compute_chunk(blocks: list[bytes], group_names: list[str], options: EvalOptions) -> tuple[Rows, dict[str, float]]:
    """Rows [len(blocks)] of the named groups for one chunk, and CPU seconds spent per group."""
    mols = from_blocks(blocks)
    rows: Rows = [{} for _ in mols]
    seconds = {}
    for name in group_names:
        start = time.process_time()
        for row, values in zip(rows, GROUPS[name].compute(mols, options), strict=True):
            row.update(values)
        seconds[name] = time.process_time() - start
    return rows, seconds


def compute_rows(
    mols: Sequence[Chem.Mol],
    groups: list[MetricGroup],
    options: EvalOptions,
    workers: int = 1,
    progress: bool = False,
    desc: str = "evaluating",
    on_rows: Callable[[Rows], None] | None = None,
) -> tuple[Rows, dict[str, float]]:
    """Per-molecule rows of ``groups`` for ``mols``, in input order, and CPU seconds per group.

    The fast groups run first, in chunks; then the timed ones (:mod:`molgen.eval.timed`) one molecule
    at a time under ``options.time_limit_s``, the progress bar moving per molecule. ``on_rows`` is
    called with the rows so far (molecules not yet reached hold what is known) after every chunk
    and, at most every :data:`PARTIAL_EVERY_S` seconds, as timed molecules finish.
    """
    is_timed = {g.name: g.timed and (options.protein_path is not None or not g.needs_protein) for g in groups}
    names = [name for name, slow in is_timed.items() if not slow]
    timed = [name for name, slow in is_timed.items() if slow]
    blocks = to_blocks(mols)
    chunks = [blocks[i : i + CHUNK_SIZE] for i in range(0, len(blocks), CHUNK_SIZE)]
    seconds = dict.fromkeys(names, 0.0)
    bar = tqdm(total=len(blocks), desc=desc, unit="mol", disable=not progress, file=terminal())
    rows: Rows = [{} for _ in blocks]
    done = 0

    def store(results) -> None:
        nonlocal done
        for chunk_rows, chunk_seconds in results:
            for row, values in zip(rows[done : done + len(chunk_rows)], chunk_rows, strict=True):
                row.update(values)
            done += len(chunk_rows)
            for name, value in chunk_seconds.items():
                seconds[name] += value
            bar.update(len(chunk_rows))
            if on_rows is not None:
                on_rows(rows)

    # The first chunk always runs here: it warms lazy imports and caches (e.g. the SA score tables),
    # which forked workers then inherit instead of each rebuilding them.
    store(compute_chunk(c, names, options) for c in chunks[:1])
    rest = chunks[1:]
    if workers <= 1 or len(rest) <= 1:
        store(compute_chunk(c, names, options) for c in rest)
    else:
        with ProcessPoolExecutor(max_workers=min(workers, len(rest)), mp_context=_context()) as pool:
            store(pool.map(compute_chunk, rest, [names] * len(rest), [options] * len(rest)))
    if timed:
        bar.reset(total=len(blocks))
        bar.set_description(f"{desc}: {', '.join(timed)} (at most {options.time_limit_s:g} s each per molecule)")
        state = {"last": time.monotonic(), "dirty": False}

        def finished(index: int) -> None:
            bar.update(1)
            state["dirty"] = True

        def idle() -> None:  # write what is finished, at most every PARTIAL_EVERY_S (a stuck molecule included)
            if on_rows is not None and state["dirty"] and time.monotonic() - state["last"] >= PARTIAL_EVERY_S:
                on_rows(rows)
                state["last"], state["dirty"] = time.monotonic(), False

        _, timed_seconds = compute_timed(blocks, timed, options, workers, finished, rows, idle)
        seconds.update(timed_seconds)
    bar.close()
    return rows, seconds


def _context():
    """Fork where available (workers start in milliseconds, nothing re-imported), else spawn."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def run_evaluation(
    mols: Sequence[Chem.Mol],
    metrics: str | list[str] = "basic",
    reference: ReferenceData | None = None,
    protein: str | None = None,
    workers: int = 1,
    progress: bool = False,
    options: EvalOptions | None = None,
    on_rows: Callable[[Rows], None] | None = None,
) -> EvaluationResult:
    """Compute the chosen metric groups (preset name, comma list or list) on ``mols``.

    ``on_rows`` receives the rows computed so far while the run goes on (see :func:`compute_rows`).
    """
    groups = resolve_metrics(metrics)
    options = options or EvalOptions()
    if protein is not None:
        options = replace(options, protein_path=str(protein))
    rows, cpu = compute_rows(mols, groups, options, workers, progress, on_rows=on_rows)
    summary, definitions, timings = {}, {}, {}
    for group in groups:
        start = time.perf_counter()
        summary[group.name] = group.summarize(rows, reference if group.uses_reference else None, options)
        timings[group.name] = cpu[group.name] + (time.perf_counter() - start)
        definitions.update({f"{group.name}/{k}": v for k, v in group.definitions.items()})
    return EvaluationResult(
        summary=summary,
        rows=rows,
        groups=[g.name for g in groups],
        definitions=definitions,
        timings_s=timings,
        n_records=len(mols),
        reference=None if reference is None else reference.name,
        reference_rows=[] if reference is None else reference.rows,
        protein=None if protein is None else str(protein),
    )
