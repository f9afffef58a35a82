"""Heavy-atom graphs -> molecules with every hydrogen as an atom with 3D coordinates.

A model trained on heavy atoms only (QM9 or PubChem3D processed with ``--remove-hs``) generates
graphs without hydrogens. What a user opens must still be a complete molecule: RDKit gives each
heavy atom the hydrogens its remaining valence implies (formal charges respected) and places them
in 3D from the heavy-atom geometry (``Chem.AddHs(addCoords=True)``).

Shape symbols: N atoms.
"""

from __future__ import annotations

from rdkit import Chem, rdBase

from molgen.chem.featurize import featurize_mol, reconstruct_mol
from molgen.chem.molgraph import MolGraph
from molgen.chem.vocab import element_index

AROMATIC_CLASS = 4


def has_hydrogens(graph: MolGraph) -> bool:
    """Whether any atom of ``graph`` is a hydrogen."""
    return bool((graph.atom_types == element_index("H")).any())


def add_hydrogens(graph: MolGraph) -> tuple[MolGraph, str | None]:
    """``graph`` with its implied hydrogens as atoms with coordinates, or (graph, RDKit's error).

    Heavy atoms keep their order and coordinates (indices 0..N-1); hydrogens follow. The bond
    classes stay Kekulé when the graph had no aromatic class. A graph RDKit cannot sanitise
    is returned unchanged with the reason, so it can still be written (and counted invalid).
    """
    with rdBase.BlockLogs():
        result = reconstruct_mol(graph, implicit_hydrogens=True)
        if not result.sanitized:
            return graph, result.error
        mol = Chem.AddHs(result.mol, addCoords=True)
    kekule = not bool((graph.bond_types == AROMATIC_CLASS).any())
    full = featurize_mol(mol, name=graph.name, props=dict(graph.props), kekulize=kekule,
                         features=graph.is_aromatic is not None)
    return full, None
