"""SDF files <-> :class:`MolGraph`: streaming reading (every bad record reported) and atomic writing.

Reading splits the file into records and parses each with RDKit through
:mod:`molgen.chem.sdf_records` (the one SDF reader) and featurises it. A bad record (unparseable, truncated,
unsupported element, charge out of range, missing/2D/NaN coordinates) is
either skipped and listed in an :class:`SDFReport` (file, record index, reason)
or, with ``errors="raise"``, raises :class:`~molgen.chem.records.BadRecordError`
naming file and record.

Writing goes to a temporary file in the target folder and is renamed into place
with ``os.replace``: a crash never leaves a half-written SDF. Each molecule's
``name`` is the title line and ``props`` become data items.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from rdkit import Chem

from molgen.chem.diagnose import RDKIT_MAX_DEGREE
from molgen.chem.featurize import FeaturizeError, featurize_mol, reconstruct_mol
from molgen.chem.molgraph import MolGraph
from molgen.chem.perceive import consistent_record
from molgen.chem.records import BadRecordError, RecordError
from molgen.chem.sdf_records import iter_sdf_blocks, mol_from_sdf_block, parse_sdf_tags
from molgen.chem.vocab import ATOM_TYPES, VocabularyError
from molgen.errors import check_regular_file
from molgen.safe_write import atomic_path


@dataclass
class SDFReport:
    """Counts of one read: records seen, molecules kept, and every bad record."""

    records: int = 0
    kept: int = 0
    errors: list[RecordError] = field(default_factory=list)


def graph_from_sdf_block(block: str, file: str, index: int, *, rederive: bool = False,
                         **featurize_kw: Any) -> MolGraph:
    """Parse and featurise one record; every failure becomes :class:`BadRecordError` naming file/record.

    ``rederive``: a record whose charges, radicals or bond orders contradict its own explicit hydrogens gets
    bond orders and charges that fit them (:func:`molgen.chem.perceive.hydrogen_consistent_bond_orders`),
    marked by the ``molgen_bond_orders`` property."""
    mol = mol_from_sdf_block(block, file, index, vocabulary=True)
    props = parse_sdf_tags(block)
    if rederive:
        mol, props = consistent_record(mol, props)
    try:
        return featurize_mol(mol, props=props, **featurize_kw)
    except VocabularyError as exc:
        raise BadRecordError(RecordError(file, index, "unsupported element or charge", str(exc))) from exc
    except FeaturizeError as exc:
        raise BadRecordError(RecordError(file, index, str(exc))) from exc


def read_sdf(path: str | os.PathLike, *, errors: Literal["skip", "raise"] = "skip",
             report: SDFReport | None = None, **featurize_kw: Any) -> Iterator[MolGraph]:
    """Stream the molecules of an ``.sdf``/``.sdf.gz`` file as :class:`MolGraph`.

    Args:
        errors: ``"skip"`` drops bad records and appends them to ``report.errors``;
            ``"raise"`` raises :class:`BadRecordError` at the first one.
        report: filled in while iterating (pass one to get the counts).
        featurize_kw: forwarded to :func:`molgen.chem.featurize.featurize_mol`.
    """
    if errors not in ("skip", "raise"):
        raise ValueError(f"errors must be 'skip' or 'raise', not {errors!r}")
    report = report if report is not None else SDFReport()
    path = Path(path)
    check_regular_file(path, "SDF file")
    for index, block in iter_sdf_blocks(path):
        report.records += 1
        try:
            graph = graph_from_sdf_block(block, str(path), index, **featurize_kw)
        except BadRecordError as exc:
            if errors == "raise":
                raise
            report.errors.append(exc.record)
            continue
        report.kept += 1
        yield graph
    if report.records == 0:
        error = RecordError(str(path), 0, "empty file (no SDF records)")
        if errors == "raise":
            error.raise_()
        report.errors.append(error)


def write_sdf(molecules: Iterable[MolGraph | Chem.Mol], path: str | os.PathLike) -> int:
    """Write molecules to ``path`` (``.sdf`` or ``.sdf.gz``) atomically; return how many were written.

    A :class:`MolGraph` is reconstructed with :func:`reconstruct_mol` (written even if it
    does not sanitise; aromatic bonds are then written as type 4); its ``name`` becomes
    the title and ``props`` the data items.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    opener = gzip.open if path.suffix == ".gz" else open
    with atomic_path(path) as tmp, opener(tmp, "wt", encoding="utf-8") as f:
        for item in molecules:
            f.write(_record_text(item))
            count += 1
    return count


#: Graphs with an atom of more than RDKIT_MAX_DEGREE bonds are written by molgen itself (:func:`graph_block`),
#: never handed to RDKit: RDKit 2026.09 dies with SIGSEGV in ``MolToMolBlock`` (and when reading the block
#: back) on a sampled 500-atom graph with 5,693 bonds and atom degree 59.
V2000_MAX = 999  # V2000 counts lines hold 3 digits; bigger graphs are written as V3000


def rdkit_unsafe(graph: MolGraph) -> str:
    """Why ``graph`` is not given to RDKit for writing (``""`` when it is safe to)."""
    if graph.num_bonds == 0:
        return ""
    degree = int(torch.bincount(graph.bond_index.flatten(), minlength=graph.num_atoms).max())
    if degree > RDKIT_MAX_DEGREE:
        return f"atom degree {degree} > {RDKIT_MAX_DEGREE}"
    return ""


def _record_text(item: MolGraph | Chem.Mol) -> str:
    if isinstance(item, MolGraph) and (reason := rdkit_unsafe(item)):
        block = graph_block(item)
        props = {**item.props, "molgen_rdkit_skipped": reason}
        return _with_name_and_props(block, item.name, props)
    if isinstance(item, MolGraph):
        result = reconstruct_mol(item)
        mol, kekulize, props, name = result.mol, result.sanitized, item.props, item.name
    else:
        mol, kekulize = item, True
        props = item.GetPropsAsDict(includePrivate=False, includeComputed=False)
        name = item.GetProp("_Name") if item.HasProp("_Name") else ""
    try:
        block = Chem.MolToMolBlock(mol, kekulize=kekulize)
    except RuntimeError as exc:
        if not isinstance(item, MolGraph):
            raise
        # RDKit refuses some chemically impossible atoms (e.g. H with charge +2) that an
        # untrained model can emit; such a sample is still written, from the graph itself.
        block = graph_block(item)
        props = {**props, "molgen_rdkit_write_error": str(exc).splitlines()[0]}
    return _with_name_and_props(block, name, props)


def _with_name_and_props(block: str, name: str, props: dict[str, Any]) -> str:
    lines = block.split("\n", 1)
    text = name.replace("\n", " ") + "\n" + lines[1] if len(lines) == 2 else block
    items = "".join(f">  <{key}>\n{_format(value)}\n\n" for key, value in props.items())
    return text + items + "$$$$\n"


def _format(value: Any) -> str:
    text = repr(value) if isinstance(value, float) else str(value)
    return text.replace("\n\n", "\n")


def graph_block(graph: MolGraph) -> str:
    """A mol block written straight from a MolGraph (no RDKit): V2000, or V3000 above :data:`V2000_MAX`."""
    if max(graph.num_atoms, graph.num_bonds) > V2000_MAX:
        return _v3000_block(graph)
    return _v2000_block(graph)


def _v3000_block(graph: MolGraph) -> str:
    """A V3000 mol block from a MolGraph (no RDKit, no size limit); aromatic bonds as type 4."""
    lines = ["", "  molgen", "", "  0  0  0     0  0            999 V3000", "M  V30 BEGIN CTAB",
             f"M  V30 COUNTS {graph.num_atoms} {graph.num_bonds} 0 0 0", "M  V30 BEGIN ATOM"]
    rows = zip(graph.pos.tolist(), graph.atom_types.tolist(), graph.charges.tolist(), strict=True)
    for k, ((x, y, z), t, c) in enumerate(rows):
        lines.append(f"M  V30 {k + 1} {ATOM_TYPES[t]} {x:.4f} {y:.4f} {z:.4f} 0" + (f" CHG={c}" if c else ""))
    lines += ["M  V30 END ATOM", "M  V30 BEGIN BOND"]
    for k, ((i, j), t) in enumerate(zip(graph.bond_index.t().tolist(), graph.bond_types.tolist(), strict=True)):
        lines.append(f"M  V30 {k + 1} {t} {i + 1} {j + 1}")
    lines += ["M  V30 END BOND", "M  V30 END CTAB", "M  END"]
    return "\n".join(lines) + "\n"


def _v2000_block(graph: MolGraph) -> str:
    """A V2000 mol block written straight from a MolGraph (no RDKit); aromatic bonds as type 4."""
    n, b = graph.num_atoms, graph.num_bonds
    lines = ["", "  molgen", "", f"{n:3d}{b:3d}  0  0  0  0  0  0  0  0999 V2000"]
    for (x, y, z), t in zip(graph.pos.tolist(), graph.atom_types.tolist(), strict=True):
        lines.append(f"{x:10.4f}{y:10.4f}{z:10.4f} {ATOM_TYPES[t]:<3} 0  0  0  0  0  0  0  0  0  0  0  0")
    for (i, j), t in zip(graph.bond_index.t().tolist(), graph.bond_types.tolist(), strict=True):
        lines.append(f"{i + 1:3d}{j + 1:3d}{t:3d}  0")
    charged = [(k + 1, c) for k, c in enumerate(graph.charges.tolist()) if c]
    for start in range(0, len(charged), 8):
        chunk = charged[start:start + 8]
        lines.append(f"M  CHG{len(chunk):3d}" + "".join(f"{k:4d}{c:4d}" for k, c in chunk))
    lines.append("M  END")
    return "\n".join(lines) + "\n"
