"""GEOM-Drugs (Axelrod & Gomez-Bombarelli 2022) as a sharded, resumable dataset.

Reads either official release (see :mod:`molgen.data.geom_raw`): the ``rdkit_folder``
(``summary_drugs.json`` + ``drugs/*.pickle``, RDKit molecules with bonds) or
``drugs_crude.msgpack`` (coordinates only; bonds perceived by
:func:`molgen.chem.perceive.perceive_bonds` and checked against the entry's SMILES).
Keeps the ``conformers`` lowest-energy conformers of each molecule (default 5, the
EDM / MiDi / EQGAT-diff convention) and splits by molecule: every conformer of a
SMILES lands in the same split, decided by a seeded hash of the SMILES
(:func:`molgen.data.splits.hash_split`) or by a user split file.

Published size: ~304k molecules; with 5 conformers about 1.17M / 146k / 147k
train / val / test conformers (80/10/10 by molecule).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rdkit import Chem

from molgen.chem.featurize import featurize_mol
from molgen.chem.molgraph import MolGraph
from molgen.chem.perceive import perceive_bonds
from molgen.chem.records import RecordError
from molgen.data.geom_raw import (
    GeomFormatError,
    iter_msgpack_chunks,
    iter_summary,
    msgpack_molecule,
    read_rdkit_pickle,
    resolve_pickle_path,
)
from molgen.data.sharded import Shard, batched
from molgen.data.sharded_builder import ShardedBuilder
from molgen.data.splits import hash_split
from molgen.data.template import RawRecord
from molgen.errors import MolgenInputError, read_text

PUBLISHED_MOLECULES = 304_466
DEFAULT_FRACTIONS = {"train": 0.8, "val": 0.1, "test": 0.1}
_PERIODIC = Chem.GetPeriodicTable()


@functools.lru_cache(maxsize=2)
def load_split_file(path: str) -> dict[str, str]:
    """SMILES -> split from a JSON file ``{"train": [smiles, ...], "val": [...], "test": [...]}``.

    Cached per process (workers load it once). A SMILES listed in two splits is an error.
    """
    try:
        raw = json.loads(read_text(path, "split file"))  # not UTF-8: named by line
    except json.JSONDecodeError as err:
        raise MolgenInputError(f"{path}: split file is not valid JSON ({err})") from err
    if not isinstance(raw, dict) or not all(isinstance(v, list) for v in raw.values()):
        raise MolgenInputError(f"{path}: expected {{split name: [SMILES, ...]}}")
    out: dict[str, str] = {}
    for split, smiles_list in raw.items():
        for smiles in smiles_list:
            if out.setdefault(smiles, split) != split:
                raise MolgenInputError(f"{path}: SMILES {smiles!r} is in both {out[smiles]!r} and {split!r}")
    return out


class GeomDrugs(ShardedBuilder):
    """GEOM-Drugs builder.

    Args:
        raw: an ``rdkit_folder`` directory (with ``summary_drugs.json``) or a ``drugs_crude.msgpack`` file.
        conformers: lowest-energy conformers kept per molecule (``0``: all).
        fractions: split name -> fraction for the hashed split by SMILES.
        seed: hash seed of the split.
        split_file: JSON ``{split: [SMILES, ...]}`` overriding the hashed split (unlisted molecules are dropped).
        max_atoms: drop conformers with more atoms (``None``: keep all).
        shard_size: molecules per shard (unit of resumption and of parallel work).
        summary_name: summary file inside ``rdkit_folder``.
        remove_hs: store heavy atoms only (featurised with their hydrogens first), as
            ``processed/geom_drugs_noh``: the heavy-atom convention of ``configs/geom_drugs.yaml`` and
            ``configs/moses.yaml`` (hydrogens placed in 3D when a model trained on it writes).
        kekulize: Kekulé bonds (classes 1..3) instead of RDKit's aromatic class 4.
    """

    name = "geom_drugs"
    #: class defaults; set on the instance only when not default, so they enter the build signature only then
    #: (an existing explicit-H build keeps its signature and stays cached)
    remove_hs: bool = False
    kekulize: bool = False

    def __init__(self, raw: str | Path, *, conformers: int = 5, fractions: dict[str, float] | None = None,
                 seed: int = 0, split_file: str | Path | None = None, max_atoms: int | None = None,
                 shard_size: int = 500, summary_name: str = "summary_drugs.json", name: str | None = None,
                 remove_hs: bool = False, kekulize: bool = False):
        self.raw = Path(raw)
        if not self.raw.exists():
            raise FileNotFoundError(f"GEOM input not found: {self.raw}")
        self.conformers = conformers
        self.fractions = dict(fractions or DEFAULT_FRACTIONS)
        self.seed = seed
        self.split_file = str(split_file) if split_file is not None else None
        self.max_atoms = max_atoms
        self.shard_size = shard_size
        self.summary_name = summary_name
        if remove_hs:
            self.remove_hs = True
        if kekulize:
            self.kekulize = True
        if name is not None:
            self.name = name
        elif remove_hs:
            self.name = "geom_drugs_noh"
        self.splits = tuple(dict.fromkeys([*self.fractions, *self._file_splits()]))

    def _file_splits(self) -> list[str]:
        return sorted(set(load_split_file(self.split_file).values())) if self.split_file else []

    # ------------------------------------------------------------------ shards (main process)

    def shards(self) -> Iterator[Shard]:
        if self.raw.is_dir():
            items = ((k, smiles, entry.get("pickle_path", "")) for k, (smiles, entry)
                     in enumerate(iter_summary(self.raw / self.summary_name)))
            for s, chunk in enumerate(batched(items, self.shard_size)):
                yield Shard(f"{s:06d}", ("pickle", chunk))
            return
        items = ((k, smiles, entry) for k, (smiles, entry) in enumerate(
            item for chunk in iter_msgpack_chunks(self.raw) for item in chunk.items()))
        for s, chunk in enumerate(batched(items, self.shard_size)):
            yield Shard(f"{s:06d}", ("msgpack", [self._parse_entry(k, smiles, e) for k, smiles, e in chunk]))

    def _parse_entry(self, index: int, smiles: str, entry: dict[str, Any]) -> tuple[int, str, Any]:
        try:
            return index, smiles, msgpack_molecule(smiles, entry, self.conformers, str(self.raw))
        except GeomFormatError as err:
            return index, smiles, RecordError(str(self.raw), index, "malformed GEOM entry", str(err))

    # ------------------------------------------------------------------ records (worker process)

    def shard_records(self, payload: Any) -> Iterator[RawRecord | RecordError]:
        kind, items = payload
        for index, smiles, ref in items:
            if isinstance(ref, RecordError):
                yield ref
                continue
            if self.split_file is not None and smiles not in load_split_file(self.split_file):
                yield RecordError(str(self.raw), index, "molecule not in split file", smiles)
                continue
            if kind == "pickle":
                try:
                    path = resolve_pickle_path(self.raw, ref)
                    molecule = read_rdkit_pickle(path, smiles, self.conformers)
                except (FileNotFoundError, GeomFormatError) as err:
                    yield RecordError(str(self.raw / self.summary_name), index, "unreadable GEOM pickle", str(err))
                    continue
            else:
                molecule = ref
            for rank, conf in enumerate(molecule.conformers):
                yield RawRecord(molecule.source, index, (smiles, rank, conf))

    def convert(self, record: RawRecord) -> MolGraph | RecordError:
        smiles, rank, conf = record.payload
        if conf.rd_mol is not None:
            mol = Chem.Mol(conf.rd_mol)
        else:
            symbols = [_PERIODIC.GetElementSymbol(int(z)) for z in conf.numbers]
            reference = Chem.MolFromSmiles(smiles)
            charge = Chem.GetFormalCharge(reference) if reference is not None else 0
            result = perceive_bonds(symbols, conf.pos, charge, reference_smiles=[smiles])
            if result.mol is None:
                return RecordError(record.file, record.index, result.reason or "bond perception failed",
                                   f"{smiles} conformer {rank}: {result.detail}")
            mol = result.mol
        atoms = mol.GetNumHeavyAtoms() if self.remove_hs else mol.GetNumAtoms()
        if self.max_atoms is not None and atoms > self.max_atoms:
            return RecordError(record.file, record.index, "more atoms than max_atoms",
                               f"{atoms} > {self.max_atoms} ({smiles})")
        props = {**conf.meta, "source_smiles": smiles, "conformer_rank": rank}
        name = f"geom:{conf.meta['geom_id']}" if "geom_id" in conf.meta else f"{record.index}:{rank}"
        graph = featurize_mol(mol, name=name, props=props, kekulize=self.kekulize)
        return graph.heavy_atoms() if self.remove_hs else graph

    def split_of(self, graph: MolGraph) -> str:
        smiles = graph.props["source_smiles"]
        if self.split_file is None:
            return hash_split(smiles, self.fractions, self.seed)
        return load_split_file(self.split_file)[smiles]


# ---------------------------------------------------------------------- command line

