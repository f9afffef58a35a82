"""Docking with AutoDock Vina, in-process: ``molgen dock`` and the ``docking`` evaluation metrics.

No external binary is called. The receptor PDB is prepared by Open Babel (waters and
non-metal hetero groups removed, hydrogens added at pH 7.4, rigid PDBQT, cached by content
hash), ligands by meeko, and Vina runs through its Python package (``vina``).

Protocol and defaults, against TargetDiff's ``utils/evaluation/docking_vina.py`` (which
DecompDiff and MolCRAFT reuse):

=====================  ==========================================  ===========================================
                       TargetDiff                                  molgen
=====================  ==========================================  ===========================================
scoring function       ``vina``                                    same
modes                  ``score_only`` / ``minimize`` / ``dock``    ``score`` / ``minimize`` / ``dock`` (same calls)
exhaustiveness         16 (evaluation script), ``n_poses=1``       16, ``--poses 1``
box                    centre ``(max+min)/2`` of the ligand's      same formula; around the reference ligand with
                       atoms (with H), size extent + 5 A per axis  ``--box-from``, else per ligand as TargetDiff;
                       (each generated ligand's own box)           or ``--center/--size``
ligand                 ``AddHs(addCoords=True)``, meeko PDBQT      same (hydrogens kept when all are explicit)
receptor               pdb2pqr (AMBER) + MGLTools                  Open Babel, pH 7.4 (same 1iep crystal score)
                       ``prepare_receptor4``
seed                   0 (random)                                  42 (deterministic; 0 = random)
CPU                    Vina default (all cores) per molecule        ``cpu=1`` per worker, ``--workers N`` processes
=====================  ==========================================  ===========================================

Energies are kcal/mol. A ligand outside the box is reported as such in ``score`` and
``minimize`` modes (Vina would return NaN); ``dock`` searches the box from any start.
Pocket2Mol, DiffSBDD and PILOT instead run QuickVina 2 with a 20 A cube around the
reference ligand: ``--box-from`` with ``--size 20 20 20`` (or ``--center``) reproduces that box.
"""

from molgen.dock.batch import DockRun, DockSettings, dock_sdf
from molgen.dock.box import Box, box_around, box_from_ligand_file, read_box_file
from molgen.dock.errors import DockingInputError, LigandError
from molgen.dock.receptor import PreparedReceptor, prepare_receptor
from molgen.dock.vina_runner import MODES, DockResult, VinaEngine

__all__ = [
    "MODES",
    "Box",
    "DockResult",
    "DockRun",
    "DockSettings",
    "DockingInputError",
    "LigandError",
    "PreparedReceptor",
    "VinaEngine",
    "box_around",
    "box_from_ligand_file",
    "dock_sdf",
    "prepare_receptor",
    "read_box_file",
]
