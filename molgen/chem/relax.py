"""Optional force-field relaxation of a generated molecule that keeps it the molecule the model made.

``relax(mol, mode)`` returns a new molecule (the input is never changed) in a :class:`RelaxResult`:

* ``none``: an unchanged copy;
* ``h``: the hydrogens MMFF94-minimised with every heavy atom fixed (heavy atoms move by 0 A);
* ``mmff``: every atom MMFF94-minimised with each heavy atom tied to where the model put it by a
  flat-bottomed harmonic restraint (free within ``max_shift`` A, then ``restraint`` kcal/mol/A^2),
  after the ``h`` step; the bond graph is the force field's topology, so bonds, charges and
  stereo-defining topology never change; only coordinates do.

A molecule RDKit cannot sanitise, or whose atoms MMFF94 cannot type, is returned unchanged with
``relaxed=False`` and the reason; nothing is raised for it. The returned molecule has explicit
hydrogens with coordinates (hydrogens a heavy-atom input implied are added first) and carries the SD
properties ``relax_mode``, ``relax_energy_before`` / ``relax_energy_after`` (kcal/mol) and
``relax_heavy_rmsd`` (A) when relaxed, ``relax_failed`` (the reason) when not.

Files: :func:`relax_sdf` relaxes every record of an SDF that ``molgen sample`` wrote and writes the
result beside it (:func:`relaxed_path`: ``samples.sdf`` -> ``samples.relax_h.sdf``), record ``i`` of
the relaxed file being record ``i`` of the raw one, which is never changed: a record that cannot be
relaxed (unreadable, unsanitisable, untypable) is copied as written with a ``relax_failed`` item.

    from molgen.chem.relax import relax_sdf
    report = relax_sdf("samples.sdf", "mmff")   # -> samples.relax_mmff.sdf
    print(report.summary())
"""

from __future__ import annotations

import gzip
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rdkit import Chem
from rdkit.rdBase import BlockLogs

from molgen.chem.records import BadRecordError
from molgen.chem.sdf_records import iter_sdf_blocks, mol_from_sdf_block, parse_sdf_tags
from molgen.chem.strain import MinimiserError, MMFFSetup, force_field, heavy_indices, minimise, mmff_setup, positions
from molgen.errors import MolgenInputError, check_regular_file
from molgen.safe_write import atomic_path

RELAX_MODES = ("none", "h", "mmff")
#: flat-bottom radius (A) and force constant (kcal/mol/A^2) of the heavy-atom restraints of ``mmff``
MAX_SHIFT = 0.3
RESTRAINT = 100.0


@dataclass(frozen=True)
class RelaxResult:
    """What :func:`relax` made: the new molecule, whether it moved, and why not."""

    mol: Chem.Mol
    mode: str
    relaxed: bool
    reason: str | None = None
    energy_before: float | None = None
    energy_after: float | None = None
    heavy_rmsd: float = 0.0


def relax(mol: Chem.Mol, mode: str = "h", *, max_shift: float = MAX_SHIFT, restraint: float = RESTRAINT,
          conf_id: int = -1) -> RelaxResult:
    """Relax conformer ``conf_id`` of ``mol`` under ``mode`` (``none``, ``h``, ``mmff``; module docstring)."""
    if mode not in RELAX_MODES:
        raise MolgenInputError(f"relax mode {mode!r}: choose one of {', '.join(RELAX_MODES)}")
    if mode == "none":
        return RelaxResult(Chem.Mol(mol), mode, relaxed=False)
    setup = mmff_setup(mol, conf_id)
    if setup.reason is not None:
        return _unrelaxed(mol, mode, setup.reason)
    work = setup.mol
    heavy = heavy_indices(work)
    start = positions(work)
    ff = force_field(setup, fixed=heavy)
    before = ff.CalcEnergy()
    try:
        minimise(ff, movable=work.GetNumAtoms() - len(heavy))
        _set_positions(work, ff.Positions())
        if mode == "mmff":
            ff = force_field(MMFFSetup(work, setup.props))
            for index in heavy:
                ff.MMFFAddPositionConstraint(index, max_shift, restraint)
            minimise(ff)
            _set_positions(work, ff.Positions())
    except MinimiserError as err:
        return _unrelaxed(mol, mode, f"MMFF minimiser failed ({err})")
    after = force_field(MMFFSetup(work, setup.props)).CalcEnergy()  # without the restraint terms
    shift = positions(work)[heavy] - start[heavy]
    rmsd = float(np.sqrt((shift ** 2).sum(axis=1).mean())) if heavy else 0.0
    for key, value in (("relax_energy_before", before), ("relax_energy_after", after), ("relax_heavy_rmsd", rmsd)):
        work.SetDoubleProp(key, round(float(value), 4))
    work.SetProp("relax_mode", mode)
    return RelaxResult(work, mode, relaxed=True, energy_before=before, energy_after=after, heavy_rmsd=rmsd)


def _unrelaxed(mol: Chem.Mol, mode: str, reason: str) -> RelaxResult:
    copy = Chem.Mol(mol)
    copy.SetProp("relax_failed", reason)
    return RelaxResult(copy, mode, relaxed=False, reason=reason)


def _set_positions(mol: Chem.Mol, flat: tuple[float, ...]) -> None:
    mol.GetConformer().SetPositions(np.asarray(flat, dtype=np.float64).reshape(-1, 3))


def relaxed_path(path: str | os.PathLike, mode: str) -> Path:
    """Where :func:`relax_sdf` writes by default: ``x.sdf`` -> ``x.relax_<mode>.sdf`` (``.sdf.gz`` kept)."""
    path = Path(path)
    name = path.name
    for suffix in (".sdf.gz", ".sdf"):
        if name.endswith(suffix):
            return path.with_name(f"{name[:-len(suffix)]}.relax_{mode}{suffix}")
    return path.with_name(f"{name}.relax_{mode}.sdf")


@dataclass
class RelaxReport:
    """What :func:`relax_sdf` wrote: how many records, how many relaxed, the others' reasons."""

    path: Path
    mode: str
    records: int = 0
    relaxed: int = 0
    failed: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    def summary(self) -> str:
        text = f"relaxed ({self.mode}) {self.relaxed} of {self.records} molecules to {self.path}"
        if self.failed:
            text += " (not relaxed, copied as written: " + ", ".join(
                f"{n} {reason}" for reason, n in self.failed.most_common()) + ")"
        return text


def relax_sdf(raw: str | os.PathLike, mode: str, out: str | os.PathLike | None = None, *,
              max_shift: float = MAX_SHIFT, restraint: float = RESTRAINT) -> RelaxReport:
    """Relax every record of the SDF ``raw`` under ``mode`` into ``out`` (default :func:`relaxed_path`).

    ``raw`` is only read. ``out`` (written atomically; ``.sdf.gz`` compresses) holds one record per
    raw record, in order, with the raw record's title and data items: the relaxed molecule (explicit
    hydrogens, ``relax_*`` items as in :func:`relax`), or, when it cannot be relaxed, the raw record's
    text unchanged plus ``relax_mode`` and ``relax_failed`` (the reason).
    """
    if mode not in RELAX_MODES:
        raise MolgenInputError(f"relax mode {mode!r}: choose one of {', '.join(RELAX_MODES)}")
    raw = Path(raw)
    check_regular_file(raw, "SDF file")
    out = relaxed_path(raw, mode) if out is None else Path(out)
    if out.resolve() == raw.resolve():
        raise MolgenInputError(f"relax_sdf would overwrite the raw model output {raw}: name another file")
    report = RelaxReport(out, mode)
    start = time.perf_counter()
    out.parent.mkdir(parents=True, exist_ok=True)
    opener = gzip.open if out.suffix == ".gz" else open
    with atomic_path(out) as tmp, opener(tmp, "wt", encoding="utf-8") as handle:
        for index, block in iter_sdf_blocks(raw):
            report.records += 1
            if mode == "none":
                handle.write(_with_items(block, {"relax_mode": mode}))
                continue
            try:
                mol = mol_from_sdf_block(block, str(raw), index, sanitize=False)
            except BadRecordError as exc:
                reason = f"unreadable record ({exc.record.reason})"
            else:
                with BlockLogs():
                    result = relax(mol, mode, max_shift=max_shift, restraint=restraint)
                record = _relaxed_record(block, result) if result.relaxed else None
                if record is not None:
                    report.relaxed += 1
                    handle.write(record)
                    continue
                reason = result.reason or "RDKit cannot write the relaxed molecule"
            report.failed[reason] += 1
            handle.write(_with_items(block, {"relax_mode": mode, "relax_failed": reason}))
    report.seconds = time.perf_counter() - start
    return report


def _relaxed_record(block: str, result: RelaxResult) -> str | None:
    try:
        with BlockLogs():
            text = Chem.MolToMolBlock(result.mol)
    except RuntimeError:
        return None
    title = block.split("\n", 1)[0]
    text = title + "\n" + text.split("\n", 1)[1]
    items = parse_sdf_tags(block)
    items.update(relax_mode=result.mode, relax_energy_before=round(float(result.energy_before), 4),
                 relax_energy_after=round(float(result.energy_after), 4),
                 relax_heavy_rmsd=round(float(result.heavy_rmsd), 4))
    return _with_items(text, items)


def _with_items(molblock: str, items: dict) -> str:
    """``molblock`` (up to and including ``M  END`` and any items already there) + ``items`` + ``$$$$``."""
    head = molblock.rstrip("\n")
    lines = [head] if head.endswith("M  END") else [head, ""]  # an item already there ends with a blank line
    for key, value in items.items():
        lines += [f">  <{key}>", str(value).replace("\n", " "), ""]
    return "\n".join(lines) + "\n$$$$\n"
