"""The output folder of a docking run: the CSV ledger, the poses SDF and the run description.

:class:`ResultStore` holds the rows and pose blocks of finished records, loads those of
an earlier run of the same settings (resume), and writes the three files atomically,
``docked.sdf`` before ``docking.csv`` so the CSV never names a record whose poses are missing.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

from molgen.dock.errors import DockingInputError
from molgen.errors import read_text
from molgen.safe_write import write_text_atomic

#: Columns of docking.csv, in order (energies in kcal/mol, time in seconds).
COLUMNS = (
    "record", "name", "status", "reason", "mode", "vina_score", "vina_inter", "n_poses", "n_heavy_atoms", "seconds"
)
SDF, CSV, JSON = "docked.sdf", "docking.csv", "docking.json"
#: what Vina, meeko, Open Babel and RDKit printed during `molgen dock` runs (appended by each run)
LOG = "library.log"


def file_digest(path: Path) -> str:
    """sha256 of the bytes of ``path``."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class ResultStore:
    """Finished records of one run: ``rows[record]`` (CSV row) and ``poses[record]`` (SDF blocks)."""

    def __init__(self, out_dir: str | Path, description: dict):
        self.out_dir = Path(out_dir)
        self.description = description
        self.rows: dict[int, dict] = {}
        self.poses: dict[int, list[str]] = {}

    def load_previous(self) -> int:
        """Load the records an earlier run of the same settings finished; return how many.

        Raises :class:`DockingInputError` when the folder holds a run of other settings or
        a ledger that cannot be read.
        """
        ledger = self.out_dir / JSON
        if not ledger.exists():
            if (self.out_dir / CSV).exists():
                raise DockingInputError(f"{self.out_dir}: holds {CSV} without {JSON}; choose another --out")
            return 0
        try:
            previous = json.loads(read_text(ledger, "docking ledger"))
        except json.JSONDecodeError as exc:
            raise DockingInputError(f"{ledger}: not valid JSON ({exc})") from exc
        if not isinstance(previous, dict) or not isinstance(previous.get("run", {}), dict):
            raise DockingInputError(f"{ledger}: not a molgen docking ledger (no 'run' object); choose another --out")
        differences = _differences(previous.get("run", {}), self.description["run"])
        if differences:
            raise DockingInputError(
                f"{self.out_dir}: holds a run with other inputs or settings ({'; '.join(differences)}); "
                "choose another --out or delete it"
            )
        if not (self.out_dir / CSV).exists():
            return 0
        poses = _blocks_by_record(self.out_dir / SDF)
        with io.StringIO(read_text(self.out_dir / CSV, "docking ledger", 1 << 40), newline="") as handle:
            for line, row in enumerate(csv.DictReader(handle), 2):
                try:
                    record = int(row["record"])
                except (KeyError, TypeError, ValueError):
                    raise DockingInputError(f"{self.out_dir / CSV}: line {line}: bad 'record' field") from None
                if row.get("status") == "ok" and record not in poses:
                    continue  # poses lost: dock this record again
                self.rows[record] = row
                self.poses[record] = poses.get(record, [])
        return len(self.rows)

    def add(self, row: dict, blocks: list[str]) -> None:
        self.rows[int(row["record"])] = row
        self.poses[int(row["record"])] = blocks

    def flush(self, extra: dict | None = None) -> None:
        """Write docking.json, then docked.sdf, then docking.csv, each atomically.

        The ledger goes first, so a kill -9 between the files never leaves a CSV without the settings
        that make it resumable; the CSV goes last, so every record it lists has its poses on disk.
        """
        self.out_dir.mkdir(parents=True, exist_ok=True)
        order = sorted(self.rows)
        counts = {s: sum(r.get("status") == s for r in self.rows.values()) for s in ("ok", "failed")}
        document = {**self.description, "counts": counts, **(extra or {})}
        write_text_atomic(self.out_dir / JSON, json.dumps(document, indent=2))
        write_text_atomic(self.out_dir / SDF, "".join(b for r in order for b in self.poses[r]))
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for record in order:
            writer.writerow(self.rows[record])
        write_text_atomic(self.out_dir / CSV, buffer.getvalue())


def _blocks_by_record(path: Path) -> dict[int, list[str]]:
    """SDF blocks of ``path`` grouped by their ``record`` property (empty when the file is absent)."""
    out: dict[int, list[str]] = {}
    if not path.exists():
        return out
    block: list[str] = []
    for line in read_text(path, "docked SDF", 1 << 40).splitlines(keepends=True):
        block.append(line)
        if line.startswith("$$$$"):
            text = "".join(block)
            out.setdefault(_record_of(text, path), []).append(text)
            block = []
    return out


def _record_of(block: str, path: Path) -> int:
    lines = block.splitlines()
    for i, line in enumerate(lines[:-1]):
        if line.startswith(">") and "<record>" in line:
            try:
                return int(lines[i + 1])
            except ValueError:
                raise DockingInputError(f"{path}: a pose's 'record' property is not an integer "
                                        f"({lines[i + 1][:40]!r}); choose another --out") from None
    raise DockingInputError(f"{path}: a pose has no 'record' property; choose another --out")


def _differences(before: dict, now: dict, prefix: str = "") -> list[str]:
    """``"key: old -> new"`` for every (nested) key whose value differs between ``before`` and ``now``."""
    out = []
    for key in sorted(set(before) | set(now)):
        old, new = before.get(key), now.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            out += _differences(old, new, f"{prefix}{key}.")
        elif old != new:
            out.append(f"{prefix}{key}: {old} -> {new}")
    return out
