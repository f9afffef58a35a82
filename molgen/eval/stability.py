"""Atom and molecule stability from the bonds and formal charges as written (no sanitisation).

Three definitions are reported side by side:

* legacy (MiDi/EQGAT-diff, to compare with papers): an atom's valence is the sum of
  its bond orders with aromatic bonds cast to 1 (their code writes 1.5 into an integer
  tensor), checked against :data:`~molgen.eval.valence_tables.LEGACY_MIDI` (which
  accepts some radicals and falls back to the neutral entry for unlisted charges);
* edm (EDM and the QM9 papers before charges were modelled): the same cast valence
  checked against the charge-free :data:`~molgen.eval.valence_tables.LEGACY_EDM`;
* corrected (Nikitin et al. 2025): an atom's configuration is
  ``(aromatic bond count, sum of non-aromatic bond orders)``, checked against
  :data:`~molgen.eval.valence_tables.CORRECTED` for its exact formal charge.

Hydrogens count as written: explicit H atoms plus explicit H counts on heavy atoms. A
molecule written without any hydrogen atom (crystal ligands, heavy-atom SDFs) would fail almost
every atom that way (imatinib: 3 of 37), so it is judged with the hydrogens RDKit implies
for it (its implicit H; none for atoms marked "no implicit", as molgen writes them), and
``mols_without_h`` counts such molecules; the CLI and the report say so.
"""

from __future__ import annotations

from dataclasses import dataclass

from rdkit import Chem

from molgen.eval.group import EvalOptions, ReferenceData, Rows, Share
from molgen.eval.valence_tables import corrected_allows, edm_allows, legacy_allows

_LEGACY_ORDER = {Chem.BondType.SINGLE: 1, Chem.BondType.DOUBLE: 2, Chem.BondType.TRIPLE: 3, Chem.BondType.AROMATIC: 1}


@dataclass(frozen=True)
class AtomValence:
    """Valence bookkeeping of one atom: legacy integer valence and the corrected configuration."""

    symbol: str
    charge: int
    legacy_valence: int
    n_aromatic: int
    non_aromatic_valence: float


def atom_valences(mol: Chem.Mol, implicit_h: bool = False) -> list[AtomValence]:
    """Per-atom valences of ``mol`` from its bonds as written, hydrogens included (``implicit_h``: RDKit's
    implicit hydrogens too)."""
    result = []
    for atom in mol.GetAtoms():
        n_h = atom.GetNumExplicitHs() + (atom.GetNumImplicitHs() if implicit_h else 0)
        legacy, n_aromatic, other = n_h, 0, float(n_h)
        for bond in atom.GetBonds():
            kind = bond.GetBondType()
            legacy += _LEGACY_ORDER.get(kind, 0)
            if kind == Chem.BondType.AROMATIC:
                n_aromatic += 1
            else:
                other += bond.GetBondTypeAsDouble()
        result.append(AtomValence(atom.GetSymbol(), atom.GetFormalCharge(), legacy, n_aromatic, other))
    return result


TABLES = ("edm", "legacy", "corrected")


def has_explicit_h(mol: Chem.Mol) -> bool:
    """Whether ``mol`` is written with hydrogen atoms (without them, RDKit's implicit H are counted too:
    a heavy-atom record, or one whose few explicit H counts RDKit kept on N or O)."""
    return any(a.GetAtomicNum() == 1 for a in mol.GetAtoms())


def atom_stability(mol: Chem.Mol, implicit_h: bool = False) -> dict[str, list[bool]]:
    """Per-atom stability flags of ``mol`` under each table: ``{"edm": [...], "legacy": [...], "corrected": [...]}``."""
    flags: dict[str, list[bool]] = {t: [] for t in TABLES}
    for v in atom_valences(mol, implicit_h):
        flags["edm"].append(edm_allows(v.symbol, v.legacy_valence))
        flags["legacy"].append(legacy_allows(v.symbol, v.charge, v.legacy_valence))
        flags["corrected"].append(corrected_allows(v.symbol, v.charge, v.n_aromatic, v.non_aromatic_valence))
    return flags


def compute(mols: list[Chem.Mol], options: EvalOptions) -> Rows:
    rows = []
    for mol in mols:
        has_h = has_explicit_h(mol)
        flags = atom_stability(mol, implicit_h=not has_h)
        row = {"stability.n_atoms": mol.GetNumAtoms()}
        for table, stable in flags.items():
            row[f"stability.stable_atoms_{table}"] = sum(stable)
            row[f"stability.mol_stable_{table}"] = all(stable)
        row["stability.has_h"] = has_h
        rows.append(row)
    return rows


def summarize(rows: Rows, reference: ReferenceData | None, options: EvalOptions) -> dict:
    n = len(rows)
    n_atoms = sum(r["stability.n_atoms"] for r in rows)
    if n == 0 or n_atoms == 0:
        return {"n_samples": n}
    out = {}
    for table in TABLES:
        out[f"atom_stable_{table}"] = Share(sum(r[f"stability.stable_atoms_{table}"] for r in rows), n_atoms, "atoms")
        out[f"mol_stable_{table}"] = Share(sum(r[f"stability.mol_stable_{table}"] for r in rows), n)
    out["mols_without_h"] = Share(sum(not r["stability.has_h"] for r in rows), n)
    return out


DEFINITIONS = {
    "n_samples": "number of molecules evaluated (reported alone when there are none)",
    "atom_stable_edm": "legacy (EDM): stable atoms / all atoms; aromatic bond counted as 1, charge-free EDM table",
    "mol_stable_edm": "legacy (EDM): molecules whose atoms are all stable (EDM table) / all samples",
    "atom_stable_legacy": "legacy (EDM/MiDi/EQGAT-diff): stable atoms / all atoms; aromatic bond counted as 1, "
    "MiDi valence table (accepts radicals, unlisted charges use the neutral entry)",
    "atom_stable_corrected": "corrected (Nikitin et al. 2025): stable atoms / all atoms; aromatic-aware, "
    "charge-aware valence table",
    "mol_stable_legacy": "legacy: molecules whose atoms are all stable (legacy table) / all samples",
    "mol_stable_corrected": "corrected: molecules whose atoms are all stable (corrected table) / all samples",
    "mols_without_h": "molecules written without any hydrogen / all samples: their stability counts the "
    "hydrogens RDKit implies (implicit H), the others' only the hydrogens written",
}


def warnings_of(summary: dict) -> list[str]:
    """A one-line note when some molecules had no explicit hydrogen (``summary``: this group's dict)."""
    share = summary.get("mols_without_h")
    if not share:
        return []
    counted = share.counted() if isinstance(share, Share) else f"{share:.1%} of the molecules"
    return [f"NOTE: {counted} have no explicit hydrogens; their stability counts the hydrogens RDKit implies "
            "(legacy and corrected side by side in the report)"]
