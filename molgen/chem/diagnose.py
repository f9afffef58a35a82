"""Why an input file or record is unreadable, in words that name the line (RDKit only, no torch).

Shared by the dataset reader (:mod:`molgen.chem.sdf`) and the evaluation reader
(:mod:`molgen.eval.reading`), which must not import torch.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

from rdkit import Chem

from molgen.errors import MolgenInputError


class TruncatedFileError(MolgenInputError):
    """A compressed file that ends or breaks before its end (a cut download, a killed writer)."""


def truncated_gzip(path: Path, index: int, exc: BaseException) -> TruncatedFileError:
    """The error for a ``.gz`` file that ends or breaks inside record ``index``."""
    return TruncatedFileError(f"{path}: truncated or corrupt gzip file (stops in record {index}: {exc})")


def diagnose_atom_block(block: str) -> tuple[str, str]:
    """Why RDKit rejected a V2000 block: ``(reason, detail)`` from its counts line and atom lines."""
    lines = block.splitlines()
    try:
        n_atoms = int(lines[3][:3])
    except (IndexError, ValueError):
        return "unparseable molfile block", _counts_line(block)
    elements = _element_symbols()
    for k, line in enumerate(lines[4:4 + n_atoms]):
        where = f"atom line {k + 1} (line {k + 5} of the record)"
        symbol = line[31:34].strip()
        if symbol and symbol not in ("R#", "*", "A", "Q", "L") and symbol not in elements:
            return "unknown element symbol", f"{symbol!r} on {where}"
        try:
            coords = [float(line[c:c + 10]) for c in (0, 10, 20)]
        except ValueError:
            return "unparseable molfile block", f"coordinates {line[:30]!r} on {where}"
        if not all(math.isfinite(c) for c in coords):
            return "NaN or infinite coordinates", f"{line[:30]!r} on {where}"
    return "unparseable molfile block", _counts_line(block)


@functools.cache
def _element_symbols() -> frozenset[str]:
    table = Chem.GetPeriodicTable()
    return frozenset(table.GetElementSymbol(z) for z in range(1, 119))


def _counts_line(block: str) -> str:
    lines = block.splitlines()
    return f"counts line: {lines[3].strip()!r}" if len(lines) > 3 else f"only {len(lines)} lines"
