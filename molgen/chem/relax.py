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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rdkit import Chem

from molgen.chem.strain import MinimiserError, MMFFSetup, force_field, heavy_indices, minimise, mmff_setup, positions
from molgen.errors import MolgenInputError

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
