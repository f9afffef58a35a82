"""Bond perception: elements + coordinates (+ total charge) -> bonds and formal charges.

Used wherever a source gives only coordinates (QM9's XYZ files and qm9pack,
GEOM's msgpack release). RDKit's ``rdDetermineBonds.DetermineBonds`` (connect
the dots by covalent radii, then the xyz2mol bond-order / charge assignment)
is tried first; Open Babel (``openbabel-wheel``: ``ConnectTheDots`` +
``PerceiveBondOrders``) is the fallback when RDKit fails or disagrees with the
reference. When the source also carries its own SMILES/InChI, the perceived
molecule is cross-checked against it:

* canonical SMILES without stereo (hydrogens suppressed) must equal one of the
  reference SMILES, or
* when an InChI is given, the InChI main layer (formula, connections and
  hydrogens; charge, stereo and isotope layers ignored) must match.

:func:`perceive_bonds` returns a :class:`PerceiveResult` with the molecule or
a reason string; it never raises for chemistry failures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rdkit import Chem
from rdkit.Chem import AllChem, rdDetermineBonds
from rdkit.Geometry import Point3D
from rdkit.rdBase import BlockLogs

from molgen.chem.sanitize import canonical_smiles


@dataclass
class PerceiveResult:
    """``mol`` (sanitised, explicit H, 3D conformer) on success, else ``None`` and ``reason``.

    ``method`` names what produced the accepted molecule (``"rdkit"`` or ``"openbabel"``);
    ``detail`` lists what each method produced or why it failed.
    """

    mol: Chem.Mol | None
    reason: str | None = None
    method: str = ""
    detail: str = ""


def xyz_block(symbols: Sequence[str], pos: np.ndarray, title: str = "") -> str:
    """An XYZ-format text for ``symbols`` [N] and ``pos`` [N, 3] (Angstrom)."""
    lines = [str(len(symbols)), title.replace("\n", " ")]
    lines += [f"{s} {x:.10f} {y:.10f} {z:.10f}" for s, (x, y, z) in zip(symbols, np.asarray(pos), strict=True)]
    return "\n".join(lines) + "\n"


def inchi_main_layer(inchi: str) -> str:
    """``InChI=1S/formula/c.../h...`` part of an InChI (drops /q, /p, /b, /t, /m, /s, /i layers)."""
    parts = inchi.strip().split("/")
    keep = parts[:2] + [p for p in parts[2:] if p[:1] in ("c", "h")]
    return "/".join(keep)


def mol_inchi(mol: Chem.Mol) -> str:
    """Standard InChI of ``mol`` ("" when RDKit cannot make one), RDKit warnings silenced."""
    with BlockLogs():
        return Chem.MolToInchi(mol, options="-w") or ""


def check_against_reference(mol: Chem.Mol, smiles: Sequence[str] = (), inchi: Sequence[str] = ()) -> str | None:
    """``None`` if ``mol`` agrees with any reference SMILES (or InChI main layer), else a reason string."""
    got = canonical_smiles(mol)
    refs = [_canonical_or_none(s) for s in smiles if s]
    if got in refs:
        return None
    if inchi:
        mine = inchi_main_layer(mol_inchi(mol))
        if mine and mine in {inchi_main_layer(i) for i in inchi if i}:
            return None
    return "perceived bonds disagree with reference SMILES/InChI"


def _canonical_or_none(smiles: str) -> str | None:
    with BlockLogs():
        ref = Chem.MolFromSmiles(smiles)
    return None if ref is None else Chem.MolToSmiles(ref, isomericSmiles=False)


#: The SD property marking a record whose bond orders and charges were re-derived from its hydrogens.
REDERIVED = "molgen_bond_orders"


def consistent_record(mol: Chem.Mol, props: dict) -> tuple[Chem.Mol, dict]:
    """A read record as its explicit hydrogens say: :func:`hydrogen_consistent_bond_orders` of ``mol`` with
    :data:`REDERIVED` added to ``props`` where that re-derived it, else ``(mol, props)`` unchanged."""
    fixed = hydrogen_consistent_bond_orders(mol)
    if fixed is None:
        return mol, props
    return fixed, {**props, REDERIVED: "bond orders and charges fit the explicit hydrogens"}


def hydrogen_consistent_bond_orders(mol: Chem.Mol) -> Chem.Mol | None:
    """Bond orders and formal charges re-derived so that the record's explicit hydrogens are all it has.

    Some SDF writers (OEChem in QM9's ``gdb9.sdf``: gdb_23, 24, 45, 76, 89 of the first 100) store every
    hydrogen as an atom with coordinates but write formal charges, radicals (the valence field) or bond
    orders that contradict them: RDKit then derives hydrogens the file does not have (gdb_24, HC#C-C#N,
    is read as ``[H][C]C#C[NH3+]``) or radicals (gdb_23, HC#C-C#CH, as ``[H][C]C#C[C][H]``). The
    hydrogens are the measured part of such a record; this keeps its atoms, hydrogens and connectivity and
    assigns bond orders and charges (RDKit's ``DetermineBondOrders``) at the record's total charge, else
    neutral, with no implicit hydrogen and no radical.

    Returns the sanitised molecule (same atom order and conformer), or ``None`` when ``mol`` is not such a
    record (it needs an explicit hydrogen, and a radical or an implicit hydrogen beside a written charge)
    or when no closed-shell assignment fits (a real radical stays as it is).
    """
    atoms = list(mol.GetAtoms())
    radical = any(a.GetNumRadicalElectrons() for a in atoms)
    charged_implicit = any(a.GetFormalCharge() for a in atoms) and any(a.GetNumImplicitHs() for a in atoms)
    if not (any(a.GetAtomicNum() == 1 for a in atoms) and (radical or charged_implicit)):
        return None
    skeleton = Chem.RWMol(mol)
    for atom in skeleton.GetAtoms():
        atom.SetFormalCharge(0)
        atom.SetNumRadicalElectrons(0)
        atom.SetNumExplicitHs(0)
        atom.SetNoImplicit(True)
        atom.SetIsAromatic(False)
    for bond in skeleton.GetBonds():
        bond.SetBondType(Chem.BondType.SINGLE)
        bond.SetIsAromatic(False)
    for charge in dict.fromkeys((Chem.GetFormalCharge(mol), 0)):
        candidate = Chem.Mol(skeleton)
        try:
            with BlockLogs():
                rdDetermineBonds.DetermineBondOrders(candidate, charge=charge)
                Chem.SanitizeMol(candidate)
        except (ValueError, RuntimeError, Chem.rdchem.MolSanitizeException):
            continue
        if not any(a.GetNumImplicitHs() or a.GetNumRadicalElectrons() for a in candidate.GetAtoms()):
            return candidate
    return None


def _rdkit_perceive(symbols: Sequence[str], pos: np.ndarray, charge: int) -> Chem.Mol:
    with BlockLogs():
        mol = Chem.MolFromXYZBlock(xyz_block(symbols, pos))
        if mol is None:
            raise ValueError("RDKit could not read the coordinates")
        rdDetermineBonds.DetermineBonds(mol, charge=charge)
        Chem.SanitizeMol(mol)
    return mol


def _openbabel_perceive(symbols: Sequence[str], pos: np.ndarray, charge: int) -> Chem.Mol:
    from openbabel import openbabel as ob  # optional at import time: only this fallback needs it

    conv = ob.OBConversion()
    conv.SetInAndOutFormats("xyz", "mol")
    obmol = ob.OBMol()
    ob.obErrorLog.StopLogging()  # its stereo-wedge warnings are irrelevant here and flood multi-process logs
    try:
        if not conv.ReadString(obmol, xyz_block(symbols, pos)):
            raise ValueError("Open Babel could not read the coordinates")
        obmol.SetTotalCharge(charge)
        block = conv.WriteString(obmol)
    finally:
        ob.obErrorLog.StartLogging()
    with BlockLogs():
        mol = Chem.MolFromMolBlock(block, removeHs=False, sanitize=True)
    if mol is None:
        raise ValueError("Open Babel's bonds do not sanitise in RDKit")
    return mol


def connectivity_key(mol: Chem.Mol) -> str:
    """Canonical SMILES of ``mol``'s bare graph: explicit-H atoms, every bond single, no charges or aromaticity.

    Two molecules with the same key differ at most in bond orders and formal charges
    (e.g. a zwitterionic and a neutral Lewis structure of the same atoms and H placement).
    """
    rw = Chem.RWMol(Chem.AddHs(mol))
    for atom in rw.GetAtoms():
        atom.SetFormalCharge(0)
        atom.SetIsAromatic(False)
        atom.SetNoImplicit(True)
        atom.SetNumExplicitHs(0)
    for bond in rw.GetBonds():
        bond.SetBondType(Chem.BondType.SINGLE)
        bond.SetIsAromatic(False)
    bare = rw.GetMol()
    bare.UpdatePropertyCache(strict=False)
    return Chem.MolToSmiles(bare)


def _reference_bond_orders(symbols: Sequence[str], pos: np.ndarray, charge: int, smiles: Sequence[str]) -> Chem.Mol:
    """Connect the dots, then take bond orders and charges from a reference SMILES (of total ``charge``)
    with the same bare graph."""
    with BlockLogs():
        mol = Chem.MolFromXYZBlock(xyz_block(symbols, pos))
        if mol is None:
            raise ValueError("RDKit could not read the coordinates")
        rdDetermineBonds.DetermineConnectivity(mol)
        key = connectivity_key(mol)
        for ref in _parsed(smiles):
            if Chem.GetFormalCharge(ref) != charge or connectivity_key(ref) != key:
                continue
            assigned = AllChem.AssignBondOrdersFromTemplate(Chem.AddHs(ref), mol)
            Chem.SanitizeMol(assigned)
            return assigned
    raise ValueError("connectivity differs from every reference SMILES")


def perceive_bonds(symbols: Sequence[str], pos: np.ndarray, charge: int = 0, *,
                   reference_smiles: Sequence[str] = (), reference_inchi: Sequence[str] = (),
                   openbabel_fallback: bool = True) -> PerceiveResult:
    """Perceive bonds/charges for atoms ``symbols`` [N] at ``pos`` [N, 3] with total ``charge``.

    With references, a molecule is accepted only if :func:`check_against_reference` agrees;
    otherwise the first successful perception is accepted. When neither RDKit nor Open
    Babel reproduces a reference SMILES but the geometry's bare graph (atoms, H placement,
    connections) equals the reference's, the reference's bond orders and charges are
    adopted (method ``"reference"``): the two differed only in the Lewis structure, e.g. a
    zwitterion perceived as its neutral resonance form. The returned molecule keeps the
    input atom order and exact coordinates.
    """
    pos = np.asarray(pos, dtype=np.float64)
    if pos.shape != (len(symbols), 3) or not np.isfinite(pos).all():
        return PerceiveResult(None, f"bad coordinates: shape {pos.shape} for {len(symbols)} atoms or non-finite")
    has_reference = bool(reference_smiles) or bool(reference_inchi)
    methods = [("rdkit", _rdkit_perceive)] + ([("openbabel", _openbabel_perceive)] if openbabel_fallback else [])
    if reference_smiles:
        methods.append(("reference", lambda s, p, q: _reference_bond_orders(s, p, q, reference_smiles)))
    attempts: list[str] = []
    disagreed = False
    for label, method in methods:
        try:
            mol = method(symbols, pos, charge)
        except (ValueError, RuntimeError) as exc:  # RDKit reports failure to assign bond orders as either
            attempts.append(f"{label}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
            continue
        if not has_reference or check_against_reference(mol, reference_smiles, reference_inchi) is None:
            _set_positions(mol, pos)
            return PerceiveResult(mol, None, label, "; ".join(attempts))
        disagreed = True
        attempts.append(f"{label}: {canonical_smiles(mol)}")
    reason = "perceived bonds disagree with reference SMILES/InChI" if disagreed else "bond perception failed"
    return PerceiveResult(None, reason, "", "; ".join(attempts))


def _parsed(smiles: Sequence[str]) -> list[Chem.Mol]:
    with BlockLogs():
        mols = [Chem.MolFromSmiles(s) for s in smiles if s]
    return [m for m in mols if m is not None]


def _set_positions(mol: Chem.Mol, pos: np.ndarray) -> None:
    """Put the exact input coordinates [N, 3] back (a molfile round trip keeps only 4 decimals)."""
    conf = mol.GetConformer()
    for k, (x, y, z) in enumerate(pos.tolist()):
        conf.SetAtomPosition(k, Point3D(x, y, z))
