"""QM9 from any of its three published forms, processed once into ``processed/qm9/``.

Sources (``prepare_qm9(source=...)``, ``molgen data qm9 --source``):

* ``tg``: torch_geometric's raw layout, ``gdb9.sdf`` + ``gdb9.sdf.csv`` + ``uncharacterized.txt``.
  Bonds and charges are the SDF's own, except where they contradict the record's
  explicit hydrogens (a handful of records in gdb9.sdf carry wrong charges or
  radicals): those are re-derived from the hydrogens and marked ``molgen_bond_orders``
  (:func:`molgen.chem.perceive.hydrogen_consistent_bond_orders`, as ``molgen data custom``
  does); records RDKit still cannot sanitise are dropped and counted.
* ``xyz``: the official ``dsgdb9nsd.xyz.tar.bz2`` (+ ``uncharacterized.txt``), read
  member by member from the compressed tarball without extracting it. Bonds
  and formal charges are perceived from the coordinates
  (:func:`molgen.chem.perceive.perceive_bonds`, total charge 0) and must agree
  with the record's own GDB or relaxed-geometry SMILES (or InChI main layer).
* ``qm9pack``: the CSVs of the PyPI package ``qm9pack`` (130,831 molecules,
  the uncharacterized ones already removed), through the same perception path.
* ``auto``: ``tg`` if its three files are in the raw folder, else ``xyz`` if the
  tarball and ``uncharacterized.txt`` are, else ``qm9pack`` if installed.

Split (all sources): the Cormorant/EDM convention also used by EQGAT-diff.
The 3054 uncharacterized molecules are removed from the 133,885 GDB ids;
the remaining 130,831 ids, sorted, are permuted by ``RandomState(0)`` and
cut into 100,000 train, ``130831 - 100000 - 13083`` = 17,748 val and
``int(0.1 * 130831)`` = 13,083 test. The split is a function of the GDB id,
so molecules dropped during processing simply leave their split; a
``limit``-ed run gives each molecule the same split as a full run.
"""

from __future__ import annotations

import os
import tarfile
from abc import abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import numpy as np

from molgen.chem.featurize import featurize_mol
from molgen.chem.molgraph import MolGraph
from molgen.chem.perceive import REDERIVED, perceive_bonds
from molgen.chem.records import RecordError
from molgen.chem.sdf import graph_from_sdf_block
from molgen.chem.sdf_records import iter_sdf_blocks
from molgen.data.download import RemoteFile, fetch
from molgen.data.qm9_raw import (
    QM9XYZ,
    QM9FormatError,
    iter_qm9pack_rows,
    parse_qm9_xyz,
    parse_qm9pack_row,
    qm9pack_files,
    qm9pack_indices,
    read_gdb9_csv,
    read_uncharacterized,
)
from molgen.data.splits import permutation_split
from molgen.data.template import DatasetBuilder, ProcessReport, RawRecord, raw_dir
from molgen.errors import MolgenInputError, decode_text

#: Number of molecules in the published QM9 (GDB-9 subset), ids 1..133885; defines the EDM split.
QM9_NUM_GDB = 133_885
NUM_TRAIN = 100_000
#: figshare collection 978904 (MD5s as published by figshare).
XYZ_TARBALL = RemoteFile("dsgdb9nsd.xyz.tar.bz2", "https://ndownloader.figshare.com/files/3195389",
                         md5="ad1ebd51ee7f5b3a6e32e974e5d54012")
UNCHARACTERIZED = RemoteFile("uncharacterized.txt", "https://ndownloader.figshare.com/files/3195404",
                             md5="a361887bacb427b8a0ce7903d92a53b4")
TG_FILES = ("gdb9.sdf", "gdb9.sdf.csv", "uncharacterized.txt")


def edm_split(included_ids: np.ndarray) -> dict[int, str]:
    """GDB id -> split for the EDM convention over the sorted ``included_ids`` (see module docstring)."""
    ids = np.sort(np.asarray(included_ids, dtype=np.int64))
    n = len(ids)
    n_test = int(0.1 * n)
    sizes = (NUM_TRAIN, n - NUM_TRAIN - n_test, n_test)
    names = ("train", "val", "test")
    assignment = permutation_split(n, sizes, names, seed=0)
    return {int(i): names[k] for i, k in zip(ids, assignment, strict=True)}


def included_from_uncharacterized(path: str | os.PathLike) -> np.ndarray:
    excluded = np.asarray(read_uncharacterized(path), dtype=np.int64)
    return np.setdiff1d(np.arange(1, QM9_NUM_GDB + 1), excluded)

#: a QM9 XYZ member is about 1 kB; a member this large is not one (a tar bomb is not read)
MAX_MEMBER_BYTES = 1 << 20


class _QM9Builder(DatasetBuilder):
    """Shared parts: name, split by GDB id, the perception path for coordinate-only sources."""

    name: str = "qm9"  # "qm9_noh" with remove_hs
    source: ClassVar[str]

    def __init__(self, limit: int | None = None, kekulize: bool = True, remove_hs: bool = False):
        self.limit = limit
        self.kekulize = kekulize
        self.remove_hs = remove_hs
        self.name = "qm9_noh" if remove_hs else "qm9"  # heavy atoms only: its own processed dataset
        self._main_split: dict[int, str] | None = None

    @abstractmethod
    def included_ids(self) -> np.ndarray:
        """Sorted GDB ids of the characterised molecules (the population the split permutes)."""

    def signature(self) -> dict[str, object]:
        return {"source": self.source, "limit": self.limit, "kekulize": self.kekulize, "remove_hs": self.remove_hs}

    def split_of(self, graph: MolGraph) -> str:
        if self._main_split is None:
            self._main_split = edm_split(self.included_ids())
        return self._main_split[int(graph.props["gdb_id"])]

    def _limited(self, records: Iterator[RawRecord]) -> Iterator[RawRecord]:
        for k, record in enumerate(records):
            if self.limit is not None and k >= self.limit:
                return
            yield record

    def perceived_graph(self, rec: QM9XYZ, record: RawRecord) -> MolGraph | RecordError:
        result = perceive_bonds(rec.symbols, rec.pos, 0, reference_smiles=rec.smiles, reference_inchi=rec.inchi)
        if result.mol is None:
            return RecordError(record.file, record.index, result.reason or "bond perception failed", result.detail)
        props = {"gdb_id": rec.gdb_id, **rec.props}
        return self.finish(featurize_mol(result.mol, name=f"gdb_{rec.gdb_id}", props=props, kekulize=self.kekulize))

    def finish(self, graph: MolGraph) -> MolGraph:
        """The stored graph: hydrogens dropped (after bond perception and featurisation) with ``remove_hs``."""
        return graph.heavy_atoms() if self.remove_hs else graph


class QM9TGBuilder(_QM9Builder):
    """QM9 from torch_geometric's ``gdb9.sdf`` + ``gdb9.sdf.csv`` + ``uncharacterized.txt``."""

    source: ClassVar[str] = "tg"

    def __init__(self, folder: str | os.PathLike, limit: int | None = None, kekulize: bool = True,
                 remove_hs: bool = False):
        super().__init__(limit, kekulize, remove_hs)
        self.folder = Path(folder)
        for name in TG_FILES:
            if not (self.folder / name).is_file():
                raise FileNotFoundError(f"QM9 (tg layout) needs {self.folder / name}")

    def included_ids(self) -> np.ndarray:
        return included_from_uncharacterized(self.folder / "uncharacterized.txt")

    def iter_raw(self) -> Iterator[RawRecord]:
        excluded = set(read_uncharacterized(self.folder / "uncharacterized.txt"))
        sdf, table = self.folder / "gdb9.sdf", self.folder / "gdb9.sdf.csv"
        rows = read_gdb9_csv(table)

        def records() -> Iterator[RawRecord]:
            for index, block in iter_sdf_blocks(sdf):
                row = next(rows, None)
                if row is None:
                    raise QM9FormatError(f"{table}: ends before {sdf} record {index} (more molecules than rows)")
                line, mol_id, props = row
                title = block.split("\n", 1)[0].strip()
                if mol_id != title:
                    raise QM9FormatError(f"{table}, line {line}: mol_id {mol_id!r} != {sdf} record {index} "
                                         f"title {title!r}")
                gdb_id = int(title.removeprefix("gdb_"))
                if gdb_id not in excluded:
                    yield RawRecord(str(sdf), index, (block, gdb_id, props))

        return self._limited(records())

    def convert(self, record: RawRecord) -> MolGraph | RecordError:
        block, gdb_id, props = record.payload
        graph = graph_from_sdf_block(block, record.file, record.index, rederive=True, kekulize=self.kekulize)
        marked = {REDERIVED: graph.props[REDERIVED]} if REDERIVED in graph.props else {}
        graph.props = {"gdb_id": gdb_id, **props, **marked}
        return self.finish(graph)


class QM9XYZBuilder(_QM9Builder):
    """QM9 from the official XYZ tarball, read without extraction; bonds perceived and cross-checked."""

    source: ClassVar[str] = "xyz"

    def __init__(self, tarball: str | os.PathLike, uncharacterized: str | os.PathLike, limit: int | None = None,
                 kekulize: bool = True,
                 remove_hs: bool = False):
        super().__init__(limit, kekulize, remove_hs)
        self.tarball, self.uncharacterized = Path(tarball), Path(uncharacterized)
        for path in (self.tarball, self.uncharacterized):
            if not path.is_file():
                raise FileNotFoundError(f"QM9 (xyz source) needs {path}")

    def included_ids(self) -> np.ndarray:
        return included_from_uncharacterized(self.uncharacterized)

    def iter_raw(self) -> Iterator[RawRecord]:
        excluded = set(read_uncharacterized(self.uncharacterized))

        def records() -> Iterator[RawRecord]:
            with tarfile.open(self.tarball, mode="r|*") as archive:
                for index, member in enumerate(archive):
                    if not member.isfile() or not member.name.endswith(".xyz"):
                        continue
                    if member.size > MAX_MEMBER_BYTES:
                        raise QM9FormatError(f"{self.tarball}: member {member.name!r} is {member.size} bytes; a QM9 "
                                             f"XYZ file is under {MAX_MEMBER_BYTES} (not the QM9 tarball?)")
                    stem = Path(member.name).stem
                    try:
                        gdb_id = int(stem.rsplit("_", 1)[-1])
                    except ValueError:
                        message = f"{self.tarball}: member {member.name!r} is not dsgdb9nsd_<id>.xyz"
                        raise QM9FormatError(message) from None
                    data = archive.extractfile(member)
                    if gdb_id not in excluded and data is not None:
                        where = f"{self.tarball}:{member.name}"
                        yield RawRecord(where, index, decode_text(where, data.read(MAX_MEMBER_BYTES)))

        return self._limited(records())

    def convert(self, record: RawRecord) -> MolGraph | RecordError:
        try:
            rec = parse_qm9_xyz(record.payload, record.file)
        except QM9FormatError as exc:
            return RecordError(record.file, record.index, "malformed XYZ record", str(exc))
        return self.perceived_graph(rec, record)


class QM9PackBuilder(_QM9Builder):
    """QM9 from the ``qm9pack`` CSVs (bonds perceived from coordinates, cross-checked with SMILES/InChI)."""

    source: ClassVar[str] = "qm9pack"

    def __init__(self, data_dir: str | os.PathLike | None = None, limit: int | None = None, kekulize: bool = True,
                 remove_hs: bool = False):
        super().__init__(limit, kekulize, remove_hs)
        self.files = qm9pack_files(data_dir)

    def included_ids(self) -> np.ndarray:
        return qm9pack_indices(self.files)

    def iter_raw(self) -> Iterator[RawRecord]:
        rows = (RawRecord(file, line, row) for file, line, row in iter_qm9pack_rows(self.files))
        return self._limited(rows)

    def convert(self, record: RawRecord) -> MolGraph | RecordError:
        try:
            rec = parse_qm9pack_row(record.payload, f"{record.file}, line {record.index}")
        except QM9FormatError as exc:
            return RecordError(record.file, record.index, "malformed qm9pack row", str(exc))
        return self.perceived_graph(rec, record)


def make_qm9_builder(source: str = "auto", folder: str | os.PathLike | None = None, *,
                     root: str | os.PathLike | None = None, limit: int | None = None,
                     download: bool = False, kekulize: bool = True, remove_hs: bool = False) -> _QM9Builder:
    """Pick the QM9 source (see module docstring); ``download`` fetches the XYZ tarball when nothing is there."""
    given = folder is not None
    folder = Path(folder) if given else raw_dir("qm9", root)
    if given and source == "qm9pack":
        raise MolgenInputError(f"--raw-dir {folder} has no effect with --source qm9pack (it reads the package)")
    if given and folder.exists() and not folder.is_dir():
        raise MolgenInputError(f"--raw-dir {folder} is not a folder")
    has_tg = all((folder / name).is_file() for name in TG_FILES)
    has_xyz = (folder / XYZ_TARBALL.name).is_file() and (folder / UNCHARACTERIZED.name).is_file()
    if source == "auto":
        if has_tg:
            source = "tg"
        elif has_xyz or download:
            source = "xyz"
        elif given:  # the user named a folder: reading the qm9pack package instead would ignore it silently
            raise FileNotFoundError(f"--raw-dir {folder} holds no QM9 raw files (torch_geometric: "
                                    f"{', '.join(TG_FILES)}; or {XYZ_TARBALL.name} + {UNCHARACTERIZED.name}); "
                                    "pass --download, or leave --raw-dir out to read the qm9pack package")
        else:
            source = "qm9pack"
    if source == "tg":
        return QM9TGBuilder(folder, limit, kekulize, remove_hs)
    if source == "xyz":
        if download:
            fetch(XYZ_TARBALL, folder)
            fetch(UNCHARACTERIZED, folder)
        return QM9XYZBuilder(folder / XYZ_TARBALL.name, folder / UNCHARACTERIZED.name, limit, kekulize, remove_hs)
    if source == "qm9pack":
        try:
            return QM9PackBuilder(limit=limit, kekulize=kekulize, remove_hs=remove_hs)
        except ImportError:
            raise FileNotFoundError(f"no QM9 raw files in {folder} and qm9pack is not installed; "
                                    "pip install qm9pack, or rerun with --download") from None
    raise MolgenInputError(f"unknown QM9 source {source!r}; choose auto, tg, xyz or qm9pack")


def prepare_qm9(source: str = "auto", raw: str | os.PathLike | None = None, *, root: str | os.PathLike | None = None,
                force: bool = False, workers: int = 1, limit: int | None = None, download: bool = False,
                strict: bool = False, progress: bool = True, kekulize: bool = True, remove_hs: bool = False
                ) -> ProcessReport:
    """Process QM9 into ``<root>/processed/qm9/`` (cached unless ``force``); see the module docstring.

    ``kekulize`` (default, as EQGAT-diff reads QM9): bonds are Kekulé classes 1..3, never aromatic.
    ``remove_hs``: heavy atoms only, into ``processed/qm9_noh``; a model trained on it writes its
    molecules with the implied hydrogens placed in 3D (:mod:`molgen.chem.hydrogens`).
    """
    builder = make_qm9_builder(source, raw, root=root, limit=limit, download=download, kekulize=kekulize,
                               remove_hs=remove_hs)
    return builder.process(root, force=force, workers=workers, strict=strict, progress=progress)

