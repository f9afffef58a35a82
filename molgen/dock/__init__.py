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

from __future__ import annotations

import importlib
from typing import Any

_NAMES = {
    "DockRun": "molgen.dock.batch", "DockSettings": "molgen.dock.batch", "dock_sdf": "molgen.dock.batch",
    "Box": "molgen.dock.box", "box_around": "molgen.dock.box", "box_from_ligand_file": "molgen.dock.box",
    "read_box_file": "molgen.dock.box",
    "DockingInputError": "molgen.dock.errors", "LigandError": "molgen.dock.errors",
    "PreparedReceptor": "molgen.dock.receptor", "prepare_receptor": "molgen.dock.receptor",
    "MODES": "molgen.dock.vina_runner", "DockResult": "molgen.dock.vina_runner",
    "VinaEngine": "molgen.dock.vina_runner",
}
__all__ = sorted(_NAMES)


def __getattr__(name: str) -> Any:  # imported on first use: ``molgen.dock.box`` alone needs neither Vina nor RDKit
    if name not in _NAMES:
        raise AttributeError(f"module 'molgen.dock' has no attribute {name!r}")
    return getattr(importlib.import_module(_NAMES[name]), name)
