"""Dock every molecule of an SDF: worker processes, a progress bar, atomic outputs, resume after a kill.

``dock_sdf`` writes three files to the output folder, each atomically (temporary file +
rename), every ``flush_s`` seconds and at the end:

* ``docked.sdf``: the pose(s) of every molecule that succeeded, best first, with SD properties
  ``record`` (0-based index in the input), ``mode``, ``pose`` (1-based rank), ``vina_score``
  and ``vina_inter`` (kcal/mol);
* ``docking.csv``: one row per input record (``status`` ``ok`` or ``failed`` with its
  ``reason``), in input order;
* ``docking.json``: the settings, the receptor and ligand-file digests and the counts.

``docked.sdf`` is always written before ``docking.csv``, which is the ledger of finished
records: rerunning the same command skips every record already in the CSV, so a killed
run resumes where it stopped. A folder holding results of other settings is refused.
"""

from __future__ import annotations

import io
import multiprocessing
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path

from rdkit import Chem
from tqdm.auto import tqdm

from molgen.chatter import terminal
from molgen.chem.records import BadRecordError
from molgen.chem.sdf_records import iter_sdf_blocks, mol_from_sdf_block
from molgen.dock.box import Box
from molgen.dock.errors import DockingInputError
from molgen.dock.receptor import prepare_receptor
from molgen.dock.results import CSV, SDF, ResultStore, file_digest
from molgen.dock.vina_runner import MODES, VinaEngine


@dataclass(frozen=True)
class DockSettings:
    """How to dock: ``mode``, Vina's ``exhaustiveness`` and ``n_poses`` (dock mode), ``seed``, and the box.

    ``box`` None means a box per ligand (TargetDiff's protocol for generated molecules).
    """

    mode: str = "dock"
    exhaustiveness: int = 16
    n_poses: int = 1
    seed: int = 42
    box: Box | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise DockingInputError(f"unknown docking mode {self.mode!r}; choose from {', '.join(MODES)}")
        if self.exhaustiveness < 1 or self.n_poses < 1:
            raise DockingInputError(f"exhaustiveness and poses must be >= 1, got {self.exhaustiveness}, {self.n_poses}")

    def as_dict(self) -> dict:
        out = asdict(self)
        out["box"] = None if self.box is None else self.box.as_dict()
        return out


@dataclass
class DockRun:
    """What :func:`dock_sdf` did: output paths and counts (``skipped``: done by an earlier run)."""

    out_dir: Path
    n_records: int
    n_ok: int
    n_failed: int
    n_skipped: int
    seconds: float

    @property
    def sdf(self) -> Path:
        return self.out_dir / SDF

    @property
    def csv(self) -> Path:
        return self.out_dir / CSV


_ENGINE: VinaEngine | None = None
_SETTINGS: DockSettings | None = None


def _init_worker(receptor_pdbqt: str, settings: DockSettings) -> None:
    global _ENGINE, _SETTINGS
    _ENGINE = VinaEngine(receptor_pdbqt, settings.seed, settings.exhaustiveness, settings.n_poses)
    _SETTINGS = settings


def dock_one(record: int, name: str, block: str) -> tuple[dict, list[str]]:
    """Dock the mol block ``block`` with this process's engine: its CSV row and its pose SDF blocks.

    Any failure of this one molecule becomes ``status=failed`` with the reason; nothing is raised.
    """
    start = time.perf_counter()
    row = {"record": record, "name": name, "mode": _SETTINGS.mode}
    try:  # as written (not sanitised); an unreadable record is this molecule's failure
        mol, reason = mol_from_sdf_block(block, "", 0, sanitize=False), ""
    except BadRecordError as exc:
        mol, reason = None, exc.record.message
    result = None
    if mol is not None:
        result, reason = _ENGINE.try_run(mol, _SETTINGS.box, _SETTINGS.mode)
    if result is None:
        row.update(status="failed", reason=reason)
        return _finish(row, start), []
    row.update(
        status="ok", reason="", vina_score=round(result.score, 4), vina_inter=round(result.inter[0], 4),
        n_poses=len(result.poses), n_heavy_atoms=result.poses[0].GetNumHeavyAtoms(),
    )
    blocks = [_pose_block(pose, record, name, rank, score, inter) for rank, (pose, score, inter) in
              enumerate(zip(result.poses, result.scores, result.inter, strict=True), 1)]
    return _finish(row, start), blocks


def _finish(row: dict, start: float) -> dict:
    row["seconds"] = round(time.perf_counter() - start, 3)
    return row


def _pose_block(pose: Chem.Mol, record: int, name: str, rank: int, score: float, inter: float) -> str:
    pose = Chem.Mol(pose)
    pose.SetProp("_Name", name or f"record_{record}")
    pose.SetIntProp("record", record)
    pose.SetProp("mode", _SETTINGS.mode)
    pose.SetIntProp("pose", rank)
    pose.SetDoubleProp("vina_score", round(score, 4))
    pose.SetDoubleProp("vina_inter", round(inter, 4))
    buffer = io.StringIO()
    with Chem.SDWriter(buffer) as writer:
        writer.write(pose)
    return buffer.getvalue()


def _records(path: Path) -> Iterator[tuple[int, str, str]]:
    """``(index, name, mol block)`` of each record of the SDF ``path``."""
    for index, block in iter_sdf_blocks(path):
        yield index, block.split("\n", 1)[0].strip(), block


def check_some_readable(ligands: Path) -> None:
    """Raise :class:`DockingInputError` naming the first bad record when no record of ``ligands`` is readable.

    One unreadable record among many is that molecule's failed row; a file of nothing but unreadable
    records (every coordinate 1e300, say) is bad input, refused before anything is written. Records are
    parsed until the first readable one (usually the first).
    """
    first, n_records = None, 0
    for index, _, block in _records(ligands):
        n_records += 1
        try:
            mol_from_sdf_block(block, str(ligands), index, sanitize=False)
        except BadRecordError as exc:
            first = first or exc.record
            continue
        return
    if first is not None:
        raise DockingInputError(f"{ligands}: no readable molecule ({n_records} record(s); first: record "
                                f"{first.index}: {first.message})")


def dock_sdf(
    ligands: str | Path,
    receptor: str | Path,
    out_dir: str | Path,
    settings: DockSettings | None = None,
    *,
    workers: int = 1,
    progress: bool = False,
    cache_dir: str | Path | None = None,
    flush_s: float = 10.0,
) -> DockRun:
    """Dock (score / minimise) every record of the SDF ``ligands`` into the PDB ``receptor``; write ``out_dir``.

    Records finished by an earlier run with the same inputs and settings are skipped.
    Raises :class:`DockingInputError` (naming the file) for a missing or empty receptor or
    ligand file, or an ``out_dir`` holding another run; per-molecule problems are rows.
    """
    settings = settings or DockSettings()
    ligands, out = Path(ligands), Path(out_dir)
    if not ligands.is_file():
        raise DockingInputError(f"{ligands}: ligand file not found")
    check_some_readable(ligands)
    prepared = prepare_receptor(receptor, cache_dir)
    run = {"ligands_sha256": file_digest(ligands), "receptor_sha256": prepared.digest, "settings": settings.as_dict()}
    store = ResultStore(out, {"ligands": str(ligands), "receptor": str(receptor), "run": run})
    n_skipped = store.load_previous()
    todo = [(i, name, block) for i, name, block in _records(ligands) if i not in store.rows]
    n_records = n_skipped + len(todo)
    if n_records == 0:
        raise DockingInputError(f"{ligands}: no SDF records")
    start = time.perf_counter()
    bar = tqdm(total=n_records, initial=n_skipped, desc=f"vina {settings.mode}", unit="mol", disable=not progress,
               file=terminal())
    last_flush = time.perf_counter()
    try:
        for row, blocks in _run_all(todo, str(prepared.pdbqt), settings, workers):
            store.add(row, blocks)
            bar.update(1)
            if time.perf_counter() - last_flush > flush_s:
                store.flush()
                last_flush = time.perf_counter()
    finally:  # keep what finished, also when interrupted
        bar.close()
        seconds = time.perf_counter() - start
        store.flush({"seconds_this_run": round(seconds, 3), "workers": workers})
    n_ok = sum(r.get("status") == "ok" for r in store.rows.values())
    return DockRun(out, n_records, n_ok, len(store.rows) - n_ok, n_skipped, seconds)


def _run_all(todo: list[tuple[int, str, str]], receptor_pdbqt: str, settings: DockSettings, workers: int):
    """Yield ``(row, pose blocks)`` per record of ``todo``: in this process, or in ``workers`` processes."""
    if not todo:
        return
    if workers <= 1 or len(todo) == 1:
        _init_worker(receptor_pdbqt, settings)
        for record, name, block in todo:
            yield dock_one(record, name, block)
        return
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    with ProcessPoolExecutor(min(workers, len(todo)), mp_context=context, initializer=_init_worker,
                             initargs=(receptor_pdbqt, settings)) as pool:
        futures = [pool.submit(dock_one, *item) for item in todo]
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            for future in futures:
                future.cancel()
