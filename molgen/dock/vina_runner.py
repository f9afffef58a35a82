"""One AutoDock Vina engine per process: the receptor loaded once, maps reused while the box is unchanged.

Modes follow TargetDiff's ``VinaDock.dock`` (``vina`` scoring function throughout):

* ``score``: ``Vina.score()`` of the input pose, no move (TargetDiff "Vina Score");
* ``minimize``: ``Vina.optimize()``, a local optimisation from the input pose ("Vina Min");
* ``dock``: ``Vina.dock(exhaustiveness, n_poses)`` global search in the box ("Vina Dock").

Energies are Vina's estimated free energy of binding in kcal/mol (lower binds better).
Each engine runs single-threaded (``cpu=1``); parallelism comes from worker processes.
A fixed non-zero ``seed`` makes docking deterministic; ``seed=0`` asks Vina for a random seed.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from rdkit import Chem

from molgen.dock.box import Box, box_around, check_inside
from molgen.dock.errors import DockingInputError, LigandError
from molgen.dock.ligand import check_in_frame, ligand_pdbqt, poses_to_mols, receptor_coordinates, sanitized_ligand

MODES = ("score", "minimize", "dock")


@dataclass
class DockResult:
    """Vina's result for one ligand: ``scores`` [P] total energies (kcal/mol) and the ``poses`` [P], best first."""

    scores: list[float]
    inter: list[float]
    poses: list[Chem.Mol] = field(repr=False)

    @property
    def score(self) -> float:
        """The best (lowest) total energy, kcal/mol."""
        return self.scores[0]


class VinaEngine:
    """AutoDock Vina with one receptor; :meth:`run` scores, minimises or docks one ligand."""

    def __init__(self, receptor_pdbqt: str | Path, seed: int = 42, exhaustiveness: int = 16, n_poses: int = 1):
        try:
            from vina import Vina
        except ImportError as exc:
            raise ImportError("AutoDock Vina is not installed: pip install 'molgen[dock]'") from exc
        if exhaustiveness < 1 or n_poses < 1:
            raise DockingInputError(f"exhaustiveness and poses must be >= 1, got {exhaustiveness} and {n_poses}")
        self.exhaustiveness, self.n_poses, self._seed = exhaustiveness, n_poses, seed
        self._receptor, self._new_vina = str(receptor_pdbqt), Vina
        self._receptor_xyz = receptor_coordinates(self._receptor)  # to refuse ligands out of its reach
        self._vina = self._fresh_vina()  # reads the receptor now: a bad file fails here, not at the first ligand
        self._has_ligand = False
        self._box: Box | None = None
        self._scratch = tempfile.TemporaryDirectory(prefix="molgen-vina-")

    def set_box(self, box: Box) -> None:
        """Compute Vina's grid maps for ``box`` (skipped when it is the current box).

        Maps are computed by a fresh Vina holding no ligand, which makes maps for every atom type:
        Vina computes them only for the current ligand's types once one is set, and a later ligand
        with another type would make Vina end the whole process ("Affinity map for atom type ... is
        not present"), not raise.
        """
        if box != self._box:
            if self._has_ligand:
                self._vina, self._has_ligand = self._fresh_vina(), False
            self._vina.compute_vina_maps(center=list(box.center), box_size=list(box.size))
            self._box = box

    def _fresh_vina(self):
        vina = self._new_vina(sf_name="vina", cpu=1, seed=self._seed, verbosity=0)
        vina.set_receptor(rigid_pdbqt_filename=self._receptor)
        return vina

    def run(self, mol: Chem.Mol, box: Box | None, mode: str) -> DockResult:
        """Score / minimise / dock ``mol`` (3D, in the receptor frame) in ``box``.

        ``box`` None uses the ligand's own box (:func:`~molgen.dock.box.box_around` its atoms,
        hydrogens included, as TargetDiff does for generated molecules).

        Raises :class:`LigandError` for a ligand that cannot be prepared, one outside the box
        (``score`` and ``minimize``; ``dock`` searches the whole box from any start) or a
        non-finite Vina energy.
        """
        if mode not in MODES:
            raise DockingInputError(f"unknown docking mode {mode!r}; choose from {', '.join(MODES)}")
        ligand = sanitized_ligand(mol)
        box = box or box_around(ligand.GetConformer().GetPositions())
        if mode != "dock":
            check_inside(ligand, box)
        check_in_frame(ligand, self._receptor_xyz, box, mode)  # never 'ok' at 0.0 for want of receptor atoms
        pdbqt = ligand_pdbqt(ligand)
        self.set_box(box)
        vina = self._vina
        self._has_ligand = True
        try:
            vina.set_ligand_from_string(pdbqt)
        except (RuntimeError, TypeError) as exc:
            raise LigandError(f"Vina rejected the ligand PDBQT: {exc}") from exc
        if mode == "score":
            energy = vina.score()
            result = DockResult([float(energy[0])], [float(energy[1])], [ligand])
        elif mode == "minimize":
            energy = vina.optimize()
            path = Path(self._scratch.name) / "minimized.pdbqt"
            vina.write_pose(str(path), overwrite=True)
            result = DockResult([float(energy[0])], [float(energy[1])], poses_to_mols(path.read_text()))
        else:
            vina.dock(exhaustiveness=self.exhaustiveness, n_poses=self.n_poses)
            energies = vina.energies(n_poses=self.n_poses)
            poses = poses_to_mols(vina.poses(n_poses=self.n_poses))
            result = DockResult([float(e[0]) for e in energies], [float(e[1]) for e in energies], poses)
        if not all(math.isfinite(s) for s in result.scores):
            raise LigandError(f"Vina returned a non-finite energy {result.scores} (is the ligand inside the box?)")
        return result

    def try_run(self, mol: Chem.Mol, box: Box | None, mode: str) -> tuple[DockResult | None, str]:
        """:meth:`run`, with any failure of this one molecule returned as ``(None, reason)``, never raised.

        Batch callers (``molgen dock``, the docking metrics) record the reason and go on: a
        :class:`LigandError` gives its message, anything else Vina or meeko raises gives its type and message.
        """
        try:
            return self.run(mol, box, mode), ""
        except LigandError as exc:
            return None, str(exc)
        except Exception as exc:  # Vina/meeko internals on one odd molecule must not stop a batch of thousands
            return None, f"{type(exc).__name__}: {exc}"
