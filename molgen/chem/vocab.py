"""The one chemical vocabulary shared by every dataset and model in molgen.

Every dataset is featurised into these indices, so a model trained on one
dataset (e.g. PubChem3D pretraining) transfers to another (QM9, GEOM-Drugs)
without re-mapping. The element list and charge range follow EQGAT-diff
(Le et al., ICLR 2024).

Symbols used throughout molgen for tensor shapes:
    N atoms, E (directed) edges, B bonds (undirected, i < j), G graphs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: the vocabulary is read by torch-free code (SDF records, evaluation)
    import torch

#: Elements, in model index order.
ATOM_TYPES: tuple[str, ...] = (
    "H", "B", "C", "N", "O", "F", "Al", "Si", "P", "S", "Cl", "As", "Br", "I", "Hg", "Bi",
)
#: Atomic numbers matching :data:`ATOM_TYPES`.
ATOMIC_NUMBERS: tuple[int, ...] = (1, 5, 6, 7, 8, 9, 13, 14, 15, 16, 17, 33, 35, 53, 80, 83)
#: Formal charges the model can represent, in index order.
CHARGES: tuple[int, ...] = (-2, -1, 0, 1, 2, 3)
#: Bond classes; index 0 means "no bond" and is used for non-bonded pairs.
BOND_TYPES: tuple[str, ...] = ("none", "single", "double", "triple", "aromatic")
#: Bond orders of the bond classes (aromatic = 1.5).
BOND_ORDERS: tuple[float, ...] = (0.0, 1.0, 2.0, 3.0, 1.5)
#: Hybridisation classes (optional atom feature).
HYBRIDIZATIONS: tuple[str, ...] = ("other", "S", "SP", "SP2", "SP3", "SP3D", "SP3D2")

NUM_ATOM_TYPES = len(ATOM_TYPES)
NUM_CHARGES = len(CHARGES)
NUM_BOND_TYPES = len(BOND_TYPES)
NUM_HYBRIDIZATIONS = len(HYBRIDIZATIONS)
MIN_CHARGE, MAX_CHARGE = CHARGES[0], CHARGES[-1]

SYMBOL_TO_INDEX: dict[str, int] = {s: i for i, s in enumerate(ATOM_TYPES)}
Z_TO_INDEX: dict[int, int] = {z: i for i, z in enumerate(ATOMIC_NUMBERS)}
BOND_NAME_TO_INDEX: dict[str, int] = {b: i for i, b in enumerate(BOND_TYPES)}
HYBRIDIZATION_TO_INDEX: dict[str, int] = {h: i for i, h in enumerate(HYBRIDIZATIONS)}


class VocabularyError(ValueError):
    """An element, charge or bond that molgen's vocabulary cannot represent."""


def element_index(symbol_or_z: str | int) -> int:
    """Index of an element given by symbol (``"Cl"``) or atomic number (``17``)."""
    table = Z_TO_INDEX if isinstance(symbol_or_z, int) else SYMBOL_TO_INDEX
    try:
        return table[symbol_or_z]
    except KeyError:
        raise VocabularyError(
            f"unsupported element {symbol_or_z!r}; molgen supports {', '.join(ATOM_TYPES)}"
        ) from None


def check_charge(charge: int) -> int:
    """Return ``charge`` if it is representable, else raise :class:`VocabularyError`."""
    if not MIN_CHARGE <= charge <= MAX_CHARGE:
        raise VocabularyError(f"formal charge {charge:+d} outside supported range {MIN_CHARGE}..+{MAX_CHARGE}")
    return charge


def charge_to_index(charges: torch.Tensor) -> torch.Tensor:
    """Formal charges [N] (long, -2..3) -> class indices [N] (0..5)."""
    return charges - MIN_CHARGE


def index_to_charge(index: torch.Tensor) -> torch.Tensor:
    """Class indices [N] (0..5) -> formal charges [N]."""
    return index + MIN_CHARGE


#: Optional per-atom features beyond element and charge, with their class counts,
#: in the order they are one-hot encoded and predicted (shared by nn and diffusion).
EXTRA_ATOM_FEATURES: dict[str, int] = {
    "is_aromatic": 2,
    "is_in_ring": 2,
    "hybridization": NUM_HYBRIDIZATIONS,
}
EXTRA_ATOM_FEATURE_DIM = sum(EXTRA_ATOM_FEATURES.values())
