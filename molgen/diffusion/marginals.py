"""Training-set statistics the diffusion needs: class marginals and the atom-count histogram.

They are computed by the dataset preprocessing (``statistics.json`` next to the
processed data) and copied into every checkpoint, so sampling needs no dataset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from molgen.chem.vocab import EXTRA_ATOM_FEATURES, NUM_ATOM_TYPES, NUM_BOND_TYPES, NUM_CHARGES, element_index

#: Optional atom-level categorical features and their number of classes (the vocabulary's table).
EXTRA_FEATURES: dict[str, int] = EXTRA_ATOM_FEATURES
HYDROGEN = element_index("H")
#: Width (pocket atoms) of the pocket-size bins that condition the ligand size of pocket models.
POCKET_BIN = 25


@dataclass
class Marginals:
    """Class frequencies of the training set.

    Attributes:
        atom_types: [NUM_ATOM_TYPES] frequencies of atom types.
        charges: [NUM_CHARGES] frequencies of charge classes (index = charge - MIN_CHARGE).
        bonds: [NUM_BOND_TYPES] frequencies over atom pairs i < j, index 0 = no bond.
        num_atoms: [max_atoms + 1] histogram of atoms per molecule.
        extras: name -> [K] frequencies of enabled optional features (see :data:`EXTRA_FEATURES`).
        num_atoms_by_pocket: pocket-conditioned training only: [B, max_atoms + 1] histograms of ligand
            atoms for pockets of ``POCKET_BIN`` * b .. POCKET_BIN * (b + 1) - 1 atoms (row b).
    """

    atom_types: Tensor
    charges: Tensor
    bonds: Tensor
    num_atoms: Tensor
    extras: dict[str, Tensor] = field(default_factory=dict)
    num_atoms_by_pocket: Tensor | None = None

    def __post_init__(self) -> None:
        expected = {"atom_types": NUM_ATOM_TYPES, "charges": NUM_CHARGES, "bonds": NUM_BOND_TYPES}
        for name, size in expected.items():
            value = torch.as_tensor(getattr(self, name), dtype=torch.float64).flatten()
            if value.numel() != size:
                raise ValueError(f"marginals.{name} has {value.numel()} entries, expected {size}")
            setattr(self, name, value)
        self.num_atoms = torch.as_tensor(self.num_atoms, dtype=torch.float64).flatten()
        if float(self.num_atoms.sum()) <= 0:
            raise ValueError("marginals.num_atoms histogram is empty")
        for name, value in list(self.extras.items()):
            if name not in EXTRA_FEATURES:
                raise ValueError(f"unknown extra feature {name!r}; known: {', '.join(EXTRA_FEATURES)}")
            value = torch.as_tensor(value, dtype=torch.float64).flatten()
            size = EXTRA_FEATURES[name]
            if value.numel() != size:
                raise ValueError(f"marginals.extras.{name} has {value.numel()} entries, expected {size}")
            self.extras[name] = value
        if self.num_atoms_by_pocket is not None:
            table = torch.as_tensor(self.num_atoms_by_pocket, dtype=torch.float64)
            if table.dim() != 2 or float(table.sum()) <= 0:
                raise ValueError("marginals.num_atoms_by_pocket must be a non-empty [bins, max_atoms + 1] table")
            self.num_atoms_by_pocket = table

    @property
    def has_hydrogens(self) -> bool:
        """False for heavy-atom training data: the model then never generates H (see molgen.chem.hydrogens)."""
        return bool(self.atom_types[HYDROGEN] > 0)

    def sample_num_atoms(self, num: int, generator: torch.Generator | None = None) -> Tensor:
        """Draw ``num`` atom counts from the histogram: [num] long."""
        probs = self.num_atoms / self.num_atoms.sum()
        return torch.multinomial(probs.float(), num, replacement=True, generator=generator)

    def sample_num_atoms_for_pocket(self, pocket_atoms: int, num: int,
                                    generator: torch.Generator | None = None) -> Tensor:
        """[num] ligand sizes drawn from the training pairs whose pockets are about as large (the nearest
        non-empty size bin); the plain histogram when the model was not trained on pockets."""
        if self.num_atoms_by_pocket is None:
            return self.sample_num_atoms(num, generator)
        filled = torch.nonzero(self.num_atoms_by_pocket.sum(1) > 0).flatten()  # [B'] bins with pairs
        row = filled[torch.argmin((filled - pocket_atoms // POCKET_BIN).abs())]
        probs = self.num_atoms_by_pocket[row] / self.num_atoms_by_pocket[row].sum()
        return torch.multinomial(probs.float(), num, replacement=True, generator=generator)

    def to_dict(self) -> dict[str, Any]:
        """Plain lists (for checkpoints and JSON)."""
        out: dict[str, Any] = {k: getattr(self, k).tolist() for k in ("atom_types", "charges", "bonds", "num_atoms")}
        out["extras"] = {k: v.tolist() for k, v in self.extras.items()}
        if self.num_atoms_by_pocket is not None:
            out["num_atoms_by_pocket"] = self.num_atoms_by_pocket.tolist()
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Marginals:
        missing = [k for k in ("atom_types", "charges", "bonds", "num_atoms") if k not in d]
        if missing:
            raise ValueError(f"marginals are missing {', '.join(missing)}")
        return cls(d["atom_types"], d["charges"], d["bonds"], d["num_atoms"], dict(d.get("extras", {})),
                   d.get("num_atoms_by_pocket"))


def pocket_size_table(pocket_atoms: Tensor, ligand_atoms: Tensor) -> Tensor:
    """[B, max_ligand + 1] counts of ligand sizes per pocket-size bin (:data:`POCKET_BIN` atoms wide)
    from the training pairs' sizes (pocket_atoms, ligand_atoms: [P] each)."""
    bins = torch.as_tensor(pocket_atoms, dtype=torch.long) // POCKET_BIN
    ligand = torch.as_tensor(ligand_atoms, dtype=torch.long)
    table = torch.zeros(int(bins.max()) + 1, int(ligand.max()) + 1, dtype=torch.float64)
    table.index_put_((bins, ligand), torch.ones_like(ligand, dtype=torch.float64), accumulate=True)
    return table
