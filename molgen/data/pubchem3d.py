"""PubChem3D (Bolton et al. 2011) for pretraining: the bulk ``Compound_3D`` SDF files, streamed.

Input: ``Compound_3D/01_conf_per_cmpd/SDF/*.sdf.gz`` (25,000 CIDs per file, one
MMFF94 conformer per compound, the CID as record title, ``PUBCHEM_*`` data items),
or plain ``.sdf`` files. Each input file is one resumable shard. With
``shard=(i, n)`` a machine processes only slice ``i`` of ``n`` of the sorted file
list into ``processed/pubchem3d_part<i>of<n>``; :func:`merge_parts` concatenates
the ``n`` parts into ``processed/pubchem3d`` (statistics recomputed on the whole
train split). Splits are decided per CID by a seeded hash, so every part agrees.

Storage: the shared memory-mapped store (:mod:`molgen.data.store`). ~100M molecules
x ~40 atoms (with H) is ~4e9 atoms, ~70 GB of flat columns: never loaded into RAM,
O(1) random access through offsets for the DataLoader, and parts merge by byte copy.

``remove_hs`` drops hydrogen atoms (and their bonds) after featurisation, as used for
heavy-atom pretraining; the vocabulary is unchanged so models transfer.
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from molgen.chem.diagnose import TruncatedFileError
from molgen.chem.molgraph import MolGraph
from molgen.chem.records import RecordError
from molgen.chem.sdf import graph_from_sdf_block
from molgen.chem.sdf_records import iter_sdf_blocks
from molgen.data.sharded import Shard, ShardReport
from molgen.data.sharded_builder import ShardedBuilder, finish_processed
from molgen.data.splits import hash_split
from molgen.data.store import MolStore
from molgen.data.template import ProcessReport, RawRecord, processed_dir
from molgen.errors import MolgenInputError

PUBCHEM_FILE_SIZE = 25_000
DEFAULT_FRACTIONS = {"train": 0.98, "val": 0.01, "test": 0.01}
#: data items kept per molecule (the others, e.g. shape fingerprints, are large and unused)
KEPT_TAGS = ("PUBCHEM_COMPOUND_CID", "PUBCHEM_CONFORMER_ID", "PUBCHEM_MMFF94_ENERGY", "PUBCHEM_HEAVY_ATOM_COUNT")


def parse_slice(text: str) -> tuple[int, int]:
    """``"i/n"`` -> ``(i, n)`` with ``0 <= i < n``."""
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise MolgenInputError(f"--shard must look like i/n (e.g. 3/16), got {text!r}") from None
    if not 0 <= i < n:
        raise MolgenInputError(f"--shard {text}: need 0 <= i < n")
    return i, n


class PubChem3D(ShardedBuilder):
    """PubChem3D builder.

    Args:
        raw: folder of ``*.sdf.gz`` / ``*.sdf`` files (searched recursively) or one file.
        remove_hs: drop hydrogens after featurisation.
        fractions: split name -> fraction, hashed by CID.
        seed: hash seed.
        shard: ``(i, n)``: process only slice ``i`` of ``n`` of the sorted input files.
        max_atoms: drop molecules with more atoms (counted after ``remove_hs``).
    """

    name = "pubchem3d"

    def __init__(self, raw: str | Path, *, remove_hs: bool = False, fractions: dict[str, float] | None = None,
                 seed: int = 0, shard: tuple[int, int] | None = None, max_atoms: int | None = None):
        self.raw = Path(raw)
        files = [*self.raw.rglob("*.sdf.gz"), *self.raw.rglob("*.sdf")] if self.raw.is_dir() else [self.raw]
        if not files or not all(f.is_file() for f in files):
            raise FileNotFoundError(f"no PubChem3D .sdf.gz/.sdf files at {self.raw}")
        self.files = [str(f) for f in sorted(files)]
        if shard is not None:
            i, n = shard
            self.files = self.files[i * len(self.files) // n:(i + 1) * len(self.files) // n]
            self.name = part_name(i, n)
        self.remove_hs = remove_hs
        self.fractions = dict(fractions or DEFAULT_FRACTIONS)
        self.splits = tuple(self.fractions)
        self.seed = seed
        self.max_atoms = max_atoms

    def num_shards(self) -> int:
        return len(self.files)

    def shards(self) -> Iterator[Shard]:
        for k, file in enumerate(self.files):
            yield Shard(f"{k:06d}-{Path(file).name.split('.')[0]}", file)

    def shard_records(self, payload: Any) -> Iterator[RawRecord | RecordError]:
        next_index = 0
        try:
            for index, block in iter_sdf_blocks(payload):
                next_index = index + 1
                yield RawRecord(payload, index, block)
        except (OSError, EOFError, zlib.error, TruncatedFileError) as err:  # cut download: keep what was read
            yield RecordError(payload, next_index, "corrupt or truncated compressed file", str(err))

    def convert(self, record: RawRecord) -> MolGraph | RecordError:
        graph = graph_from_sdf_block(record.payload, record.file, record.index)
        cid = str(graph.props.get("PUBCHEM_COMPOUND_CID", graph.name)).strip()
        if not cid:
            return RecordError(record.file, record.index, "record has neither a CID title nor PUBCHEM_COMPOUND_CID")
        graph.props = {k: graph.props[k] for k in KEPT_TAGS if k in graph.props}
        graph.name = cid
        if self.remove_hs:
            graph = graph.heavy_atoms()
        if self.max_atoms is not None and graph.num_atoms > self.max_atoms:
            return RecordError(record.file, record.index, "more atoms than max_atoms",
                               f"{graph.num_atoms} > {self.max_atoms} (CID {cid})")
        return graph

    def split_of(self, graph: MolGraph) -> str:
        return hash_split(graph.name, self.fractions, self.seed)


def part_name(i: int, n: int, name: str = "pubchem3d") -> str:
    return f"{name}_part{i}of{n}"


def merge_parts(n: int, root: str | Path | None = None, name: str = "pubchem3d") -> ProcessReport:
    """Concatenate the ``n`` processed parts ``<name>_part<i>of<n>`` into ``processed/<name>``."""
    parts = [processed_dir(part_name(i, n, name), root) for i in range(n)]
    missing = [str(p) for p in parts if not (p / "report.json").is_file()]
    if missing:
        raise FileNotFoundError(f"cannot merge: {len(missing)} of {n} parts are not finished: {', '.join(missing)}")
    start = time.perf_counter()
    reports, errors = [], []
    for i, part in enumerate(parts):
        raw = json.loads((part / "report.json").read_text())
        errors += [RecordError(**e) for e in raw["errors"]]
        reports.append(ShardReport(key=f"part{i}", counts=raw["kept"]))
    stores = list(reports[0].counts)
    for i, part in enumerate(parts):
        for split in stores:
            if len(MolStore(part / split)) != reports[i].counts.get(split):
                raise ValueError(f"{part / split} does not match its report.json")
    return finish_processed(parts, reports, processed_dir(name, root), stores, name, errors, start)

