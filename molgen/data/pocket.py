"""Protein pockets: PDB parsing and residue selection around a ligand.

A pocket is every residue with at least one atom within ``cutoff`` Angstrom of
any ligand atom (default 7 A). It is stored as a :class:`MolGraph` whose atom
types use the shared vocabulary (proteins only need H, C, N, O, S) and whose
bonds are empty: it is fixed context, not something a model generates. Residue
information travels per atom in ``props`` (see :func:`pocket_graph`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from molgen.chem.molgraph import MolGraph
from molgen.chem.vocab import element_index
from molgen.errors import MolgenInputError

#: Residue vocabulary for pocket atoms (index 20 = anything else, e.g. a modified residue).
AMINO_ACIDS: tuple[str, ...] = (
    "ALA", "ARG", "ASN", "ASP", "CYS", "GLN", "GLU", "GLY", "HIS", "ILE",
    "LEU", "LYS", "MET", "PHE", "PRO", "SER", "THR", "TRP", "TYR", "VAL", "UNK",
)
AMINO_ACID_INDEX = {name: i for i, name in enumerate(AMINO_ACIDS)}
BACKBONE_NAMES = frozenset({"N", "CA", "C", "O"})
DEFAULT_POCKET_CUTOFF = 7.0


class PdbFormatError(MolgenInputError):
    """A PDB line that cannot be parsed; the message names the file and line."""


@dataclass
class PdbAtoms:
    """Atoms of a PDB file (first model, first alternate location). M = number of atoms."""

    pos: np.ndarray  # [M, 3] float64, Angstrom
    elements: list[str]  # M element symbols ("C", "Cl", ...)
    atom_names: list[str]  # M PDB atom names ("CA", ...)
    res_names: list[str]  # M residue names ("ALA", ...)
    res_keys: list[tuple[str, int, str]]  # M (chain, residue number, insertion code)

    def __len__(self) -> int:
        return len(self.elements)

    def subset(self, mask: np.ndarray) -> PdbAtoms:
        idx = np.flatnonzero(mask)
        return PdbAtoms(self.pos[idx], [self.elements[i] for i in idx], [self.atom_names[i] for i in idx],
                        [self.res_names[i] for i in idx], [self.res_keys[i] for i in idx])


def _element(line: str, atom_name: str) -> str:
    symbol = line[76:78].strip() if len(line) >= 78 else ""
    if not symbol:  # old files: element from the atom name, skipping leading digits
        symbol = atom_name.lstrip("0123456789")[:1]
    return symbol[0].upper() + symbol[1:].lower()


#: the columns an ATOM record needs (up to the z coordinate)
MIN_ATOM_COLUMNS = 54
#: |coordinate| above this (Angstrom) is no structure (the PDB format holds at most 9999.999)
MAX_COORDINATE = 1e4


def _atom_line(path: Path, lineno: int, raw: bytes) -> str:
    """An ATOM/HETATM line as text: ASCII, long enough (other records may hold any bytes; they are skipped)."""
    try:
        line = raw.decode("ascii").rstrip("\r\n")
    except UnicodeDecodeError as err:
        raise PdbFormatError(f"{path}:{lineno}: {raw[:6].decode('ascii', 'replace').strip()} record is not ASCII "
                             f"text (byte 0x{raw[err.start]:02x} at column {err.start + 1})") from None
    if len(line) < MIN_ATOM_COLUMNS:
        raise PdbFormatError(f"{path}:{lineno}: short {line[:6].strip()} record ({len(line)} columns; the "
                             f"coordinates need {MIN_ATOM_COLUMNS})")
    return line.ljust(80)


def parse_pdb(path: Path, hetero: bool = False, hydrogens: bool = True) -> PdbAtoms:
    """Read ATOM (and, if ``hetero``, non-water HETATM) records of the first model.

    Raises :class:`PdbFormatError` naming the file and line for a short or non-ASCII ATOM record
    and for a coordinate that is not finite or beyond :data:`MAX_COORDINATE`.
    """
    pos, elements, names, residues, keys = [], [], [], [], []
    with open(path, "rb") as handle:
        for lineno, raw in enumerate(handle, start=1):
            head = raw[:6]
            if head.startswith(b"ENDMDL"):
                break
            if not (head == b"ATOM  " or (hetero and head == b"HETATM")):
                continue
            line = _atom_line(path, lineno, raw)
            record = line[:6]
            if line[16] not in " A1" or (record == "HETATM" and line[17:20] in ("HOH", "WAT")):
                continue
            try:
                xyz = (float(line[30:38]), float(line[38:46]), float(line[46:54]))
                key = (line[21], int(line[22:26]), line[26].strip())
            except (ValueError, IndexError) as err:
                raise PdbFormatError(f"{path}:{lineno}: malformed {record.strip()} record ({err})") from err
            if not all(abs(c) <= MAX_COORDINATE for c in xyz):  # NaN fails the test too
                raise PdbFormatError(f"{path}:{lineno}: {record.strip()} coordinates {xyz} are not finite numbers "
                                     f"within +-{MAX_COORDINATE:g} A")
            name = line[12:16].strip()
            element = _element(line, name)
            if element == "H" and not hydrogens:
                continue
            pos.append(xyz)
            elements.append(element)
            names.append(name)
            residues.append(line[17:20].strip())
            keys.append(key)
    if not pos:
        raise PdbFormatError(f"{path}: no ATOM records")
    return PdbAtoms(np.asarray(pos, dtype=np.float64), elements, names, residues, keys)


def select_pocket(atoms: PdbAtoms, ligand_pos: np.ndarray, cutoff: float = DEFAULT_POCKET_CUTOFF) -> PdbAtoms:
    """Whole residues having any atom within ``cutoff`` A of any ligand atom (ligand_pos: [L, 3])."""
    diff = atoms.pos[:, None, :] - np.asarray(ligand_pos, dtype=np.float64)[None, :, :]  # [M, L, 3]
    near = (np.einsum("mld,mld->ml", diff, diff) <= cutoff * cutoff).any(axis=1)  # [M]
    chosen = {key for key, hit in zip(atoms.res_keys, near, strict=True) if hit}
    return atoms.subset(np.array([key in chosen for key in atoms.res_keys], dtype=bool))


def pocket_graph(atoms: PdbAtoms, name: str = "") -> MolGraph:
    """Pocket atoms as a bond-less MolGraph (fixed context).

    ``props`` holds per-atom residue information as lists of length N:
    ``residue_type`` (index into :data:`AMINO_ACIDS`), ``residue_number`` (0-based, per distinct
    residue in file order) and ``is_backbone``; plus ``num_residues``.
    Raises :class:`molgen.chem.vocab.VocabularyError` for elements outside the vocabulary.
    """
    types = [element_index(e) for e in atoms.elements]
    order: dict[tuple[str, int, str], int] = {}
    residue_number = [order.setdefault(key, len(order)) for key in atoms.res_keys]
    n = len(atoms)
    return MolGraph(
        pos=torch.as_tensor(atoms.pos, dtype=torch.float32).reshape(n, 3),  # [N, 3]
        atom_types=torch.tensor(types, dtype=torch.long),  # [N]
        charges=torch.zeros(n, dtype=torch.long),  # [N]
        bond_index=torch.zeros(2, 0, dtype=torch.long),  # [2, 0]
        bond_types=torch.zeros(0, dtype=torch.long),  # [0]
        name=name,
        props={
            "residue_type": [AMINO_ACID_INDEX.get(r, AMINO_ACID_INDEX["UNK"]) for r in atoms.res_names],
            "residue_number": residue_number,
            "is_backbone": [a in BACKBONE_NAMES for a in atoms.atom_names],
            "num_residues": len(order),
        },
    ).validate()
