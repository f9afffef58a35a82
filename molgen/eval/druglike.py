"""Drug-likeness and composition: QED, SA score, logP, Lipinski, ring sizes, atom types.

Per-molecule properties are computed on the sanitised molecule (invalid molecules get
empty values). Ring-size and atom-type distributions are compared with the reference
by total variation distance (half the L1 distance between the two histograms).
"""

from __future__ import annotations

from collections import Counter
from functools import cache

import numpy as np
from rdkit import Chem, rdBase
from rdkit.Chem import QED, Crippen, Descriptors, Lipinski

from molgen.chem.sanitize import sanitized_copy, without_hydrogens
from molgen.eval.group import EvalOptions, ReferenceData, Rows, Share

#: Ring sizes above this are pooled into one ``>8`` bin.
MAX_RING_BIN = 8


@cache
def _sascorer():
    """RDKit Contrib's SA score module (Ertl & Schuffenhauer 2009), imported once on first use."""
    from rdkit.Contrib.SA_Score import sascorer

    return sascorer


def lipinski_violations(mol: Chem.Mol) -> int:
    """Number of Lipinski rule-of-five violations (MW > 500, logP > 5, HBD > 5, HBA > 10)."""
    return sum(
        (
            Descriptors.MolWt(mol) > 500,
            Crippen.MolLogP(mol) > 5,
            Lipinski.NumHDonors(mol) > 5,
            Lipinski.NumHAcceptors(mol) > 10,
        )
    )


def ring_size_label(size: int) -> str:
    return str(size) if size <= MAX_RING_BIN else f">{MAX_RING_BIN}"


def compute(mols: list[Chem.Mol], options: EvalOptions) -> Rows:
    rows = []
    for mol in mols:
        elements = [a.GetSymbol() for a in mol.GetAtoms()]
        clean = sanitized_copy(mol)
        row = {"_elements": elements, "_ring_sizes": []}
        if clean is not None:
            with rdBase.BlockLogs():  # QED and SA call RemoveHs again: lone H atoms are noted
                heavy = without_hydrogens(clean)
                row.update(
                    {
                        "druglike.qed": QED.qed(heavy),
                        "druglike.sa": _sascorer().calculateScore(heavy),
                        "druglike.logp": Crippen.MolLogP(heavy),
                        "druglike.mol_weight": Descriptors.MolWt(heavy),
                        "druglike.lipinski_violations": lipinski_violations(heavy),
                    }
                )
                row["_ring_sizes"] = [ring_size_label(len(r)) for r in heavy.GetRingInfo().AtomRings()]
        rows.append(row)
    return rows


def histogram(rows: Rows, key: str) -> dict[str, float]:
    """Normalised histogram of the list-valued ``key`` pooled over ``rows``."""
    counts = Counter(item for r in rows for item in r.get(key, []))
    total = sum(counts.values())
    return {k: v / total for k, v in sorted(counts.items())} if total else {}


def total_variation(p: dict[str, float], q: dict[str, float]) -> float:
    """Total variation distance between two normalised histograms."""
    keys = set(p) | set(q)
    return 0.5 * sum(abs(p.get(k, 0.0) - q.get(k, 0.0)) for k in keys)


def summarize(rows: Rows, reference: ReferenceData | None, options: EvalOptions) -> dict:
    valid = [r for r in rows if "druglike.qed" in r]
    out: dict = {"n_valid": len(valid)}
    for name in ("qed", "sa", "logp", "mol_weight"):
        values = [r[f"druglike.{name}"] for r in valid]
        out[f"{name}_mean"] = float(np.mean(values)) if values else float("nan")
    violations = [r["druglike.lipinski_violations"] for r in valid]
    out["lipinski_pass"] = Share(sum(v == 0 for v in violations), len(valid), "valid")
    out["lipinski_ro5"] = Share(sum(v <= 1 for v in violations), len(valid), "valid")
    out["atom_types"] = histogram(rows, "_elements")
    out["ring_sizes"] = histogram(rows, "_ring_sizes")
    if reference is not None and reference.rows:
        out["atom_type_tv"] = total_variation(out["atom_types"], histogram(reference.rows, "_elements"))
        out["ring_size_tv"] = total_variation(out["ring_sizes"], histogram(reference.rows, "_ring_sizes"))
    return out


DEFINITIONS = {
    "n_valid": "valid molecules used for drug-likeness",
    "qed_mean": "mean QED (RDKit) over valid molecules",
    "sa_mean": "mean synthetic accessibility score (RDKit Contrib sascorer; 1 easy .. 10 hard)",
    "logp_mean": "mean Crippen logP",
    "mol_weight_mean": "mean molecular weight (g/mol)",
    "lipinski_pass": "valid molecules with no Lipinski violation / valid molecules",
    "lipinski_ro5": "valid molecules with at most one Lipinski violation (rule of five) / valid molecules",
    "atom_types": "fraction of atoms per element (all molecules, hydrogens as written)",
    "ring_sizes": "fraction of rings per ring size (valid molecules, SSSR)",
    "atom_type_tv": "total variation distance of the atom-type distribution to the reference",
    "ring_size_tv": "total variation distance of the ring-size distribution to the reference",
}
