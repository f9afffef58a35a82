"""Valence tables for atom/molecule stability: the legacy one papers report and a corrected one.

``LEGACY_EDM`` is the charge-free ``allowed_bonds`` table of EDM (Hoogeboom et al. 2022):
int or list of allowed valences per element, formal charges ignored.

``LEGACY_MIDI`` is the ``allowed_bonds`` table of MiDi (Vignac et al. 2023), reused by
EQGAT-diff and most later work. Entries are an int (any charge), a list of ints (any
charge) or a dict ``{charge: int | list[int]}``; a charge missing from the dict falls back
to the charge-0 entry. It accepts radicals (neutral C with 3 bonds, neutral N with 2).

``CORRECTED`` is the aromatic-aware, charge-aware table of Nikitin et al. 2025
("GEOM-Drugs Revisited"). Each allowed configuration is a pair
``(number of aromatic bonds, sum of the orders of the non-aromatic bonds)``, hydrogens
counted as single bonds, keyed by element and formal charge; a charge that is not listed
is unstable. molgen adds neutral S with valence 4 (sulfoxides such as omeprazole, which the
published table marks unstable although RDKit and chemistry accept them; checked on drug-like
molecules in the tests). Al, As and Hg (in molgen's vocabulary but absent from GEOM-Drugs) are
added by molgen with their usual neutral valences.
"""

from __future__ import annotations

LegacyEntry = int | list[int] | dict[int, int | list[int]]

LEGACY_EDM: dict[str, int | list[int]] = {
    "H": 1, "C": 4, "N": 3, "O": 2, "F": 1, "B": 3, "Al": 3, "Si": 4, "P": [3, 5],
    "S": 4, "Cl": 1, "As": 3, "Br": 1, "I": 1, "Hg": [1, 2], "Bi": [3, 5],
}

LEGACY_MIDI: dict[str, LegacyEntry] = {
    "H": {0: 1, 1: 0, -1: 0},
    "C": {0: [3, 4], 1: 3, -1: 3},
    "N": {0: [2, 3], 1: [2, 3, 4], -1: 2},
    "O": {0: 2, 1: 3, -1: 1},
    "F": {0: 1, -1: 0},
    "B": 3,
    "Al": 3,
    "Si": 4,
    "P": {0: [3, 5], 1: 4},
    "S": {0: [2, 6], 1: [2, 3], 2: 4, 3: 5, -1: 3},
    "Cl": 1,
    "As": 3,
    "Br": {0: 1, 1: 2},
    "I": 1,
    "Hg": [1, 2],
    "Bi": [3, 5],
    "Se": [2, 4, 6],
}

Config = tuple[int, int]  # (aromatic bonds, non-aromatic valence)

CORRECTED: dict[str, dict[int, list[Config]]] = {
    "H": {0: [(0, 1)]},
    "B": {-1: [(0, 4)], 0: [(0, 3)]},
    "C": {0: [(0, 4), (2, 2), (2, 1), (3, 0)], -1: [(0, 3), (2, 1), (3, 0)], 1: [(0, 3), (2, 1), (3, 0)]},
    "N": {
        0: [(0, 3), (2, 0), (2, 1), (3, 0)],
        1: [(0, 4), (2, 0), (2, 1), (2, 2), (3, 0)],
        -1: [(0, 2), (2, 0)],
        -2: [(0, 1)],
    },
    "O": {0: [(0, 2), (2, 0)], -1: [(0, 1)], 1: [(0, 3)]},
    "F": {0: [(0, 1)]},
    "Al": {0: [(0, 3)]},
    "Si": {0: [(0, 4)], 1: [(0, 5)]},
    "P": {0: [(0, 3), (0, 5)], 1: [(0, 4)]},
    "S": {
        0: [(0, 2), (0, 3), (0, 4), (0, 6), (2, 0)],  # (0, 4): sulfoxides, sulfinamides (RDKit allows 2, 4, 6)
        1: [(0, 3), (2, 0), (2, 1), (3, 0)],
        2: [(0, 4), (2, 1), (2, 2)],
        3: [(0, 2), (0, 5)],
        -1: [(0, 1)],
    },
    "Cl": {0: [(0, 1)], 1: [(0, 2)]},
    "As": {0: [(0, 3), (0, 5)]},
    "Br": {0: [(0, 1)], 1: [(0, 2)]},
    "I": {0: [(0, 1)], 1: [(0, 2)], 2: [(0, 3)]},
    "Hg": {0: [(0, 2)]},
    "Bi": {0: [(0, 3)], 2: [(0, 5)]},
}


def edm_allows(symbol: str, valence: int) -> bool:
    """EDM rule: is integer ``valence`` allowed for ``symbol`` (charge ignored; unknown elements unstable)?"""
    entry = LEGACY_EDM.get(symbol)
    if entry is None:
        return False
    return valence == entry if isinstance(entry, int) else valence in entry


def legacy_allows(symbol: str, charge: int, valence: int) -> bool:
    """MiDi/EQGAT-diff rule: is integer ``valence`` allowed for ``symbol`` with ``charge``?

    Unknown elements are unstable; an unlisted charge uses the charge-0 entry (the legacy
    behaviour that lets e.g. a C2+ with four bonds pass).
    """
    entry = LEGACY_MIDI.get(symbol)
    if entry is None:
        return False
    if isinstance(entry, dict):
        entry = entry.get(charge, entry.get(0))
        if entry is None:
            return False
    return valence == entry if isinstance(entry, int) else valence in entry


def corrected_allows(symbol: str, charge: int, n_aromatic: int, valence: float) -> bool:
    """Nikitin et al. rule: is ``(n_aromatic, valence)`` a listed configuration for ``symbol``/``charge``?"""
    if valence != int(valence):
        return False
    allowed = CORRECTED.get(symbol, {}).get(charge, [])
    return (n_aromatic, int(valence)) in allowed
