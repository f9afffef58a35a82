"""A user's own SDF files as a processed dataset (for fine-tuning), with a validation report.

``molgen data custom --sdf FILE|DIR --name NAME`` turns every ``.sdf`` / ``.sdf.gz``
(a folder is searched recursively) into ``<root>/processed/NAME/`` exactly like the
public datasets, one resumable shard per file. Every rejected record is listed, with
file, record index, title and reason, in ``report.json`` and in ``rejected.tsv`` (the terminal shows
one line per reason: its count and first record):

* ``unsupported element`` / ``charge out of range`` (the shared vocabulary),
* ``missing 3D coordinates (...)`` (no conformer, 2D block, all z = 0), NaN coordinates,
* ``more atoms than max_atoms``, ``disconnected (N fragments)`` (with ``reject_disconnected``),
* unparseable or chemically invalid records, implicit hydrogens (unless ``add_hs`` or ``remove_hs``:
  a heavy-atom dataset derives them, as its model does when it writes molecules),
* ``record has no atoms``, ``isolated hydrogen atom`` (a free H+ or H radical next to a molecule).

A record whose written formal charges, radicals or bond orders contradict its own explicit hydrogens
(RDKit would add hydrogens the file does not have, or radicals: five of the first 100 records of
QM9's ``gdb9.sdf``, four of them rejected before, gdb_23 stored as a diradical) gets bond orders and
charges that fit those hydrogens (:func:`molgen.chem.perceive.hydrogen_consistent_bond_orders`) and
the property ``molgen_bond_orders``.

An input with no readable molecule at all (an empty or binary file), a truncated ``.sdf.gz``,
or a path that is not a regular file is an error (exit 2) and leaves nothing behind.

Splits are hashed by canonical SMILES, so conformers of one molecule share a split.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from rdkit import Chem
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from molgen.safe_write import atomic_path
from molgen.chem.featurize import FeaturizeError, featurize_mol
from molgen.chem.molgraph import MolGraph
from molgen.chem.perceive import consistent_record
from molgen.chem.records import RecordError
from molgen.chem.sdf_records import iter_sdf_blocks, mol_from_sdf_block, parse_sdf_tags
from molgen.chem.vocab import VocabularyError, element_index
from molgen.data.sharded import Shard
from molgen.data.sharded_builder import ShardedBuilder
from molgen.data.splits import hash_split
from molgen.data.template import ProcessReport, RawRecord, processed_dir
from molgen.errors import MolgenInputError, check_regular_file

DEFAULT_FRACTIONS = {"train": 0.9, "val": 0.05, "test": 0.05}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def count_fragments(graph: MolGraph) -> int:
    """Connected components of the bond graph (isolated atoms count as fragments)."""
    n = graph.num_atoms
    i, j = graph.bond_index.numpy()
    adjacency = coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n))
    return int(connected_components(adjacency, directed=False)[0]) if n else 0


def lone_hydrogens(graph: MolGraph) -> list[int]:
    """Indices of hydrogen atoms without any bond, in a molecule of more than one atom."""
    if graph.num_atoms < 2:
        return []
    degree = np.bincount(graph.bond_index.numpy().ravel(), minlength=graph.num_atoms)
    return [k for k in np.flatnonzero(degree == 0).tolist() if int(graph.atom_types[k]) == element_index("H")]


class CustomSDF(ShardedBuilder):
    """User SDF files -> processed dataset ``name``.

    Args:
        sdf: an ``.sdf``/``.sdf.gz`` file or a folder of them.
        name: dataset name (folder under ``processed/``; letters, digits, ``_.-``).
        max_atoms: reject molecules with more atoms (``None``: no limit).
        reject_disconnected: reject molecules made of several fragments (salts, mixtures).
        add_hs: add missing hydrogens (with coordinates) instead of rejecting such records.
        kekulize: store Kekulé bonds (classes 1..3) instead of RDKit's aromatic class 4.
        remove_hs: store heavy atoms only (checked with their hydrogens first); a model trained on
            them writes its molecules with the implied hydrogens placed in 3D.
        fractions: split name -> fraction, hashed by canonical SMILES; seed: hash seed.
    """

    def __init__(self, sdf: str | Path, name: str, *, max_atoms: int | None = None,
                 reject_disconnected: bool = False, add_hs: bool = False, kekulize: bool = False,
                 remove_hs: bool = False,
                 fractions: dict[str, float] | None = None, seed: int = 0):
        if not _NAME.match(name):
            raise MolgenInputError(f"dataset name {name!r} must use letters, digits, '_', '.', '-' only")
        self.name = name
        self.sdf = Path(sdf)
        if not self.sdf.is_dir():
            check_regular_file(self.sdf, "SDF file or folder")
        files = [*self.sdf.rglob("*.sdf"), *self.sdf.rglob("*.sdf.gz")] if self.sdf.is_dir() else [self.sdf]
        if not files:
            raise FileNotFoundError(f"no .sdf / .sdf.gz files at {self.sdf}")
        for file in files:
            check_regular_file(file, "SDF file")
        self.files = sorted(str(f) for f in files)
        self.max_atoms = max_atoms
        self.reject_disconnected = reject_disconnected
        self.add_hs = add_hs
        self.kekulize = kekulize
        self.remove_hs = remove_hs
        self.fractions = dict(fractions or DEFAULT_FRACTIONS)
        self.splits = tuple(self.fractions)
        self.seed = seed

    def num_shards(self) -> int:
        return len(self.files)

    def shards(self) -> Iterator[Shard]:
        for k, file in enumerate(self.files):
            yield Shard(f"{k:06d}", file)

    def shard_records(self, payload: Any) -> Iterator[RawRecord | RecordError]:
        empty = True
        for index, block in iter_sdf_blocks(payload):
            empty = False
            yield RawRecord(payload, index, block)
        if empty:
            yield RecordError(payload, 0, "empty file (no SDF records)")

    def convert(self, record: RawRecord) -> MolGraph | RecordError:
        title = record.payload.split("\n", 1)[0].strip()

        def reject(reason: str, detail: str = "") -> RecordError:
            if title:
                detail = f"title {title!r}: {detail}" if detail else f"title {title!r}"
            return RecordError(record.file, record.index, reason, detail)

        mol = mol_from_sdf_block(record.payload, record.file, record.index)
        # where the file's charges/radicals/bond orders contradict its own explicit hydrogens, re-derived
        mol, props = consistent_record(mol, parse_sdf_tags(record.payload))
        try:
            # a heavy-atom dataset derives the hydrogens RDKit implies, as a heavy-atom model does when writing
            graph = featurize_mol(mol, name=title or f"{Path(record.file).name}:{record.index}", props=props,
                                  add_hs=self.add_hs or self.remove_hs, kekulize=self.kekulize)
        except VocabularyError as err:
            return reject("unsupported element" if "element" in str(err) else "charge out of range", str(err))
        except FeaturizeError as err:
            reason = str(err).split(" between atoms")[0]
            return reject(reason, str(err) if str(err) != reason else "")
        if lone := lone_hydrogens(graph):
            return reject("isolated hydrogen atom", f"atom {lone[0] + 1} has no bond (a free H+ or H radical)")
        if self.max_atoms is not None and graph.num_atoms > self.max_atoms:
            return reject("more atoms than max_atoms", f"{graph.num_atoms} > {self.max_atoms}")
        if self.reject_disconnected and (fragments := count_fragments(graph)) > 1:
            return reject("disconnected", f"{fragments} fragments ({Chem.MolToSmiles(mol)})")
        return graph.heavy_atoms() if self.remove_hs else graph

    def split_of(self, graph: MolGraph) -> str:
        return hash_split(graph.smiles or graph.name, self.fractions, self.seed)


def write_rejections(report: ProcessReport, path: Path, position: str = "record") -> Path:
    """Write every rejected record as a TSV row (file, ``position``, reason, detail), atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t")
        writer.writerow(["file", position, "reason", "detail"])
        for e in report.errors:
            writer.writerow([e["file"], e["index"], e["reason"], e.get("detail", "")])
    return path


def rejections_pointer(report: ProcessReport, path: Path, position: str = "record") -> str:
    """The terminal's one line about the TSV of :func:`write_rejections` (the per-reason lines are the summary's)."""
    n = len(report.errors)
    if not n:
        return f"no {position} rejected ({path})"
    return f"every rejected {position} ({n}), with file, {position}, reason and detail: {path}"


def build_custom(sdf: str | Path, name: str, root: str | os.PathLike | None = None, *, force: bool = False,
                 workers: int = 1, strict: bool = False, progress: bool = True, log: Any = print,
                 **options: Any) -> ProcessReport:
    """Process the user's SDF files into ``processed/<name>`` and write ``rejected.tsv`` next to it.

    ``options`` go to :class:`CustomSDF` (``max_atoms``, ``reject_disconnected``, ``add_hs``, ...).
    """
    report = CustomSDF(sdf, name, **options).process(root, force=force, workers=workers, strict=strict,
                                                      progress=progress, log=log)
    write_rejections(report, processed_dir(name, root) / "rejected.tsv")
    return report

