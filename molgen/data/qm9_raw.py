"""Parsers for QM9's published file formats (no chemistry here: text -> numbers).

* the official extended XYZ files ``dsgdb9nsd_NNNNNN.xyz`` (inside ``dsgdb9nsd.xyz.tar.bz2``);
* ``uncharacterized.txt`` (the 3054 excluded molecules);
* torch_geometric's ``gdb9.sdf.csv`` property table;
* the CSV files shipped by the PyPI package ``qm9pack``.

All property tables are mapped to one set of names, :data:`PROPERTY_NAMES`, in
the units of the QM9 paper (GHz, Debye, bohr^3, Hartree, bohr^2, cal/(mol K)).
Errors name the file, line and field.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from molgen.errors import MolgenInputError

#: Per-molecule properties kept from every QM9 source (order of the XYZ properties line).
PROPERTY_NAMES: tuple[str, ...] = (
    "A", "B", "C", "mu", "alpha", "homo", "lumo", "gap", "r2", "zpve", "u0", "u298", "h298", "g298", "cv",
)
#: qm9pack column -> molgen property name.
QM9PACK_COLUMNS: dict[str, str] = {
    "RotA_GHz": "A", "RotB_GHz": "B", "RotC_GHz": "C", "Dipole_debye": "mu", "Polarizability_bohr3": "alpha",
    "HOMO_au": "homo", "LUMO_au": "lumo", "HOMO_LUMO_gap_au": "gap", "R2_bohr2": "r2", "ZPVE_au": "zpve",
    "InternalEnergy_0K_au": "u0", "InternalEnergy_298K_au": "u298", "Enthalphy_298K_au": "h298",
    "GibbsFreeEnergy_298K_au": "g298", "Heatcapacity_Cv_cal_mol_K": "cv",
}
QM9PACK_REQUIRED: tuple[str, ...] = ("Index", "SMILES", "InChi", "Elements", "XYZ_Ang", *QM9PACK_COLUMNS)


class QM9FormatError(MolgenInputError):
    """A QM9 raw file that does not follow its published format (message names file and line)."""


@dataclass
class QM9XYZ:
    """One parsed QM9 XYZ record. ``pos`` [N, 3] Angstrom, ``mulliken`` [N] e."""

    gdb_id: int
    symbols: list[str]
    pos: np.ndarray
    mulliken: np.ndarray
    props: dict[str, float]
    smiles: tuple[str, ...]
    inchi: tuple[str, ...]


def qm9_float(text: str) -> float:
    """Parse a number that may use Mathematica's ``*^`` exponent (``1.2*^-6`` = 1.2e-6)."""
    return float(text.replace("*^", "e"))


def parse_qm9_xyz(text: str, file: str = "<xyz>") -> QM9XYZ:
    """Parse an official QM9 XYZ file: count, properties, N atom lines, frequencies, SMILES pair, InChI pair."""
    lines = text.splitlines()
    where = f"{file}, line"
    if len(lines) < 2:
        raise QM9FormatError(f"{file}: truncated ({len(lines)} lines)")
    try:
        n = int(lines[0].strip())
    except ValueError:
        raise QM9FormatError(f"{where} 1: atom count {lines[0].strip()!r} is not an integer") from None
    if len(lines) < n + 5:
        raise QM9FormatError(f"{file}: truncated: {len(lines)} lines, a {n}-atom record needs {n + 5}")
    head = lines[1].split()
    if len(head) < 2 + len(PROPERTY_NAMES) or head[0] != "gdb":
        raise QM9FormatError(f"{where} 2: expected 'gdb <id>' and {len(PROPERTY_NAMES)} properties, got {lines[1]!r}")
    try:
        gdb_id = int(head[1])
        props = {k: qm9_float(v) for k, v in zip(PROPERTY_NAMES, head[2:], strict=False)}
    except ValueError as exc:
        raise QM9FormatError(f"{where} 2: {exc}") from None
    symbols, coords, mulliken = [], [], []
    for k, line in enumerate(lines[2:2 + n], start=3):
        fields = line.split()
        if len(fields) < 5:
            raise QM9FormatError(f"{where} {k}: expected 'element x y z charge', got {line!r}")
        try:
            coords.append([qm9_float(v) for v in fields[1:4]])
            mulliken.append(qm9_float(fields[4]))
        except ValueError as exc:
            raise QM9FormatError(f"{where} {k}: {exc}") from None
        symbols.append(fields[0])
    return QM9XYZ(gdb_id, symbols, np.asarray(coords, dtype=np.float64), np.asarray(mulliken), props,
                  tuple(lines[n + 3].split()), tuple(lines[n + 4].split()))


def read_uncharacterized(path: str | os.PathLike) -> list[int]:
    """GDB ids (1-based) listed in ``uncharacterized.txt``: the table rows between its two ``===`` rulers."""
    path = Path(path)
    lines = path.read_text().splitlines()
    rulers = [k for k, line in enumerate(lines) if line.startswith("=====")]
    if len(rulers) < 3:
        raise QM9FormatError(f"{path}: expected a table between '=====' rulers (the official uncharacterized.txt)")
    ids = []
    for k in range(rulers[1] + 1, rulers[2]):
        first = lines[k].split()[:1]
        if not first:
            continue
        try:
            ids.append(int(first[0]))
        except ValueError:
            raise QM9FormatError(f"{path}, line {k + 1}: index {first[0]!r} is not an integer") from None
    return ids


def read_gdb9_csv(path: str | os.PathLike) -> Iterator[tuple[int, str, dict[str, float]]]:
    """Rows of torch_geometric's ``gdb9.sdf.csv`` as ``(line, mol_id, props)``; the header is checked first."""
    path = Path(path)
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            raise QM9FormatError(f"{path}: empty file (expected a header starting with 'mol_id')")
        header = [h.strip() for h in header]
        missing = [c for c in ("mol_id", *PROPERTY_NAMES) if c not in header]
        if header[0] != "mol_id" or missing:
            raise QM9FormatError(f"{path}, line 1: bad header {header[:4]}...; missing columns {missing or ['mol_id']}")
        columns = [(name, header.index(name)) for name in PROPERTY_NAMES]
        for line, row in enumerate(reader, start=2):
            if len(row) != len(header):
                raise QM9FormatError(f"{path}, line {line}: {len(row)} fields, header has {len(header)}")
            props = {}
            for name, col in columns:
                try:
                    props[name] = float(row[col])
                except ValueError:
                    message = f"{path}, line {line}, column {name!r}: {row[col]!r} is not a number"
                    raise QM9FormatError(message) from None
            yield line, row[0], props


def qm9pack_files(data_dir: str | os.PathLike | None = None) -> list[Path]:
    """``qm9_part*.csv`` of the installed ``qm9pack`` (or in ``data_dir``), in order."""
    if data_dir is None:
        # located, not imported: qm9pack's own __init__ needs pkg_resources, which we do not
        spec = importlib.util.find_spec("qm9pack")
        if spec is None or not spec.submodule_search_locations:
            raise ImportError("the qm9pack package is not installed (pip install qm9pack)")
        data_dir = Path(list(spec.submodule_search_locations)[0]) / "data"
    files = sorted(Path(data_dir).glob("qm9_part*.csv"))
    if not files:
        raise FileNotFoundError(f"no qm9_part*.csv files in {data_dir}")
    return files


def iter_qm9pack_rows(files: list[Path]) -> Iterator[tuple[str, int, dict[str, str]]]:
    """``(file, line, row)`` for every molecule row of the qm9pack CSVs; headers are checked."""
    csv.field_size_limit(1 << 30)
    for path in files:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            missing = [c for c in QM9PACK_REQUIRED if c not in (reader.fieldnames or [])]
            if missing:
                raise QM9FormatError(f"{path}, line 1: header lacks columns {missing}")
            for line, row in enumerate(reader, start=2):
                yield str(path), line, {k: row[k] for k in QM9PACK_REQUIRED}


def qm9pack_indices(files: list[Path]) -> np.ndarray:
    """All GDB ids (``Index`` column) of the qm9pack CSVs, read cheaply line by line."""
    ids = []
    for path in files:
        with open(path, "rb") as f:
            header = f.readline().decode().strip().split(",")
            col = header.index("Index")
            for line in io.TextIOWrapper(f, encoding="utf-8"):
                ids.append(int(line.split(",", col + 1)[col]))
    return np.asarray(ids, dtype=np.int64)


def parse_qm9pack_row(row: dict[str, str], where: str) -> QM9XYZ:
    """Turn one qm9pack row into a :class:`QM9XYZ` (Mulliken charges not kept: zeros)."""
    try:
        symbols = [s.strip().strip("'\"") for s in row["Elements"].strip("[]").split(",")]
        flat = [float(v) for v in row["XYZ_Ang"].replace("[", "").replace("]", "").split(",")]
        props = {name: float(row[col]) for col, name in QM9PACK_COLUMNS.items()}
        gdb_id = int(row["Index"])
    except ValueError as exc:
        raise QM9FormatError(f"{where}: {exc}") from None
    if len(flat) != 3 * len(symbols):
        raise QM9FormatError(f"{where}: {len(flat)} coordinates for {len(symbols)} atoms")
    pos = np.asarray(flat, dtype=np.float64).reshape(-1, 3)
    return QM9XYZ(gdb_id, symbols, pos, np.zeros(len(symbols)), props, (row["SMILES"],), (row["InChi"],))
