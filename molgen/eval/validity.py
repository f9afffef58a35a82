"""Validity, connectivity, uniqueness and novelty.

Definitions (all fractions use the number of evaluated samples unless said otherwise):

* valid: RDKit sanitises the whole molecule (every fragment).
* valid_largest_fragment: RDKit sanitises the largest fragment (the EDM/MiDi
  definition, which hides invalid small fragments).
* connected: the molecule is one fragment (bonds as written).
* uniqueness: distinct canonical SMILES among valid molecules / all samples (corrected).
* uniqueness_legacy: distinct / valid molecules (what most papers report).
* novelty: distinct valid SMILES absent from the reference / distinct valid SMILES.

SMILES are :func:`molgen.chem.sanitize.canonical_smiles`: canonical, without stereochemistry,
hydrogens bonded to one heavy atom implicit (a free H atom stays), so the same graph drawn from
two conformers, or with explicit or implicit hydrogens, counts once.
"""

from __future__ import annotations

from rdkit import Chem

from molgen.chem.sanitize import canonical_smiles, largest_fragment, sanitized_copy
from molgen.eval.group import EvalOptions, ReferenceData, Rows, Share


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
        "valid": Share(len(valid), n),
        "valid_largest_fragment": Share(sum(r["validity.valid_largest_fragment"] for r in rows), n),
        "connected": Share(sum(r["validity.n_fragments"] == 1 for r in rows), n),
        "valid_and_connected": Share(sum(r["validity.valid"] and r["validity.n_fragments"] == 1 for r in rows), n),
        "uniqueness": Share(len(unique), n),
        "uniqueness_legacy": Share(len(unique), len(valid), "valid", empty=0.0),
    }
    if reference is not None and reference.smiles:
        novel = unique - reference.smiles
        out["novelty"] = Share(len(novel), len(unique), "distinct valid", empty=0.0)
        out["novel_unique_valid_fraction_of_samples"] = Share(len(novel), n)
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
