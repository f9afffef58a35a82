"""RDKit molecule <-> :class:`MolGraph`, using the shared vocabulary.

Aromaticity convention (decided once, for every dataset):
    molecules are featurised *aromatic*: after RDKit sanitisation (its default
    aromaticity model), bonds RDKit flags aromatic get class 4 ("aromatic"),
    the others their Kekulé order 1..3. :func:`reconstruct_mol` maps class 4
    back to aromatic bonds and sanitises, so RDKit kekulises the ring itself;
    every hydrogen is an explicit atom, so the canonical SMILES survives the
    round trip (tested on QM9). Pass ``kekulize=True`` to :func:`featurize_mol`
    for Kekulé-only graphs (classes 1..3); reconstruction handles both.

RDKit is imported by the functions that use it, so importing this module (for :class:`FeaturizeError`,
as the dataset builders do) costs nothing and training runs without RDKit.

Shape symbols: N atoms, B bonds (i < j).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from molgen.chem.molgraph import MolGraph
from molgen.chem.vocab import (
    ATOMIC_NUMBERS,
    HYBRIDIZATION_TO_INDEX,
    check_charge,
    element_index,
)

if TYPE_CHECKING:
    from rdkit import Chem


@functools.cache
def _bond_classes() -> dict:
    """RDKit bond type -> bond class 1..4."""
    from rdkit import Chem

    return {Chem.BondType.SINGLE: 1, Chem.BondType.DOUBLE: 2, Chem.BondType.TRIPLE: 3, Chem.BondType.AROMATIC: 4}


class FeaturizeError(ValueError):
    """A molecule that cannot become a :class:`MolGraph` (no 3D conformer, NaN coordinates, odd bond...)."""


@dataclass
class ReconstructResult:
    """Outcome of :func:`reconstruct_mol`; failures are reported here, never raised.

    Attributes:
        mol: the RDKit molecule with the graph's bonds, charges and a 3D conformer
            (present even when sanitisation failed, so it can still be written out).
        sanitized: whether ``Chem.SanitizeMol`` succeeded.
        error: RDKit's message when it did not, else ``None``.
    """

    mol: Chem.Mol
    sanitized: bool
    error: str | None = None


def check_3d(mol: Chem.Mol) -> np.ndarray:
    """Return the [N, 3] float64 coordinates of ``mol``'s first conformer, or raise :class:`FeaturizeError`.

    A missing conformer, a conformer flagged 2D, an all-zero z column (a 2D block
    saved as 3D) and NaN/infinite values all count as "missing 3D coordinates".
    The one exception is a linear molecule lying on an axis (e.g. QM9's gdb_23,
    HC#C-C#CH), whose z column is legitimately all zero.
    """
    if mol.GetNumConformers() == 0:
        raise FeaturizeError("missing 3D coordinates (no conformer)")
    conf = mol.GetConformer()
    pos = np.asarray(conf.GetPositions(), dtype=np.float64).reshape(-1, 3)  # [N, 3]
    if not np.isfinite(pos).all():
        raise FeaturizeError("NaN or infinite coordinates")
    if not conf.Is3D():
        raise FeaturizeError("missing 3D coordinates (2D conformer)")
    if pos.shape[0] > 1 and not np.any(pos[:, 2]) and not _collinear(pos):
        raise FeaturizeError("missing 3D coordinates (all z = 0, a 2D block)")
    return pos


def _collinear(pos: np.ndarray, tol: float = 1e-3) -> bool:
    """Whether the [N, 3] points lie on one line (second singular value of the centred cloud below ``tol``)."""
    singular = np.linalg.svd(pos - pos.mean(axis=0), compute_uv=False)
    return bool(singular.shape[0] < 2 or singular[1] < tol)


def featurize_mol(
    mol: Chem.Mol,
    *,
    name: str | None = None,
    props: dict[str, Any] | None = None,
    kekulize: bool = False,
    features: bool = True,
    add_hs: bool = False,
) -> MolGraph:
    """Turn a sanitised RDKit molecule with a 3D conformer into a :class:`MolGraph`.

    Args:
        mol: molecule with all hydrogens as explicit atoms (or ``add_hs=True``) and a 3D conformer.
        name: identifier; defaults to the ``_Name`` property.
        props: per-molecule properties; defaults to the molecule's own (SDF tags).
        kekulize: emit Kekulé bonds (1..3) instead of aromatic class 4.
        features: also fill ``is_aromatic``, ``is_in_ring`` and ``hybridization`` [N].
        add_hs: add missing hydrogens with 3D coordinates instead of rejecting the molecule.

    Raises:
        FeaturizeError: missing/NaN 3D coordinates, implicit hydrogens, a bond type outside 1..4.
        molgen.chem.vocab.VocabularyError: unsupported element or formal charge.
    """
    from rdkit import Chem

    from molgen.chem.sanitize import canonical_smiles

    if add_hs:
        mol = Chem.AddHs(mol, addCoords=True)
    elif any(atom.GetNumImplicitHs() for atom in mol.GetAtoms()):
        raise FeaturizeError("molecule has implicit hydrogens; hydrogens must be explicit atoms (or add_hs=True)")
    atom_types = [element_index(atom.GetSymbol()) for atom in mol.GetAtoms()]
    charges = [check_charge(atom.GetFormalCharge()) for atom in mol.GetAtoms()]
    pos = check_3d(mol)  # [N, 3]
    work = Chem.Mol(mol)
    if kekulize:
        Chem.Kekulize(work, clearAromaticFlags=True)
    pairs, classes = [], []
    for bond in work.GetBonds():
        cls = _bond_classes().get(bond.GetBondType())
        if cls is None:
            raise FeaturizeError(f"unsupported bond type {bond.GetBondType()} between atoms "
                                 f"{bond.GetBeginAtomIdx()} and {bond.GetEndAtomIdx()}")
        i, j = sorted((bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()))
        pairs.append((i, j))
        classes.append(cls)
    bond_index = torch.tensor(pairs, dtype=torch.long).reshape(-1, 2).T.contiguous()  # [2, B]
    extra: dict[str, torch.Tensor] = {}
    if features:
        extra = _atom_features(mol)
    if props is None:
        props = mol.GetPropsAsDict(includePrivate=False, includeComputed=False)
    if name is None:
        name = mol.GetProp("_Name") if mol.HasProp("_Name") else ""
    return MolGraph(
        pos=torch.from_numpy(pos).float(),
        atom_types=torch.tensor(atom_types, dtype=torch.long),
        charges=torch.tensor(charges, dtype=torch.long),
        bond_index=bond_index,
        bond_types=torch.tensor(classes, dtype=torch.long),
        name=name,
        smiles=canonical_smiles(mol),
        props=dict(props),
        **extra,
    )


def _atom_features(mol: Chem.Mol) -> dict[str, torch.Tensor]:
    """Optional per-atom features [N]: aromatic flag, ring membership, hybridisation class."""
    atoms = list(mol.GetAtoms())
    hyb = [HYBRIDIZATION_TO_INDEX.get(str(a.GetHybridization()), 0) for a in atoms]
    return {
        "is_aromatic": torch.tensor([a.GetIsAromatic() for a in atoms], dtype=torch.bool),
        "is_in_ring": torch.tensor([a.IsInRing() for a in atoms], dtype=torch.bool),
        "hybridization": torch.tensor(hyb, dtype=torch.long),
    }


def reconstruct_mol(graph: MolGraph, *, sanitize: bool = True, implicit_hydrogens: bool = False
                    ) -> ReconstructResult:
    """Build an RDKit molecule carrying ``graph``'s atoms, formal charges, bonds and coordinates.

    Hydrogens are taken to be explicit atoms (``NoImplicit`` is set), so RDKit
    never invents hydrogens; with ``implicit_hydrogens`` (a heavy-atom graph) RDKit
    fills each atom's remaining valence with implicit hydrogens instead. Sanitisation
    failures (bad valence, unkekulisable aromatic ring) are returned in the result, not raised.
    """
    from rdkit import Chem
    from rdkit.Geometry import Point3D
    from rdkit.rdBase import BlockLogs

    class_bond = {v: k for k, v in _bond_classes().items()}
    rw = Chem.RWMol()
    aromatic_atoms = set()
    if graph.num_bonds:
        i_all, j_all = graph.bond_index.tolist()
        for i, j, cls in zip(i_all, j_all, graph.bond_types.tolist(), strict=True):
            if cls == 4:
                aromatic_atoms.update((i, j))
    for k, (t, q) in enumerate(zip(graph.atom_types.tolist(), graph.charges.tolist(), strict=True)):
        atom = Chem.Atom(ATOMIC_NUMBERS[t])
        atom.SetFormalCharge(int(q))
        atom.SetNoImplicit(not implicit_hydrogens)
        atom.SetIsAromatic(k in aromatic_atoms)
        rw.AddAtom(atom)
    if graph.num_bonds:
        for i, j, cls in zip(i_all, j_all, graph.bond_types.tolist(), strict=True):
            rw.AddBond(int(i), int(j), class_bond[int(cls)])
            if cls == 4:
                rw.GetBondBetweenAtoms(int(i), int(j)).SetIsAromatic(True)
    conf = Chem.Conformer(graph.num_atoms)
    for k, (x, y, z) in enumerate(graph.pos.detach().cpu().double().tolist()):
        conf.SetAtomPosition(k, Point3D(x, y, z))
    conf.Set3D(True)
    rw.AddConformer(conf, assignId=True)
    mol = rw.GetMol()
    if graph.name:
        mol.SetProp("_Name", graph.name)
    if not sanitize:
        mol.UpdatePropertyCache(strict=False)
        return ReconstructResult(mol=mol, sanitized=False, error=None)
    try:
        with BlockLogs():  # the failure is returned in the result; RDKit's log line would only repeat it
            Chem.SanitizeMol(mol)
    except (ValueError, RuntimeError) as exc:  # RDKit: MolSanitizeException (a ValueError) or a RuntimeError
        mol.UpdatePropertyCache(strict=False)
        return ReconstructResult(mol=mol, sanitized=False, error=f"{type(exc).__name__}: {exc}")
    return ReconstructResult(mol=mol, sanitized=True, error=None)
