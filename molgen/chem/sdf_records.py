"""SDF text -> RDKit molecules, every bad record named by file and record (RDKit only, no torch).

The one SDF reader of molgen: dataset builders (through :mod:`molgen.chem.sdf`, which turns
records into :class:`~molgen.chem.molgraph.MolGraph`), evaluation and docking all split files
with :func:`iter_sdf_blocks` and parse records with :func:`mol_from_sdf_block`. A file is split
into records on ``$$$$`` lines without loading it (``.sdf`` or ``.sdf.gz``); each record is
parsed by RDKit with hydrogens kept and its ``> <TAG>`` data items read as properties. A bad
record raises :class:`~molgen.chem.records.BadRecordError` holding a
:class:`~molgen.chem.records.RecordError` (file, record index, reason, detail), or is yielded
as that value by :func:`iter_sdf_mols`.
"""

from __future__ import annotations

import gzip
import io
import os
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rdkit import Chem
from rdkit.rdBase import BlockLogs

from molgen.chem.diagnose import coordinate_problem, diagnose_atom_block, rdkit_degree_problem, truncated_gzip
from molgen.chem.records import BadRecordError, RecordError
from molgen.chem.vocab import VocabularyError, check_charge, element_index
from molgen.errors import check_regular_file


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")  # noqa: SIM115 - caller closes


def iter_sdf_blocks(path: str | os.PathLike) -> Iterator[tuple[int, str]]:
    """Yield ``(record_index, text)`` for every record of an SDF (``$$$$``-terminated; a last one may lack it)."""
    path = Path(path)
    index = 0
    try:
        with _open_text(path) as f:
            lines: list[str] = []
            for line in f:
                if line.startswith("$$$$"):
                    yield index, "".join(lines)
                    index += 1
                    lines = []
                else:
                    lines.append(line)
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise truncated_gzip(path, index, exc) from None
    if any(line.strip() for line in lines):
        yield index, "".join(lines)


def parse_sdf_tags(block: str) -> dict[str, Any]:
    """Data items (``> <NAME>`` followed by value lines up to a blank line) after ``M  END``."""
    _, sep, tail = block.partition("M  END")
    props: dict[str, Any] = {}
    if not sep:
        return props
    lines = tail.splitlines()
    k = 0
    while k < len(lines):
        line = lines[k]
        if line.startswith(">") and "<" in line and ">" in line[1:]:
            name = line[line.index("<") + 1:line.rindex(">")]
            values = []
            k += 1
            while k < len(lines) and lines[k].strip():
                values.append(lines[k])
                k += 1
            props[name] = _coerce("\n".join(values))
        k += 1
    return props


def _coerce(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def mol_from_sdf_block(block: str, file: str, index: int, *, sanitize: bool = True,
                       vocabulary: bool = False) -> Chem.Mol:
    """Parse one record (hydrogens kept, SD tags as properties); raise :class:`BadRecordError` naming file/record.

    Checks, in order: an ``M  END`` line, no atom with more than ``RDKIT_MAX_DEGREE`` bonds
    (RDKit can crash on one), RDKit's strict parse (a failure names the atom line when it can),
    at least one atom, finite coordinates of at most ``diagnose.MAX_COORDINATE`` (atom and line named),
    with ``vocabulary`` elements and formal charges in molgen's vocabulary, and with ``sanitize`` RDKit
    sanitisation. ``sanitize=False`` keeps the molecule as written (evaluation and docking judge valences
    themselves): its property cache is updated leniently.
    """
    if "M  END" not in block:
        raise BadRecordError(RecordError(file, index, "truncated record (no 'M  END' line)"))
    if problem := rdkit_degree_problem(block):  # RDKit can crash the process on such a graph
        raise BadRecordError(RecordError(file, index, "impossible atom degree", problem))
    with BlockLogs():  # RDKit's own log lines would repeat what the report already says
        mol = Chem.MolFromMolBlock(block, sanitize=False, removeHs=False, strictParsing=True)
    if mol is None:
        reason, detail = diagnose_atom_block(block)
        raise BadRecordError(RecordError(file, index, reason, detail))
    if mol.GetNumAtoms() == 0:
        raise BadRecordError(RecordError(file, index, "record has no atoms"))
    if problem := coordinate_problem(mol, block):  # NaN, inf or 1e300 in a V3000 block: no position at all
        raise BadRecordError(RecordError(file, index, *problem))
    if vocabulary:
        try:
            for atom in mol.GetAtoms():
                element_index(atom.GetSymbol())
                check_charge(atom.GetFormalCharge())
        except VocabularyError as exc:
            raise BadRecordError(RecordError(file, index, "unsupported element or charge", str(exc))) from exc
    if sanitize:
        try:
            with BlockLogs():
                Chem.SanitizeMol(mol)
        except (ValueError, RuntimeError) as exc:  # RDKit's MolSanitizeException (a ValueError) or RuntimeError
            raise BadRecordError(RecordError(file, index, "RDKit sanitisation failed", str(exc))) from exc
    else:
        mol.UpdatePropertyCache(strict=False)
    for key, value in parse_sdf_tags(block).items():
        mol.SetProp(key, str(value))
    return mol


def iter_sdf_mols(path: str | os.PathLike, *, sanitize: bool = True) -> Iterator[tuple[int, Chem.Mol | RecordError]]:
    """``(record index, molecule or the RecordError saying why not)`` for every record of an SDF.

    The file must be a regular file (:func:`molgen.errors.check_regular_file`); a truncated
    ``.gz`` raises :class:`molgen.chem.diagnose.TruncatedFileError`. ``sanitize`` as in
    :func:`mol_from_sdf_block`.
    """
    path = Path(path)
    check_regular_file(path, "SDF file")
    for index, block in iter_sdf_blocks(path):
        try:
            yield index, mol_from_sdf_block(block, str(path), index, sanitize=sanitize)
        except BadRecordError as exc:
            yield index, exc.record
