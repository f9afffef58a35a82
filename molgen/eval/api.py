"""The importable evaluation API: evaluate RDKit molecules or an SDF; the CLI wraps these."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rdkit import Chem

from molgen.errors import MolgenInputError
from molgen.eval.group import EvalOptions, ReferenceData
from molgen.eval.reading import check_protein_file, read_sdf
from molgen.eval.reference import build_reference
from molgen.eval.registry import resolve_metrics
from molgen.eval.report import check_replaceable, partial_csv, write_outputs, write_partial
from molgen.eval.runner import EvaluationResult, run_evaluation

ReferenceSpec = ReferenceData | str | Path | Sequence[Chem.Mol] | None


def evaluate(
    mols: Sequence[Chem.Mol],
    metrics: str | list[str] = "basic",
    reference: ReferenceSpec = None,
    *,
    protein: str | Path | None = None,
    workers: int = 1,
    progress: bool = False,
    data_root: str | Path | None = None,
    options: EvalOptions | None = None,
    on_rows=None,
) -> EvaluationResult:
    """Evaluate ``mols`` with the metric groups of ``metrics`` (preset, comma list or list of names).

    ``reference`` is a :class:`ReferenceData`, a processed dataset name (``"qm9"``: its
    training split), an SDF or SMILES file path, or a list of RDKit molecules. A ``protein``
    is the context of the groups that use one (``posebusters``: its 'dock' checks; ``docking``);
    it adds no group: PoseBusters runs only when ``metrics`` names it.
    """
    for i, mol in enumerate(mols):
        if not isinstance(mol, Chem.Mol):
            raise TypeError(f"mols[{i}] is {type(mol).__name__}, expected rdkit.Chem.Mol")
    groups = resolve_metrics(metrics)
    if protein is not None:
        check_protein_file(protein)  # an unreadable protein is an error, never silently skipped
    ref = reference
    if reference is not None and not isinstance(reference, ReferenceData):
        if any(g.uses_reference for g in groups):
            ref = build_reference(reference, groups, options, root=data_root, workers=workers, progress=progress)
        else:
            ref = None
    return run_evaluation(mols, [g.name for g in groups], ref, protein, workers, progress, options, on_rows)


def evaluate_molecules(
    mols: Sequence[Chem.Mol],
    metrics: str | list[str] = "basic",
    reference: ReferenceSpec = None,
    **kwargs,
) -> dict:
    """Evaluate ``mols`` and return the summary as ``{"group/metric": value}``.

    Keyword arguments are those of :func:`evaluate` (``protein``, ``workers``, ``progress``,
    ``data_root``, ``options``). Histogram-like metrics are dicts; all others are numbers.
    """
    return evaluate(mols, metrics, reference, **kwargs).flat()


def evaluate_sdf(
    path: str | Path,
    metrics: str | list[str] = "standard",
    reference: ReferenceSpec = None,
    *,
    protein: str | Path | None = None,
    out_dir: str | Path | None = None,
    workers: int = 1,
    progress: bool = False,
    data_root: str | Path | None = None,
    options: EvalOptions | None = None,
) -> EvaluationResult:
    """Evaluate every readable record of an SDF (``.sdf.gz`` too); unreadable records are listed, not fatal.

    With ``out_dir``, writes ``metrics.json``, ``molecules.csv`` and ``report.html`` atomically.
    """
    if out_dir is not None:
        check_replaceable(Path(out_dir))  # fail before the work, not after it
    read = read_sdf(path)
    if not read.mols:
        first = f"; first: record {read.bad[0].index}: {read.bad[0].message}" if read.bad else ""
        raise MolgenInputError(f"{path}: no readable molecule ({read.n_records} record(s){first})")
    on_rows = None
    if out_dir is not None:
        partial = partial_csv(out_dir)

        def on_rows(rows: list[dict]) -> None:  # what is computed so far, in case the run is stopped
            write_partial([{"record": i, "name": n, **r} for r, i, n in zip(rows, read.indices, read.names,
                                                                            strict=True)], partial)

    result = evaluate(
        read.mols, metrics, reference, protein=protein, workers=workers, progress=progress,
        data_root=data_root, options=options, on_rows=on_rows,
    )
    for row, index, name in zip(result.rows, read.indices, read.names, strict=True):
        row["record"] = index
        row["name"] = name
    result.bad_records = [{"path": b.file, "index": b.index, "reason": b.message} for b in read.bad]
    result.n_records = read.n_records
    result.summary = {
        "input": {"path": str(path), "n_records": read.n_records, "n_read": len(read.mols), "n_bad": len(read.bad)},
        **result.summary,
    }
    result.definitions.update(
        {
            "input/path": "evaluated file",
            "input/n_records": "records in the file",
            "input/n_read": "records RDKit could read (evaluated; fractions use this as 'all samples')",
            "input/n_bad": "records RDKit could not read (listed in bad_records)",
        }
    )
    if out_dir is not None:
        write_outputs(result, read.mols, out_dir)
    return result
