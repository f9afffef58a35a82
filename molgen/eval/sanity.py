"""Geometry sanity: reference-free checks that a set of 3D molecules is physically possible at all.

Reported first (and as a loud warning by ``molgen evaluate``) because every other metric
can look fine on impossible coordinates (e.g. all atoms at the origin):

* ``collapsed``: every atom within :data:`COLLAPSE_RADIUS` of the centroid (or no conformer);
* ``close_pair``: some pair of atoms closer than :data:`MIN_PAIR_DISTANCE`;
* ``bad_bond_length``: some bond outside its element pair's range, i.e. the sum of the
  two covalent radii (RDKit's table) +- :data:`BOND_TOLERANCE` (covers single to triple bonds).
"""

from __future__ import annotations

import numpy as np
from rdkit import Chem

from molgen.eval.group import EvalOptions, ReferenceData, Rows, Share

COLLAPSE_RADIUS = 0.1  # Angstrom
MIN_PAIR_DISTANCE = 0.5  # Angstrom
BOND_TOLERANCE = 0.45  # Angstrom around r_cov(a) + r_cov(b)
CHECKS = ("collapsed", "close_pair", "bad_bond_length")


def check_molecule(mol: Chem.Mol) -> dict[str, bool]:
    """The three sanity flags of one molecule (True = problem)."""
    if mol.GetNumConformers() == 0 or mol.GetNumAtoms() == 0:
        return {"collapsed": True, "close_pair": False, "bad_bond_length": False}
    pos = mol.GetConformer().GetPositions()  # [N, 3]
    collapsed = bool(np.all(np.linalg.norm(pos - pos.mean(axis=0), axis=1) < COLLAPSE_RADIUS))
    close = False
    if len(pos) > 1:
        dist = np.linalg.norm(pos[:, None, :] - pos[None, :, :], axis=-1)  # [N, N]
        close = bool(dist[np.triu_indices(len(pos), k=1)].min() < MIN_PAIR_DISTANCE)
    return {"collapsed": collapsed, "close_pair": close, "bad_bond_length": _bad_bond(mol, pos)}


def _bad_bond(mol: Chem.Mol, pos: np.ndarray) -> bool:
    table = Chem.GetPeriodicTable()
    for bond in mol.GetBonds():
        a, b = bond.GetBeginAtom(), bond.GetEndAtom()
        expected = table.GetRcovalent(a.GetAtomicNum()) + table.GetRcovalent(b.GetAtomicNum())
        length = float(np.linalg.norm(pos[a.GetIdx()] - pos[b.GetIdx()]))
        if abs(length - expected) > BOND_TOLERANCE:
            return True
    return False


def compute(mols: list[Chem.Mol], options: EvalOptions) -> Rows:
    rows = []
    for mol in mols:
        flags = check_molecule(mol)
        rows.append({f"sanity.{k}": v for k, v in flags.items()})
    return rows


def summarize(rows: Rows, reference: ReferenceData | None, options: EvalOptions) -> dict:
    n = len(rows)
    out: dict = {"n_molecules": n}
    for check in CHECKS:
        out[f"frac_{check}"] = Share(sum(r[f"sanity.{check}"] for r in rows), n, empty=0.0)
    out["frac_any_problem"] = Share(sum(any(r[f"sanity.{c}"] for c in CHECKS) for r in rows), n, empty=0.0)
    return out


def warnings_of(summary: dict) -> list[str]:
    """Loud one-line warnings for every sanity fraction above zero (``summary``: this group's dict)."""
    words = {"collapsed": f"collapsed coordinates (all atoms within {COLLAPSE_RADIUS} A)",
             "close_pair": f"an atom pair closer than {MIN_PAIR_DISTANCE} A",
             "bad_bond_length": "a bond length outside its element pair's range"}
    return [f"WARNING: {summary[f'frac_{c}']:.1%} of the molecules have {words[c]}"
            for c in CHECKS if summary.get(f"frac_{c}", 0) > 0]


DEFINITIONS = {
    "n_molecules": "molecules checked",
    "frac_collapsed": f"fraction with all atoms within {COLLAPSE_RADIUS} A of their centroid (or no coordinates)",
    "frac_close_pair": f"fraction with an atom pair closer than {MIN_PAIR_DISTANCE} A",
    "frac_bad_bond_length": f"fraction with a bond outside r_cov(a) + r_cov(b) +- {BOND_TOLERANCE} A",
    "frac_any_problem": "fraction with at least one of the three problems",
}
