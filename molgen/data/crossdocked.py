"""CrossDocked2020 pocket-ligand pairs (``crossdocked_pocket10``) with the pocket as fixed context.

Layout written (``<root>/processed/<name>/``): for every split a ligand store ``<split>/``
and a pocket store ``<split>_pocket/`` aligned by index (molecule ``i`` of one is the
pair of molecule ``i`` of the other), plus ``statistics.json`` (train ligands) and
``report.json``. Ligands are heavy-atom graphs (the SBDD convention; hydrogens are
added for featurisation and removed, unless ``ligand_hs``). A pocket is every residue
with an atom within ``pocket_cutoff`` A of a ligand atom, read from the pair's
``*_pocket10.pdb``; it is a bond-less MolGraph in the shared vocabulary with per-atom
residue information in ``props`` (see :func:`molgen.data.pocket.pocket_graph`).

Splits: Pocket2Mol's ``split_by_name.pt`` (100,000 train / 100 test pairs), TargetDiff's
pose split (indices into ``index.pkl``), or, without either, everything in ``train``.
Pairs listed but absent on disk (partial downloads) are counted and skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from molgen.chem.featurize import featurize_mol
from molgen.chem.molgraph import MolGraph
from molgen.chem.records import RecordError
from molgen.chem.sdf_records import iter_sdf_blocks, mol_from_sdf_block
from molgen.data.crossdocked_raw import PairEntry, assign_splits, load_index, load_name_split, load_pose_split
from molgen.data.pocket import DEFAULT_POCKET_CUTOFF, PdbFormatError, parse_pdb, pocket_graph, select_pocket
from molgen.data.sharded import Shard, batched
from molgen.data.sharded_builder import ShardedBuilder
from molgen.data.store import OPTIONAL_FEATURES
from molgen.data.template import RawRecord

PUBLISHED_PAIRS = {"train": 100_000, "test": 100}
MISSING_ON_DISK = "pair missing on disk (partial download)"


class CrossDocked(ShardedBuilder):
    """CrossDocked2020 builder.

    Args:
        raw: the ``crossdocked_pocket10`` folder (holding ``index.pkl``).
        split_file: ``split_by_name.pt`` (or a Protein/Ligand TSV of test pairs).
        pose_split: TargetDiff's ``crossdocked_pocket10_pose_split.pt`` (instead of ``split_file``).
        pocket_cutoff: residues with any atom within this distance (A) of the ligand form the pocket.
        ligand_hs: keep (RDKit-added) ligand hydrogens instead of heavy atoms only.
        max_atoms: drop pairs whose ligand has more atoms.
        shard_size: pairs per resumable shard.
    """

    name = "crossdocked"

    def __init__(self, raw: str | Path, *, split_file: str | Path | None = None, pose_split: str | Path | None = None,
                 pocket_cutoff: float = DEFAULT_POCKET_CUTOFF, ligand_hs: bool = False,
                 max_atoms: int | None = None, shard_size: int = 1000, index_file: str | Path | None = None):
        self.raw = Path(raw)
        self.index_file = Path(index_file) if index_file else self.raw / "index.pkl"
        if not self.index_file.is_file():
            raise FileNotFoundError(f"CrossDocked index not found: {self.index_file}")
        self.split_file = str(split_file) if split_file else None
        self.pose_split = str(pose_split) if pose_split else None
        self.pocket_cutoff = pocket_cutoff
        self.ligand_hs = ligand_hs
        self.max_atoms = max_atoms
        self.shard_size = shard_size
        names = load_name_split(Path(self.split_file)) if self.split_file else None
        poses = load_pose_split(Path(self.pose_split)) if self.pose_split else None
        listed = names or poses or {}
        self.splits = tuple(dict.fromkeys(["train", *listed]))

    def stores(self) -> dict[str, tuple[str, ...]]:
        out: dict[str, tuple[str, ...]] = {}
        for split in self.splits:
            out[split] = OPTIONAL_FEATURES
            out[f"{split}_pocket"] = ()
        return out

    # ------------------------------------------------------------------ shards (main process)

    def shards(self) -> Iterator[Shard]:
        entries = load_index(self.index_file)
        names = load_name_split(Path(self.split_file)) if self.split_file else None
        poses = load_pose_split(Path(self.pose_split)) if self.pose_split else None
        grouped = assign_splits(entries, names, poses, default=None if (names or poses) else "train")
        yield Shard("missing-from-index", ("errors", self._absent_from_index(entries, names, poses)))
        for split in self.splits:
            for k, chunk in enumerate(batched(grouped.get(split, []), self.shard_size)):
                yield Shard(f"{split}-{k:05d}", ("pairs", [(split, e) for e in chunk]))

    def _absent_from_index(self, entries: list[PairEntry | None], names: dict | None,
                           poses: dict | None) -> list[RecordError]:
        """One summary record for split members the index lacks (a split made for a larger index)."""
        source = self.split_file or self.pose_split or ""
        if names is not None:
            known = {e.key for e in entries if e is not None}
            listed = [p for split in names.values() for p in split]
            absent = [f"{p[0]} {p[1]}" for p in listed if tuple(p) not in known]
        elif poses is not None:
            listed = [i for split in poses.values() for i in split]
            absent = [str(i) for i in listed if not 0 <= i < len(entries) or entries[i] is None]
        else:
            return []
        if not absent:
            return []
        return [RecordError(source, 0, "split members not in index.pkl",
                            f"{len(absent)} of {len(listed)} (first: {absent[0]})")]

    # ------------------------------------------------------------------ records (worker process)

    def shard_records(self, payload: Any) -> Iterator[RawRecord | RecordError]:
        kind, items = payload
        if kind == "errors":
            yield from items
            return
        for split, entry in items:
            pocket, ligand = self.raw / entry.pocket_fn, self.raw / entry.ligand_fn
            if not (pocket.is_file() and ligand.is_file()):
                yield RecordError(str(ligand if not ligand.is_file() else pocket), entry.index, MISSING_ON_DISK)
                continue
            yield RawRecord(str(ligand), entry.index, (split, entry))

    def convert(self, record: RawRecord) -> MolGraph | RecordError:
        """The ligand of a pair, as a heavy-atom MolGraph (or with hydrogens if ``ligand_hs``)."""
        split, entry = record.payload
        _, block = next(iter(iter_sdf_blocks(record.file)), (0, ""))
        mol = mol_from_sdf_block(block, record.file, 0)
        props = {"pocket_fn": entry.pocket_fn, "ligand_fn": entry.ligand_fn, "protein_fn": entry.protein_fn,
                 "rmsd": entry.rmsd, "index": entry.index, "split": split}
        graph = featurize_mol(mol, name=entry.ligand_fn, props=props, add_hs=True)
        graph = graph if self.ligand_hs else graph.heavy_atoms()
        if self.max_atoms is not None and graph.num_atoms > self.max_atoms:
            return RecordError(record.file, record.index, "more atoms than max_atoms",
                               f"{graph.num_atoms} > {self.max_atoms}")
        return graph

    def split_of(self, graph: MolGraph) -> str:
        return graph.props["split"]

    def convert_record(self, record: RawRecord) -> list[tuple[str, MolGraph]]:
        ligand = self.convert(record)
        if isinstance(ligand, RecordError):
            ligand.raise_()
        _, entry = record.payload
        pocket_file = self.raw / entry.pocket_fn
        try:
            atoms = select_pocket(parse_pdb(pocket_file, hydrogens=False), ligand.pos.double().numpy(),
                                  self.pocket_cutoff)
        except PdbFormatError as err:
            RecordError(str(pocket_file), record.index, "malformed pocket PDB", str(err)).raise_()
        if len(atoms) == 0:
            RecordError(str(pocket_file), record.index, f"no residue within {self.pocket_cutoff} A").raise_()
        pocket = pocket_graph(atoms, name=entry.pocket_fn)
        split = self.split_of(ligand)
        return [(split, ligand), (f"{split}_pocket", pocket)]

