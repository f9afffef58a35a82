"""Run metric groups over molecules: chunked, optionally in parallel processes, with progress.

Molecules travel to workers as mol blocks (text) and are re-read unsanitised with
hydrogens kept, in the serial path too, so results do not depend on ``workers``.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace

from rdkit import Chem
from tqdm.auto import tqdm

from molgen.eval.group import EvalOptions, MetricGroup, ReferenceData, Rows
from molgen.eval.registry import GROUPS, resolve_metrics

#: Molecules per work unit sent to a worker.
CHUNK_SIZE = 32


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
) -> tuple[Rows, dict[str, float]]:
    """Per-molecule rows of ``groups`` for ``mols``, in input order, and CPU seconds per group."""
    names = [g.name for g in groups]
    blocks = to_blocks(mols)
    chunks = [blocks[i : i + CHUNK_SIZE] for i in range(0, len(blocks), CHUNK_SIZE)]
    seconds = dict.fromkeys(names, 0.0)
    bar = tqdm(total=len(blocks), desc=desc, unit="mol", disable=not progress)
    # The first chunk always runs here: it warms lazy imports and caches (e.g. the SA score tables),
    # which forked workers then inherit instead of each rebuilding them.
    rows, seconds = _collect((compute_chunk(c, names, options) for c in chunks[:1]), bar, seconds)
    rest = chunks[1:]
    if workers <= 1 or len(rest) <= 1:
        more, seconds = _collect((compute_chunk(c, names, options) for c in rest), bar, seconds)
    else:
        with ProcessPoolExecutor(max_workers=min(workers, len(rest)), mp_context=_context()) as pool:
            results = pool.map(compute_chunk, rest, [names] * len(rest), [options] * len(rest))
            more, seconds = _collect(results, bar, seconds)
    rows.extend(more)
    bar.close()
    return rows, seconds


def _context():
    """Fork where available (workers start in milliseconds, nothing re-imported), else spawn."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def _collect(results, bar, seconds: dict[str, float]) -> tuple[Rows, dict[str, float]]:
    rows: Rows = []
    for chunk_rows, chunk_seconds in results:
        rows.extend(chunk_rows)
        for name, value in chunk_seconds.items():
            seconds[name] += value
        bar.update(len(chunk_rows))
    return rows, seconds


def run_evaluation(
    mols: Sequence[Chem.Mol],
    metrics: str | list[str] = "basic",
    reference: ReferenceData | None = None,
    protein: str | None = None,
    workers: int = 1,
    progress: bool = False,
    options: EvalOptions | None = None,
) -> EvaluationResult:
    """Compute the chosen metric groups (preset name, comma list or list) on ``mols``."""
    groups = resolve_metrics(metrics)
    options = options or EvalOptions()
    if protein is not None:
        options = replace(options, protein_path=str(protein))
    rows, cpu = compute_rows(mols, groups, options, workers, progress)
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
