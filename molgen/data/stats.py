"""Dataset statistics, computed once at processing time by streaming over a store.

They are the priors and normalisers the model and sampler need: the atom-count
distribution (to sample molecule sizes), atom-type / charge / bond-class
marginals (diffusion priors; the bond marginal counts *every* unordered atom
pair, non-bonded pairs as class 0 "none"), optional-feature marginals, and the
coordinate scale. They are saved as ``statistics.json`` next to the processed
data and never pasted into code.

Definitions (checked by hand in tests):
    num_atoms_hist[n]  number of molecules with n atoms.
    *_counts           raw counts; ``marginal(name)`` normalises them.
    bond_counts[0]     sum over molecules of n(n-1)/2 minus the molecule's bonds.
    coord_std          sqrt( sum_mol sum_atom |x - mean_mol|^2 / (3 N_total) ), i.e. the
                       per-axis std of coordinates centred per molecule (Angstrom).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from molgen.safe_write import write_text_atomic
from molgen.chem.molgraph import MolGraph
from molgen.chem.vocab import MIN_CHARGE, NUM_ATOM_TYPES, NUM_BOND_TYPES, NUM_CHARGES, NUM_HYBRIDIZATIONS
from molgen.data.store import MolStore, StoreWriter

_FEATURE_SIZES = {"is_aromatic": 2, "is_in_ring": 2, "hybridization": NUM_HYBRIDIZATIONS}


@dataclass
class DatasetStatistics:
    """Counts over one split of a processed dataset (see module docstring for definitions)."""

    num_molecules: int
    num_atoms: int
    num_bonds: int
    num_atoms_hist: list[int]
    atom_type_counts: list[int]
    charge_counts: list[int]
    bond_counts: list[int]
    coord_std: float
    feature_counts: dict[str, list[int]] = field(default_factory=dict)

    def marginal(self, name: str) -> np.ndarray:
        """Normalised distribution of ``"num_atoms"``, ``"atom_type"``, ``"charge"``, ``"bond"`` or a feature."""
        counts = {
            "num_atoms": self.num_atoms_hist,
            "atom_type": self.atom_type_counts,
            "charge": self.charge_counts,
            "bond": self.bond_counts,
            **self.feature_counts,
        }
        if name not in counts:
            raise KeyError(f"no statistic {name!r}; have {sorted(counts)}")
        values = np.asarray(counts[name], dtype=np.float64)
        total = values.sum()
        return values / total if total > 0 else values

    @property
    def max_num_atoms(self) -> int:
        return len(self.num_atoms_hist) - 1

    def save(self, path: str | os.PathLike) -> None:
        """Write as JSON (temporary file + rename)."""
        path = Path(path)
        write_text_atomic(path, json.dumps(asdict(self), indent=1) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> DatasetStatistics:
        path = Path(path)
        try:
            data = json.loads(path.read_text())
            return cls(**data)
        except (json.JSONDecodeError, TypeError) as exc:
            raise ValueError(f"{path}: not a valid statistics file ({exc})") from exc


def compute_statistics(store: MolStore, *, chunk_molecules: int = 20_000) -> DatasetStatistics:
    """Stream over ``store`` in chunks of molecules and count everything (vectorised per chunk)."""
    m = len(store)
    atom_ptr = np.asarray(store.array("atom_ptr"))  # [M + 1]
    bond_ptr = np.asarray(store.array("bond_ptr"))  # [M + 1]
    sizes = np.diff(atom_ptr)
    hist = np.bincount(sizes, minlength=1) if m else np.zeros(1, dtype=np.int64)
    atom_counts = np.zeros(NUM_ATOM_TYPES, dtype=np.int64)
    charge_counts = np.zeros(NUM_CHARGES, dtype=np.int64)
    bond_counts = np.zeros(NUM_BOND_TYPES, dtype=np.int64)
    feature_counts = {k: np.zeros(_FEATURE_SIZES[k], dtype=np.int64) for k in store.features}
    sq_sum = 0.0
    for c0 in range(0, m, chunk_molecules):
        c1 = min(c0 + chunk_molecules, m)
        a0, a1 = int(atom_ptr[c0]), int(atom_ptr[c1])
        b0, b1 = int(bond_ptr[c0]), int(bond_ptr[c1])
        atom_counts += np.bincount(np.asarray(store.array("atom_types")[a0:a1], dtype=np.int64),
                                   minlength=NUM_ATOM_TYPES)[:NUM_ATOM_TYPES]
        charge_idx = np.asarray(store.array("charges")[a0:a1], dtype=np.int64) - MIN_CHARGE
        charge_counts += np.bincount(charge_idx, minlength=NUM_CHARGES)[:NUM_CHARGES]
        bond_counts += np.bincount(np.asarray(store.array("bond_types")[b0:b1], dtype=np.int64),
                                   minlength=NUM_BOND_TYPES)[:NUM_BOND_TYPES]
        for k in store.features:
            feature_counts[k] += np.bincount(np.asarray(store.array(k)[a0:a1], dtype=np.int64),
                                             minlength=_FEATURE_SIZES[k])[:_FEATURE_SIZES[k]]
        sq_sum += _centred_square_sum(np.asarray(store.array("pos")[a0:a1], dtype=np.float64),
                                      sizes[c0:c1])
    pairs = int((sizes * (sizes - 1) // 2).sum())
    bond_counts[0] = pairs - int(bond_ptr[-1])
    n_total = int(atom_ptr[-1])
    return DatasetStatistics(
        num_molecules=m,
        num_atoms=n_total,
        num_bonds=int(bond_ptr[-1]),
        num_atoms_hist=hist.tolist(),
        atom_type_counts=atom_counts.tolist(),
        charge_counts=charge_counts.tolist(),
        bond_counts=bond_counts.tolist(),
        coord_std=float(np.sqrt(sq_sum / (3 * n_total))) if n_total else 0.0,
        feature_counts={k: v.tolist() for k, v in feature_counts.items()},
    )


def statistics_of_graphs(graphs: Iterable[MolGraph]) -> DatasetStatistics:
    """:func:`compute_statistics` of molecules in memory (e.g. a training subset), through a temporary store,
    so both follow one definition."""
    with tempfile.TemporaryDirectory(prefix="molgen-stats-") as tmp:
        with StoreWriter(Path(tmp) / "store") as writer:
            for graph in graphs:
                writer.append(graph)
        return compute_statistics(MolStore(Path(tmp) / "store"))


def _centred_square_sum(pos: np.ndarray, sizes: np.ndarray) -> float:
    """Sum of squared distances of atoms to their molecule's centroid; pos [N, 3], sizes [M]."""
    if pos.shape[0] == 0:
        return 0.0
    nonempty = sizes > 0
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])[nonempty]
    centroids = np.add.reduceat(pos, starts, axis=0) / sizes[nonempty, None]  # [M', 3]
    centred = pos - np.repeat(centroids, sizes[nonempty], axis=0)  # [N, 3]
    return float((centred**2).sum())
