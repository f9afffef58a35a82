"""The sanitised, hydrogen-suppressed view of an RDKit molecule (RDKit only, no torch).

Shared by featurisation (:mod:`molgen.chem.featurize`: a graph's SMILES) and evaluation
(validity, diversity, drug-likeness, geometry, reference sets, the HTML report).

Hydrogen handling (one rule, :data:`HYDROGEN_RULE`, for the SMILES and the heavy-atom graph):
every hydrogen bonded to exactly one heavy atom becomes implicit, whatever its isotope, stereo
role, atom map or S-group, so a molecule drawn with explicit or implicit hydrogens (or from two
conformers) gives the same SMILES. Hydrogens that are not simply attached stay atoms: a free H
atom or ion (``C.[H]``), H2, a bridging hydrogen (two or more bonds), and a hydride (``[H-]``),
so a stray or charged hydrogen in a generated molecule is never hidden.
"""

from __future__ import annotations

from rdkit import Chem, rdBase


def _hydrogen_rule() -> Chem.RemoveHsParameters:
    params = Chem.RemoveHsParameters()
    for name in ("removeIsotopes", "removeDefiningBondStereo", "removeDummyNeighbors", "removeInSGroups",
                 "removeMapped", "removeNonimplicit", "removeNontetrahedralNeighbors", "removeWithQuery",
                 "removeWithWedgedBond"):
        setattr(params, name, True)
    for name in ("removeDegreeZero", "removeHigherDegrees", "removeOnlyHNeighbors", "removeHydrides",
                 "removeAndTrackIsotopes", "showWarnings"):
        setattr(params, name, False)
    return params


#: Which explicit hydrogens :func:`without_hydrogens` and :func:`canonical_smiles` make implicit (module docstring).
HYDROGEN_RULE = _hydrogen_rule()


def sanitized_copy(mol: Chem.Mol) -> Chem.Mol | None:
    """A sanitised copy of ``mol``, or ``None`` when RDKit sanitisation fails (``mol`` is not changed).

    An aromatic bond outside every ring also fails: RDKit sanitises one read from a file (bond type 4
    between atoms that are not flagged aromatic), but built from a graph the same molecule fails
    kekulisation ("non-ring atom marked aromatic"), so a molecule is judged alike however it arrives.
    """
    copy = Chem.Mol(mol)
    with rdBase.BlockLogs():
        try:
            Chem.SanitizeMol(copy)
        except (ValueError, RuntimeError):  # RDKit raises MolSanitizeException subclasses of ValueError
            return None
    aromatic = Chem.BondType.AROMATIC
    if any((bond.GetBondType() == aromatic or bond.GetIsAromatic()) and not bond.IsInRing()
           for bond in copy.GetBonds()):
        return None
    return copy


def largest_fragment(mol: Chem.Mol) -> Chem.Mol:
    """The fragment with the most atoms (unsanitised, bonds as written)."""
    frags = Chem.GetMolFrags(mol, asMols=True, sanitizeFrags=False)
    return max(frags, key=lambda m: m.GetNumAtoms())


def without_hydrogens(mol: Chem.Mol) -> Chem.Mol:
    """Sanitised copy of a sanitised ``mol`` with its hydrogens implicit under :data:`HYDROGEN_RULE`."""
    with rdBase.BlockLogs():
        return Chem.RemoveHs(mol, HYDROGEN_RULE, sanitize=True)


def canonical_smiles(mol: Chem.Mol, isomeric: bool = False) -> str:
    """Canonical SMILES of ``mol`` with hydrogens implicit under :data:`HYDROGEN_RULE`.

    Stereochemistry is dropped unless ``isomeric``. ``mol`` is not sanitised again: pass a
    sanitised molecule (:func:`sanitized_copy`) for a SMILES that compares across files.
    """
    with rdBase.BlockLogs():
        return Chem.MolToSmiles(Chem.RemoveHs(mol, HYDROGEN_RULE, sanitize=False), isomericSmiles=isomeric)
