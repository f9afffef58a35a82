"""Write an evaluation to a folder: metrics.json, molecules.csv and report.html, atomically.

Everything is written into a temporary sibling folder which then replaces ``out_dir``
in one rename, so a crash never leaves a half-written report (an existing folder is
only removed after the new one is in place).
"""

from __future__ import annotations

import csv
import glob
import json
import math
import shutil
from pathlib import Path

from rdkit import Chem

from molgen.errors import MolgenInputError
from molgen.eval.group import counts_of
from molgen.eval.runner import EvaluationResult
from molgen.safe_write import atomic_path, naming, remove_stale_temps, replace_dir, temp_sibling

#: Columns written first in the per-molecule CSV.
LEAD_COLUMNS = ("record", "name")
#: The files of a report folder; an existing folder holding anything else is never replaced.
#: ``library.log``: what RDKit, PoseBusters and Vina printed during the run (``molgen evaluate``)
OUTPUT_FILES = frozenset({"metrics.json", "molecules.csv", "report.html", "library.log"})
LIBRARY_LOG = "library.log"


def json_safe(value):
    """``value`` with NaN/inf replaced by ``None`` and numpy scalars by Python numbers (strict JSON)."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def metrics_document(result: EvaluationResult) -> dict:
    """The content of metrics.json."""
    from importlib.metadata import version

    return json_safe(
        {
            "molgen_version": version("molgen"),
            "groups": result.groups,
            "reference": result.reference,
            "protein": result.protein,
            "metrics": result.summary,
            "counts": counts_of(result.summary),
            "definitions": result.definitions,
            "bad_records": result.bad_records,
            "timings_s": result.timings_s,
        }
    )


def csv_columns(rows: list[dict]) -> list[str]:
    """Scalar columns of ``rows`` (keys not starting with ``_``), lead columns first, in first-seen order."""
    seen: dict[str, None] = {c: None for c in LEAD_COLUMNS if any(c in r for r in rows)}
    for row in rows:
        for key in row:
            if not key.startswith("_"):
                seen.setdefault(key, None)
    return list(seen)


def write_csv(rows: list[dict], path: Path) -> None:
    columns = csv_columns(rows)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])


def partial_csv(out_dir: str | Path) -> Path:
    """Where the rows of an unfinished evaluation are kept as they come: ``<out>.partial.csv`` beside ``out``.

    It is rewritten atomically while the evaluation runs and removed once the report folder is in
    place, so after a kill it holds every molecule computed so far.
    """
    out = Path(out_dir)
    return out.parent / f"{out.name}.partial.csv"


def write_partial(rows: list[dict], path: Path) -> None:
    """Write ``rows`` to ``path`` through a temporary file and a rename (never half a CSV).

    The temporary is owner-tagged (two evaluations to one folder never share one) and removed when the
    write fails (a full disk, ``ulimit -f``).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temp:
        write_csv(rows, temp)


def write_outputs(result: EvaluationResult, mols: list[Chem.Mol], out_dir: str | Path) -> Path:
    """Write metrics.json, molecules.csv and report.html to ``out_dir`` atomically; return ``out_dir``."""
    from molgen.eval.html import render_html

    out = Path(out_dir)
    check_replaceable(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(out.parent, glob.escape(out.name))  # left by a run killed with -9 (a live run's stay)
    staging = temp_sibling(out)  # made inside the try: a signal as it appears leaves nothing
    try:
        staging.mkdir()
        with naming(out):
            staging.chmod(0o755)  # mkdtemp creates 0700; a report folder should be readable like any other
            (staging / "metrics.json").write_text(json.dumps(metrics_document(result), indent=2), encoding="utf-8")
            write_csv(result.rows, staging / "molecules.csv")
            (staging / "report.html").write_text(render_html(result, mols), encoding="utf-8")
            replace_dir(staging, out)
            partial_csv(out).unlink(missing_ok=True)  # the report holds every row now
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


def check_replaceable(out: Path) -> None:
    """Refuse to replace ``out`` unless it is absent, empty or an earlier report (only :data:`OUTPUT_FILES`)."""
    if not out.exists():
        return
    if not out.is_dir():
        raise MolgenInputError(f"output path {out} exists and is not a folder")
    foreign = sorted(p.name for p in out.iterdir() if p.name not in OUTPUT_FILES)
    if foreign:
        raise MolgenInputError(
            f"refusing to replace output folder {out}: it holds files molgen evaluate did not write "
            f"({', '.join(foreign[:5])}); choose another --out"
        )
