"""Read molecules for evaluation from any SDF (plain or gzipped) or SMILES file.

Evaluation must work on files written by other tools, so SDF records are read by the one SDF
reader, :func:`molgen.chem.sdf_records.iter_sdf_mols`, as written: not sanitised, hydrogens kept
(stability is judged on the bonds and charges as written). A record that cannot be read is
listed as a :class:`~molgen.chem.records.RecordError` (file, record index, reason, detail)
instead of aborting the run.
"""

from __future__ import annotations

import csv
import gzip
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rdkit import Chem, rdBase

from molgen.chem import sdf_records
from molgen.chem.records import RecordError
from molgen.errors import MolgenInputError, check_regular_file


@dataclass
class MoleculeFile:
    """Molecules read from one file, with their record indices, names and the bad records."""

    path: str
    mols: list[Chem.Mol] = field(default_factory=list)
    indices: list[int] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    bad: list[RecordError] = field(default_factory=list)

    @property
    def n_records(self) -> int:
        return len(self.mols) + len(self.bad)


def read_sdf(path: str | Path) -> MoleculeFile:
    """Read every record of an SDF as written (streaming; ``.sdf.gz`` too), listing unreadable ones."""
    result = MoleculeFile(path=str(path))
    for index, mol in sdf_records.iter_sdf_mols(path, sanitize=False):
        if isinstance(mol, RecordError):
            result.bad.append(mol)
            continue
        result.mols.append(mol)
        result.indices.append(index)
        result.names.append(mol.GetProp("_Name") if mol.HasProp("_Name") else "")
    return result


def _decoded_lines(path: Path) -> Iterator[str]:
    """The lines of the text file ``path`` (gzip when ``.gz``), each decoded as UTF-8 (a leading BOM dropped);
    :class:`MolgenInputError` naming the file and line for a byte that is not UTF-8 or a corrupt gzip stream."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            for number, raw in enumerate(handle, start=1):
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise MolgenInputError(f"{path}: line {number}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at "
                                           f"column {exc.start + 1})") from None
                yield line.removeprefix("\ufeff") if number == 1 else line
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise MolgenInputError(f"{path}: truncated or corrupt gzip file ({type(exc).__name__}: {exc})") from None


def _smiles_lines(path: Path) -> Iterator[tuple[int, str, str]]:
    """``(line index, smiles, name)`` of a SMILES file, or of the ``smiles`` column of a CSV file."""
    lines = _decoded_lines(path)
    if path.name.lower().removesuffix(".gz").endswith(".csv"):
        reader = csv.reader(lines)
        try:
            header = [h.strip().lower() for h in next(reader, [])]
            if "smiles" not in header:
                raise MolgenInputError(f"{path}: line 1: CSV header has no 'smiles' column (columns: {header})")
            col, name_col = header.index("smiles"), header.index("name") if "name" in header else None
            for line_no, row in enumerate(reader, start=1):
                if len(row) > col and row[col].strip():
                    yield line_no, row[col].strip(), row[name_col] if name_col is not None and len(row) > name_col \
                        else ""
        except csv.Error as exc:  # a field past csv's size limit, a NUL byte
            raise MolgenInputError(f"{path}: line {reader.line_num}: not a readable CSV row ({exc})") from None
        return
    for line_no, line in enumerate(lines):
        fields = line.split()
        if not fields or fields[0].startswith("#") or (line_no == 0 and fields[0].lower() == "smiles"):
            continue
        yield line_no, fields[0], fields[1] if len(fields) > 1 else ""


def read_smiles_file(path: str | Path) -> MoleculeFile:
    """Read SMILES (one per line, optional name after whitespace, ``#`` comments; or a CSV ``smiles`` column)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"SMILES file not found: {path}")
    result = MoleculeFile(path=str(path))
    for line_no, smiles, name in _smiles_lines(path):
        with rdBase.BlockLogs():
            mol = Chem.MolFromSmiles(smiles)
        if mol is None:
            result.bad.append(RecordError(str(path), line_no, f"line {line_no + 1}: invalid SMILES {smiles!r}"))
            continue
        result.mols.append(mol)
        result.indices.append(line_no)
        result.names.append(name)
    return result


def read_molecules(path: str | Path) -> MoleculeFile:
    """Read an SDF (``.sdf``, ``.sdf.gz``, ``.mol``) or a SMILES file (``.smi``, ``.smiles``, ``.txt``, ``.csv``)."""
    name = Path(path).name.lower().removesuffix(".gz")
    if name.endswith((".sdf", ".mol", ".sd")):
        return read_sdf(path)
    if name.endswith((".smi", ".smiles", ".txt", ".csv")):
        return read_smiles_file(path)
    raise ValueError(f"{path}: unknown molecule file type (expected .sdf[.gz] or .smi/.smiles/.txt)")


def check_protein_file(path: str | Path) -> None:
    """Raise unless ``path`` is a regular, non-empty PDB file with at least one ATOM/HETATM record."""
    path = Path(path)
    check_regular_file(path, "protein PDB file")
    with open(path, "rb") as handle:
        head = handle.read(1 << 20)  # ATOM records start within the first MB of any real PDB file
    if not head.strip():
        raise MolgenInputError(f"{path}: empty protein file")
    if not any(line.startswith((b"ATOM  ", b"HETATM")) for line in head.splitlines()):
        raise MolgenInputError(f"{path}: not a PDB file (no ATOM or HETATM record in its first MB)")
