"""Validity, connectivity, uniqueness and novelty.

Definitions (all fractions use the number of evaluated samples unless said otherwise):

* valid: RDKit sanitises the whole molecule (every fragment).
* valid_largest_fragment: RDKit sanitises the largest fragment (the EDM/MiDi
  definition, which hides invalid small fragments).
* connected: the molecule is one fragment (bonds as written).
* uniqueness: distinct canonical SMILES among valid molecules / all samples (corrected).
* uniqueness_legacy: distinct / valid molecules (what most papers report).
* novelty: distinct valid SMILES absent from the reference / distinct valid SMILES.

SMILES are canonical, without stereochemistry and without explicit hydrogens, so the
same graph drawn from two conformers counts once.
"""

from __future__ import annotations

from rdkit import Chem, rdBase

from molgen.eval.registry import EvalOptions, MetricGroup, ReferenceData, Rows, register


def sanitized_copy(mol: Chem.Mol) -> Chem.Mol | None:
    """A sanitised copy of ``mol``, or ``None`` when RDKit sanitisation fails."""
    copy = Chem.Mol(mol)
    with rdBase.BlockLogs():
        try:
            Chem.SanitizeMol(copy)
        except (ValueError, RuntimeError):  # RDKit raises MolSanitizeException subclasses of ValueError
            return None
    return copy


def largest_fragment(mol: Chem.Mol) -> Chem.Mol:
    """The fragment with the most atoms (unsanitised, bonds as written)."""
    frags = Chem.GetMolFrags(mol, asMols=True, sanitizeFrags=False)
    return max(frags, key=lambda m: m.GetNumAtoms())


def without_hydrogens(mol: Chem.Mol) -> Chem.Mol:
    """Hydrogen-suppressed copy of a sanitised molecule (RDKit's notes on lone H atoms silenced)."""
    with rdBase.BlockLogs():
        return Chem.RemoveHs(mol)


def canonical_smiles(mol: Chem.Mol) -> str:
    """Canonical SMILES of a sanitised molecule, no stereo, hydrogens implicit."""
    with rdBase.BlockLogs():
        return Chem.MolToSmiles(Chem.RemoveHs(mol, sanitize=False), isomericSmiles=False)


def compute(mols: list[Chem.Mol], options: EvalOptions) -> Rows:
    rows = []
    for mol in mols:
        n_frags = len(Chem.GetMolFrags(mol))
        whole = sanitized_copy(mol)
        frag = whole if n_frags == 1 else sanitized_copy(largest_fragment(mol))
        rows.append(
            {
                "validity.valid": whole is not None,
                "validity.valid_largest_fragment": frag is not None,
                "validity.n_fragments": n_frags,
                "validity.smiles": canonical_smiles(whole) if whole is not None else "",
                "validity.largest_fragment_smiles": canonical_smiles(frag) if frag is not None else "",
            }
        )
    return rows


def summarize(rows: Rows, reference: ReferenceData | None, options: EvalOptions) -> dict:
    n = len(rows)
    if n == 0:
        return {"n_samples": 0}
    valid = [r["validity.smiles"] for r in rows if r["validity.valid"]]
    unique = set(valid)
    out = {
        "n_samples": n,
        "valid": len(valid) / n,
        "valid_largest_fragment": sum(r["validity.valid_largest_fragment"] for r in rows) / n,
        "connected": sum(r["validity.n_fragments"] == 1 for r in rows) / n,
        "valid_and_connected": sum(r["validity.valid"] and r["validity.n_fragments"] == 1 for r in rows) / n,
        "uniqueness": len(unique) / n,
        "uniqueness_legacy": len(unique) / len(valid) if valid else 0.0,
    }
    if reference is not None and reference.smiles:
        novel = unique - reference.smiles
        out["novelty"] = len(novel) / len(unique) if unique else 0.0
        out["novel_unique_valid_fraction_of_samples"] = len(novel) / n
    return out


DEFINITIONS = {
    "n_samples": "number of molecules evaluated",
    "valid": "corrected: RDKit sanitises the whole molecule / all samples",
    "valid_largest_fragment": "legacy (EDM/MiDi): RDKit sanitises the largest fragment / all samples",
    "connected": "molecule is a single fragment / all samples",
    "valid_and_connected": "valid whole molecule with one fragment / all samples",
    "uniqueness": "corrected: distinct valid canonical SMILES / all samples",
    "uniqueness_legacy": "legacy: distinct valid canonical SMILES / valid samples",
    "novelty": "distinct valid SMILES not in the reference / distinct valid SMILES",
    "novel_unique_valid_fraction_of_samples": "distinct valid SMILES not in the reference / all samples",
}

GROUP = register(
    MetricGroup(
        name="validity",
        description="RDKit validity, connectivity, uniqueness, novelty against the reference",
        compute=compute,
        summarize=summarize,
        definitions=DEFINITIONS,
        uses_reference=True,
    )
)
