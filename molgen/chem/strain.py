"""MMFF94 strain of a 3D molecule, split into the hydrogens' part and the heavy-atom skeleton's.

Definitions (kcal/mol, RDKit's MMFF94, explicit hydrogens; every function is pure: the input is never changed):

* ``E_pose``: MMFF energy at the given coordinates;
* ``E_h``: after minimising the hydrogens only, every heavy atom fixed where it is;
* ``E_min``: after then minimising every atom, starting from that hydrogen-relaxed pose (so
  ``E_min <= E_h <= E_pose``: both parts are >= 0 up to the minimiser's tolerance);
* strain ``total = E_pose - E_min`` = ``hydrogens`` (``E_pose - E_h``: what placing the hydrogens
  better would remove) + ``skeleton`` (``E_h - E_min``: what only moving heavy atoms removes).

A molecule given with implicit hydrogens gets them added with coordinates first
(``Chem.AddHs(addCoords=True)``, as heavy-atom models write their molecules), so its
``hydrogens`` part measures that placement. A molecule RDKit cannot sanitise, or whose atoms
MMFF94 cannot type (e.g. boron), has no strain: :class:`Strain` carries the reason instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rdkit import Chem
from rdkit.Chem import AllChem
from rdkit.ForceField import rdForceField
from rdkit.rdBase import BlockLogs

from molgen.chem.sanitize import sanitized_copy

#: minimiser iterations per round, and rounds, before a minimisation counts as done (not converged)
MAX_ITERS = 2000
MAX_ROUNDS = 10


@dataclass(frozen=True)
class MMFFSetup:
    """A sanitised copy with explicit hydrogens, its MMFF94 parameters, or the reason there are none."""

    mol: Chem.Mol | None
    props: AllChem.MMFFMolProperties | None
    reason: str | None = None
    hydrogens_added: int = 0


def mmff_setup(mol: Chem.Mol, conf_id: int = -1) -> MMFFSetup:
    """Copy of ``mol`` (conformer ``conf_id`` only) ready for MMFF94, or the reason it is not."""
    if mol.GetNumConformers() == 0:
        return MMFFSetup(None, None, "no 3D conformer")
    conf = mol.GetConformer(conf_id)
    copy = Chem.Mol(mol, confId=conf.GetId())
    ready = sanitized_copy(copy)
    if ready is None:
        return MMFFSetup(None, None, "RDKit cannot sanitise the molecule")
    implicit = sum(a.GetTotalNumHs() for a in ready.GetAtoms())  # hydrogens that are not atoms
    if implicit:
        ready = Chem.AddHs(ready, addCoords=True)
    with BlockLogs():
        props = AllChem.MMFFGetMoleculeProperties(ready)
    if props is None or not AllChem.MMFFHasAllMoleculeParams(ready):
        elements = sorted({a.GetSymbol() for a in ready.GetAtoms()})
        return MMFFSetup(None, None, f"MMFF94 cannot type every atom (elements {' '.join(elements)})")
    return MMFFSetup(ready, props, None, implicit)


def force_field(setup: MMFFSetup, fixed: list[int] | None = None) -> rdForceField.ForceField:
    """The MMFF94 force field of ``setup.mol``'s conformer with the atoms ``fixed`` held in place."""
    ff = AllChem.MMFFGetMoleculeForceField(setup.mol, setup.props, ignoreInterfragInteractions=False)
    for index in fixed or ():
        ff.AddFixedPoint(index)
    ff.Initialize()
    return ff


class MinimiserError(RuntimeError):
    """RDKit's BFGS minimiser stopped on an invariant (e.g. a line search that found no descent direction)."""


def minimise(ff: rdForceField.ForceField, movable: int = 1, max_iters: int = MAX_ITERS,
             rounds: int = MAX_ROUNDS) -> bool:
    """Minimise ``ff`` in place (its molecule's conformer moves) until converged; whether it converged.

    ``movable``: how many atoms are free; with none (every atom fixed) nothing is done. RDKit's own
    invariant failures are raised as :class:`MinimiserError`.
    """
    if movable == 0:
        return True
    try:
        return any(ff.Minimize(maxIts=max_iters) == 0 for _ in range(rounds))
    except RuntimeError as err:  # RDKit raises its Invariant Violation as RuntimeError
        raise MinimiserError(str(err).strip().splitlines()[1].strip() if "\n" in str(err) else str(err)) from err


def heavy_indices(mol: Chem.Mol) -> list[int]:
    return [a.GetIdx() for a in mol.GetAtoms() if a.GetAtomicNum() > 1]


def positions(mol: Chem.Mol) -> np.ndarray:
    """[N, 3] float64 coordinates of the first conformer."""
    return np.asarray(mol.GetConformer().GetPositions(), dtype=np.float64)


@dataclass(frozen=True)
class Strain:
    """MMFF strain of one molecule (module docstring); the values are ``None`` when ``reason`` says why."""

    total: float | None
    hydrogens: float | None
    skeleton: float | None
    energy: float | None = None
    converged: bool = False
    hydrogens_added: int = 0
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None


def mmff_strain(mol: Chem.Mol, conf_id: int = -1) -> Strain:
    """Strain of ``mol`` at conformer ``conf_id`` (module docstring for the definitions)."""
    setup = mmff_setup(mol, conf_id)
    if setup.reason is not None:
        return Strain(None, None, None, reason=setup.reason)
    heavy = heavy_indices(setup.mol)
    ff = force_field(setup, fixed=heavy)
    e_pose = ff.CalcEnergy()
    if not np.isfinite(e_pose):
        return Strain(None, None, None, reason="MMFF energy at the pose is not finite")
    try:
        h_done = minimise(ff, movable=setup.mol.GetNumAtoms() - len(heavy))
        e_h = ff.CalcEnergy()
        relaxed = Chem.Mol(setup.mol)
        relaxed.GetConformer().SetPositions(np.asarray(ff.Positions(), dtype=np.float64).reshape(-1, 3))
        full = force_field(MMFFSetup(relaxed, setup.props))
        all_done = minimise(full)
    except MinimiserError as err:
        return Strain(None, None, None, energy=e_pose, reason=f"MMFF minimiser failed ({err})")
    e_min = full.CalcEnergy()
    return Strain(total=e_pose - e_min, hydrogens=e_pose - e_h, skeleton=e_h - e_min, energy=e_pose,
                  converged=h_done and all_done, hydrogens_added=setup.hydrogens_added)
