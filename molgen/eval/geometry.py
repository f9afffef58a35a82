"""Geometry: bond-length, bond-angle and torsion distributions against the reference, MMFF strain.

Distributions use heavy atoms only, typed by elements (bonds also by order, e.g. ``C:N``
for aromatic, ``C=O``); each type present at least ``MIN_COUNT`` times in both sets is
compared with the 1-Wasserstein distance (``scipy.stats.wasserstein_distance``), and the
per-type distances are averaged with weights equal to the type's count in the samples.
Units: Angstrom for bonds, degrees for angles and for torsions (absolute value, 0..180).

Strain energy (``strain`` group) is MMFF94 energy of the pose minus the energy after
local relaxation (minimisation from the pose), kcal/mol, computed with hydrogens
(added with coordinates when missing). Molecules MMFF cannot type are counted.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from rdkit import Chem
from rdkit.Chem import AllChem
from scipy.stats import wasserstein_distance

from molgen.chem.sanitize import sanitized_copy
from molgen.eval.group import EvalOptions, ReferenceData, Rows, Share, skipped_count

MIN_COUNT = 5
_BOND_SYMBOL = {Chem.BondType.SINGLE: "-", Chem.BondType.DOUBLE: "=", Chem.BondType.TRIPLE: "#"}


def has_3d(mol: Chem.Mol) -> bool:
    """True when ``mol`` has a conformer with non-planar (non-zero z) coordinates or is flagged 3D."""
    if mol.GetNumConformers() == 0:
        return False
    conf = mol.GetConformer()
    return conf.Is3D() or bool(np.any(conf.GetPositions()[:, 2] != 0.0))


def _dihedral(p0: np.ndarray, p1: np.ndarray, p2: np.ndarray, p3: np.ndarray) -> float:
    """Absolute dihedral angle in degrees (0..180) of four points [3]."""
    b0, b1, b2 = p0 - p1, p2 - p1, p3 - p2
    b1 = b1 / (np.linalg.norm(b1) + 1e-12)
    v = b0 - np.dot(b0, b1) * b1
    w = b2 - np.dot(b2, b1) * b1
    return float(abs(np.degrees(np.arctan2(np.dot(np.cross(b1, v), w), np.dot(v, w)))))


def geometry_samples(mol: Chem.Mol) -> dict[str, list[tuple[str, float]]]:
    """Typed bond lengths, bond angles and torsions of the heavy atoms of ``mol`` (as written)."""
    pos = mol.GetConformer().GetPositions()  # [N, 3]
    sym = [a.GetSymbol() for a in mol.GetAtoms()]
    heavy = [a.GetAtomicNum() > 1 for a in mol.GetAtoms()]
    nbrs = defaultdict(list)
    bonds, angles, torsions = [], [], []
    for bond in mol.GetBonds():
        i, j = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        if not (heavy[i] and heavy[j]):
            continue
        nbrs[i].append(j)
        nbrs[j].append(i)
        a, b = sorted((sym[i], sym[j]))
        bonds.append((f"{a}{_BOND_SYMBOL.get(bond.GetBondType(), ':')}{b}", float(np.linalg.norm(pos[i] - pos[j]))))
    for j, ns in nbrs.items():
        for x in range(len(ns)):
            for y in range(x + 1, len(ns)):
                i, k = ns[x], ns[y]
                u, v = pos[i] - pos[j], pos[k] - pos[j]
                cos = np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v) + 1e-12)
                a, c = sorted((sym[i], sym[k]))
                angles.append((f"{a}-{sym[j]}-{c}", float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))))
    for j, ns in nbrs.items():
        for k in ns:
            if k < j:
                continue
            for i in (n for n in ns if n != k):
                for m in (n for n in nbrs[k] if n not in (j, i)):
                    label = min(f"{sym[i]}-{sym[j]}-{sym[k]}-{sym[m]}", f"{sym[m]}-{sym[k]}-{sym[j]}-{sym[i]}")
                    torsions.append((label, _dihedral(pos[i], pos[j], pos[k], pos[m])))
    return {"bonds": bonds, "angles": angles, "torsions": torsions}


def compute(mols: list[Chem.Mol], options: EvalOptions) -> Rows:
    rows = []
    for mol in mols:
        ok = has_3d(mol)
        rows.append({"geometry.has_3d": ok, "_geometry": geometry_samples(mol) if ok else None})
    return rows


def pooled(rows: Rows, kind: str) -> dict[str, np.ndarray]:
    """Values per type of one ``kind`` (bonds/angles/torsions) pooled over ``rows``."""
    values = defaultdict(list)
    for r in rows:
        for label, value in (r.get("_geometry") or {}).get(kind, []):
            values[label].append(value)
    return {k: np.asarray(v) for k, v in values.items()}


def typed_w1(samples: dict[str, np.ndarray], reference: dict[str, np.ndarray]) -> tuple[float, dict[str, float]]:
    """Count-weighted mean W1 over types common to both sets, and the W1 of each such type."""
    per_type = {
        t: float(wasserstein_distance(v, reference[t]))
        for t, v in samples.items()
        if len(v) >= MIN_COUNT and len(reference.get(t, ())) >= MIN_COUNT
    }
    if not per_type:
        return float("nan"), {}
    weights = np.array([len(samples[t]) for t in per_type], dtype=float)
    return float(np.average(list(per_type.values()), weights=weights)), per_type


def summarize(rows: Rows, reference: ReferenceData | None, options: EvalOptions) -> dict:
    out: dict = {"has_3d": Share(sum(bool(r["geometry.has_3d"]) for r in rows), len(rows), empty=0.0)}
    if reference is None or not reference.has_geometry or not reference.rows:
        return out
    for kind in ("bonds", "angles", "torsions"):
        samples = pooled(rows, kind)
        mean_w1, per_type = typed_w1(samples, pooled(reference.rows, kind))
        out[f"{kind}_w1"] = mean_w1
        top = sorted(per_type, key=lambda t: -len(samples[t]))[:8]
        out[f"{kind}_w1_per_type"] = {t: per_type[t] for t in top}
    return out


def strain_energy(mol: Chem.Mol, max_iters: int = 2000) -> float | None:
    """MMFF94 pose energy minus locally relaxed energy (kcal/mol); ``None`` if MMFF cannot type ``mol``."""
    clean = sanitized_copy(mol)
    if clean is None or not has_3d(clean):
        return None
    if any(a.GetTotalNumHs() > 0 for a in clean.GetAtoms() if a.GetAtomicNum() > 1):
        clean = Chem.AddHs(clean, addCoords=True)
    props = AllChem.MMFFGetMoleculeProperties(clean)
    if props is None:
        return None
    ff = AllChem.MMFFGetMoleculeForceField(clean, props)
    if ff is None:
        return None
    before = ff.CalcEnergy()
    ff.Minimize(maxIts=max_iters)
    return float(before - ff.CalcEnergy())


def compute_strain(mols: list[Chem.Mol], options: EvalOptions) -> Rows:
    return [{"strain.mmff_strain": strain_energy(m, options.mmff_max_iters)} for m in mols]


def summarize_strain(rows: Rows, reference: ReferenceData | None, options: EvalOptions) -> dict:
    values = np.array([r["strain.mmff_strain"] for r in rows if r.get("strain.mmff_strain") is not None])
    timeouts = sum(r.get("strain.status") == "timeout" for r in rows)
    skipped = skipped_count(rows, "strain")
    return {
        "n_mmff": int(values.size),
        "n_mmff_failed": len(rows) - int(values.size) - timeouts - skipped,
        "n_timeout": timeouts,
        "n_skipped": skipped,
        "strain_mean": float(values.mean()) if values.size else float("nan"),
        "strain_median": float(np.median(values)) if values.size else float("nan"),
    }


DEFINITIONS = {
    "has_3d": "molecules with 3D coordinates / all samples",
    "bonds_w1": "count-weighted mean W1 (Angstrom) of heavy-atom bond lengths per bond type vs the reference",
    "angles_w1": "count-weighted mean W1 (degrees) of heavy-atom bond angles per element triple vs the reference",
    "torsions_w1": "count-weighted mean W1 (degrees, |dihedral|) of torsions per element quadruple vs the reference",
    "bonds_w1_per_type": "W1 of the most frequent bond types",
    "angles_w1_per_type": "W1 of the most frequent angle types",
    "torsions_w1_per_type": "W1 of the most frequent torsion types",
}
STRAIN_DEFINITIONS = {
    "n_mmff": "molecules with an MMFF94 strain energy",
    "n_mmff_failed": "molecules MMFF94 could not handle (invalid, no 3D, or untypable)",
    "n_timeout": "molecules whose MMFF94 minimisation ran past --time-limit (strain.status 'timeout')",
    "n_skipped": "molecules with more atoms than --max-atoms, not minimised (strain.status 'skipped', "
    "strain.skip_reason 'too large')",
    "strain_mean": "mean MMFF94 strain (pose energy - locally relaxed energy), kcal/mol",
    "strain_median": "median MMFF94 strain, kcal/mol",
}
