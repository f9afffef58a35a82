"""SMILES list files -> rows (no 3D chemistry here: text -> SMILES, name, properties).

Accepted files (a folder is searched recursively): ``.smi`` / ``.txt`` (whitespace-separated,
``SMILES [name ...]``), ``.csv`` (comma), ``.tsv`` (tab), each optionally gzip-compressed
(``.smi.gz``, ``.csv.gz``, ...). Blank lines and lines starting with ``#`` are skipped.

Header detection: the first line is a header when one of its fields is a SMILES column name
(:data:`SMILES_COLUMNS`, case-insensitive), or when its first field is not a SMILES RDKit can
read while the next line's is. With a header, the SMILES column is the named one (else the
first), the name column the first of :data:`NAME_COLUMNS`, and every other column becomes a
property (numbers as ``float``). Without one, field 1 is the SMILES, field 2 the name, further
fields are properties ``col3``, ``col4``, ... A row that lacks the SMILES column, or a
compressed file that is cut short, is a :class:`~molgen.errors.MolgenInputError` naming file,
line and field.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rdkit import Chem
from rdkit.rdBase import BlockLogs

from molgen.errors import MolgenInputError, check_regular_file

SMILES_COLUMNS = ("smiles", "smi", "canonical_smiles", "isomeric_smiles", "mol_smiles")
NAME_COLUMNS = ("name", "id", "title", "mol_id", "molecule_id", "compound_id", "cid", "zinc_id", "chembl_id")
SUFFIXES = (".smi", ".txt", ".csv", ".tsv")


@dataclass(frozen=True)
class SmilesRow:
    """One input molecule: where it is (1-based ``line``), its SMILES, name and other columns."""

    file: str
    line: int
    smiles: str
    name: str = ""
    props: dict[str, Any] = field(default_factory=dict)


def smiles_files(path: str | Path) -> list[str]:
    """The SMILES files at ``path`` (a file, or a folder searched recursively), sorted."""
    path = Path(path)
    if not path.is_dir():
        check_regular_file(path, "SMILES file or folder")
        return [str(path)]
    files = sorted(str(p) for p in path.rglob("*") if p.is_file() and _base_suffix(p) in SUFFIXES)
    if not files:
        raise FileNotFoundError(f"no {'/'.join(SUFFIXES)} files (optionally .gz) in {path}")
    return files


def _base_suffix(path: Path) -> str:
    suffixes = path.suffixes
    return suffixes[-2] if len(suffixes) >= 2 and suffixes[-1] == ".gz" else path.suffix


def _split(line: str, delimiter: str | None) -> list[str]:
    if delimiter is None:
        return line.split()
    return [f.strip() for f in next(csv.reader([line], delimiter=delimiter))]


def _readable_smiles(text: str) -> bool:
    with BlockLogs():
        return bool(text) and Chem.MolFromSmiles(text, sanitize=False) is not None


def _coerce(text: str) -> Any:
    try:
        return float(text)
    except ValueError:
        return text


def _lines(file: str) -> Iterator[tuple[int, str]]:
    """(1-based line number, text) of the non-blank, non-comment lines; a truncated ``.gz`` is an input error."""
    path = Path(file)
    raw = gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")  # noqa: SIM115 - closed below
    number = 0
    try:
        with io.TextIOWrapper(raw, encoding="utf-8", errors="replace") as handle:
            for number, text in enumerate(handle, start=1):  # noqa: B007 - number is reported on error
                text = text.strip()
                if text and not text.startswith("#"):
                    yield number, text
    except (EOFError, OSError, zlib.error) as err:
        raise MolgenInputError(f"{file}: unreadable after line {number} ({type(err).__name__}: {err}); "
                               "is the file truncated or not gzip?") from err


def iter_smiles_rows(file: str) -> Iterator[SmilesRow]:
    """Every molecule row of one SMILES file, in order (see module docstring for columns and header)."""
    base = _base_suffix(Path(file))
    delimiter = {".csv": ",", ".tsv": "\t"}.get(base)
    lines = _lines(file)
    first = next(lines, None)
    if first is None:
        return
    second = next(lines, None)
    header = _header(_split(first[1], delimiter), None if second is None else _split(second[1], delimiter))
    pending = ([] if header else [first]) + ([] if second is None else [second])
    smiles_col, name_col, names = _columns(header)
    for number, text in (*pending, *lines):
        fields = _split(text, delimiter)
        if delimiter is None and not header and len(fields) > 2:
            fields = [fields[0], " ".join(fields[1:])]  # .smi: the rest of the line is the name
        if len(fields) <= smiles_col or not fields[smiles_col]:
            column = names[smiles_col] if names else "1"
            raise MolgenInputError(f"{file}, line {number}: no SMILES in field {column!r} ({len(fields)} fields)")
        name = fields[name_col] if name_col is not None and name_col < len(fields) else ""
        props = {(names[k] if names and k < len(names) else f"col{k + 1}"): _coerce(v)
                 for k, v in enumerate(fields) if k not in (smiles_col, name_col) and v != ""}
        yield SmilesRow(file, number, fields[smiles_col], name, props)


def _header(first: list[str], second: list[str] | None) -> list[str] | None:
    """The header fields if ``first`` is a header line, else ``None``."""
    if any(f.lower() in SMILES_COLUMNS for f in first):
        return first
    if second and not _readable_smiles(first[0]) and _readable_smiles(second[0]):
        return first
    return None


def _columns(header: list[str] | None) -> tuple[int, int | None, list[str] | None]:
    """(SMILES column, name column or None, header names or None)."""
    if header is None:
        return 0, 1, None
    lower = [h.lower() for h in header]
    smiles_col = next((lower.index(c) for c in SMILES_COLUMNS if c in lower), 0)
    name_col = next((lower.index(c) for c in NAME_COLUMNS if c in lower), None)
    return smiles_col, name_col, header
