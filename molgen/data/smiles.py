"""SMILES -> 3D conformers (RDKit ETKDGv3 + MMFF94) -> the one processed store, resumably.

``molgen data smiles --smi FILE|DIR --name NAME`` reads SMILES lists (:mod:`molgen.data.smiles_raw`:
``.smi``/``.csv``/``.tsv``, optionally ``.gz``, header detected), embeds ``conformers`` conformers of
each molecule with explicit hydrogens (ETKDGv3, seeded per molecule by a hash of ``seed`` and the
SMILES, so a molecule gets the same conformers however the run is split into shards or workers),
minimises each with MMFF94 and featurises it like every other dataset. Input rows are cut into
shards of ``shard_size`` rows (:class:`~molgen.data.sharded_builder.ShardedBuilder`): a killed run,
started again with the same settings, keeps its finished shards and gives the same store as an
uninterrupted one.

Every molecule that does not make it is listed (``report.json`` and ``failures.tsv`` next to the
processed data: file, line, reason, detail with the SMILES). Reasons: ``unparsable SMILES``,
``disconnected`` (unless ``largest_fragment``), ``disallowed element``, ``charge out of range``,
``more atoms than max_atoms``, ``MMFF setup failed`` (MMFF94 cannot type an atom), ``embedding
failed`` (ETKDG found no conformer, also with random starting coordinates).

Splits are hashed by canonical SMILES (conformers of one molecule share a split). With ``remove_hs``
the stored graphs are the heavy atoms (conformers are still built and minimised with hydrogens);
bonds are Kekulé unless ``kekulize=False``, as for QM9's heavy-atom dataset.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rdkit import Chem
from rdkit.Chem import AllChem
from rdkit.rdBase import BlockLogs

from molgen.chem.featurize import featurize_mol
from molgen.chem.molgraph import MolGraph
from molgen.chem.records import BadRecordError, RecordError
from molgen.chem.vocab import VocabularyError, check_charge, element_index
from molgen.data.custom import write_rejections
from molgen.data.sharded import Shard, batched
from molgen.data.sharded_builder import ShardedBuilder
from molgen.data.smiles_raw import SmilesRow, iter_smiles_rows, smiles_files
from molgen.data.splits import hash_split
from molgen.data.template import ProcessReport, RawRecord, processed_dir
from molgen.errors import MolgenInputError, check_positive

DEFAULT_FRACTIONS = {"train": 0.9, "val": 0.05, "test": 0.05}
#: MMFF minimisation iterations per conformer (drug-like molecules converge in a few hundred)
MMFF_MAX_ITERS = 2000
#: Most ETKDG conformers per molecule (``--conformers``): each is embedded and MMFF-minimised, seconds apiece.
MAX_CONFORMERS = 1000
#: Most atoms (hydrogens counted) one SMILES may embed: ETKDG holds an atoms x atoms bounds matrix and its
#: triangle smoothing is cubic; a 100,000-carbon chain would need ~700 GB. Drug-like molecules have < 150.
MAX_EMBED_ATOMS = 1000
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class ConformerError(ValueError):
    """A molecule for which no conformer can be built; ``reason`` is one of the module docstring's."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason, self.detail = reason, detail


def molecule_seed(seed: int, smiles: str) -> int:
    """The ETKDG random seed of one molecule: a hash of (``seed``, SMILES) in 0..2**31-1."""
    digest = hashlib.blake2b(f"{seed}:{smiles}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") & 0x7FFFFFFF


def parse_smiles(smiles: str, *, largest_fragment: bool = False) -> Chem.Mol:
    """Sanitised molecule of ``smiles`` with vocabulary elements and charges, or :class:`ConformerError`."""
    with BlockLogs():
        mol = Chem.MolFromSmiles(smiles)
    if mol is None or mol.GetNumAtoms() == 0:
        raise ConformerError("unparsable SMILES", smiles)
    fragments = Chem.GetMolFrags(mol, asMols=True)
    if len(fragments) > 1:
        if not largest_fragment:
            raise ConformerError("disconnected", f"{len(fragments)} fragments in {smiles}")
        mol = max(fragments, key=lambda m: m.GetNumHeavyAtoms())
    for atom in mol.GetAtoms():
        try:
            element_index(atom.GetSymbol())
        except VocabularyError as err:
            raise ConformerError("disallowed element", f"{atom.GetSymbol()} in {smiles}") from err
        try:
            check_charge(atom.GetFormalCharge())
        except VocabularyError as err:
            raise ConformerError("charge out of range", f"{atom.GetFormalCharge():+d} on {atom.GetSymbol()} "
                                 f"in {smiles}") from err
    return mol


def embed_conformers(mol: Chem.Mol, num_confs: int, seed: int, smiles: str = ""
                     ) -> tuple[Chem.Mol, list[tuple[int, float, bool]]]:
    """``mol`` with hydrogens and ``num_confs`` ETKDGv3 conformers, each MMFF94-minimised.

    Returns the molecule and one ``(conformer id, MMFF energy in kcal/mol, converged)`` per conformer
    (ETKDG may find fewer than asked). Raises :class:`ConformerError` (``MMFF setup failed``,
    ``embedding failed``).
    """
    mol = Chem.AddHs(mol)
    if not AllChem.MMFFHasAllMoleculeParams(mol):
        raise ConformerError("MMFF setup failed", f"MMFF94 cannot type every atom of {smiles}")
    params = AllChem.ETKDGv3()
    params.randomSeed = seed
    params.numThreads = 1
    with BlockLogs():
        ids = list(AllChem.EmbedMultipleConfs(mol, numConfs=num_confs, params=params))
        if not ids:  # the documented fallback for hard cases (e.g. bridged rings)
            params.useRandomCoords = True
            ids = list(AllChem.EmbedMultipleConfs(mol, numConfs=num_confs, params=params))
    if not ids:
        raise ConformerError("embedding failed", f"ETKDGv3 found no conformer of {smiles}")
    results = AllChem.MMFFOptimizeMoleculeConfs(mol, numThreads=1, maxIters=MMFF_MAX_ITERS)
    return mol, [(cid, float(energy), not_converged == 0) for cid, (not_converged, energy)
                 in zip(ids, results, strict=True) if cid >= 0]


class SmilesConformers(ShardedBuilder):
    """SMILES files -> processed dataset ``name`` of 3D conformers (see module docstring).

    Args:
        smi: a SMILES file or a folder of them.
        name: dataset name (folder under ``processed/``; letters, digits, ``_.-``).
        conformers: conformers per molecule (``K``).
        remove_hs: store heavy atoms only; kekulize: Kekulé bonds (classes 1..3) instead of class 4.
        limit: only the first ``limit`` rows (over the files in sorted order).
        seed: ETKDG seed (hashed with each SMILES) and split hash seed.
        max_atoms: reject molecules with more stored atoms (counted after ``remove_hs``).
        largest_fragment: keep the largest fragment of a multi-fragment SMILES (salts) instead of rejecting it.
        shard_size: input rows per resumable shard.
    """

    def __init__(self, smi: str | Path, name: str, *, conformers: int = 1, remove_hs: bool = False,
                 kekulize: bool = True, limit: int | None = None, seed: int = 0, max_atoms: int | None = None,
                 largest_fragment: bool = False, fractions: dict[str, float] | None = None,
                 shard_size: int = 100):
        if not _NAME.match(name):
            raise MolgenInputError(f"dataset name {name!r} must use letters, digits, '_', '.', '-' only")
        check_positive("--conformers", conformers, MAX_CONFORMERS)
        check_positive("--limit", limit)
        check_positive("--shard-size", shard_size)
        self.name = name
        self.files = smiles_files(smi)
        self.conformers = conformers
        self.remove_hs = remove_hs
        self.kekulize = kekulize
        self.limit = limit
        self.seed = seed
        self.max_atoms = max_atoms
        self.largest_fragment = largest_fragment
        self.fractions = dict(fractions or DEFAULT_FRACTIONS)
        self.splits = tuple(self.fractions)
        self.shard_size = shard_size

    def _rows(self) -> Iterator[SmilesRow]:
        count = 0
        for file in self.files:
            for row in iter_smiles_rows(file):
                if self.limit is not None and count >= self.limit:
                    return
                count += 1
                yield row

    def shards(self) -> Iterator[Shard]:
        for k, chunk in enumerate(batched(self._rows(), self.shard_size)):
            yield Shard(f"{k:06d}", chunk)

    def shard_records(self, payload: Any) -> Iterator[RawRecord | RecordError]:
        for row in payload:
            yield RawRecord(row.file, row.line, row)

    def convert(self, record: RawRecord) -> MolGraph | RecordError:
        graphs = self.convert_record(record)
        return graphs[0][1]

    def convert_record(self, record: RawRecord) -> list[tuple[str, MolGraph]]:
        row: SmilesRow = record.payload
        try:
            mol = parse_smiles(row.smiles, largest_fragment=self.largest_fragment)
            with_h = Chem.AddHs(mol).GetNumAtoms()
            n_atoms = mol.GetNumAtoms() if self.remove_hs else with_h
            if self.max_atoms is not None and n_atoms > self.max_atoms:
                raise ConformerError("more atoms than max_atoms", f"{n_atoms} > {self.max_atoms} ({row.smiles})")
            if with_h > MAX_EMBED_ATOMS:  # ETKDG's bounds matrix is atoms^2 doubles
                raise ConformerError("too many atoms to embed",
                                     f"{with_h} atoms with hydrogens > {MAX_EMBED_ATOMS} "
                                     f"({row.smiles[:80]}{'...' if len(row.smiles) > 80 else ''})")
            mol, confs = embed_conformers(mol, self.conformers, molecule_seed(self.seed, row.smiles), row.smiles)
        except ConformerError as err:
            raise BadRecordError(RecordError(record.file, record.index, err.reason, err.detail or row.smiles)) from err
        name = row.name or f"{Path(row.file).name}:{row.line}"
        out = []
        for rank, (cid, energy, converged) in enumerate(confs):
            props = {**row.props, "input_smiles": row.smiles, "line": row.line, "conformer": rank,
                     "mmff_energy": round(energy, 4), "mmff_converged": converged}
            graph = featurize_mol(Chem.Mol(mol, confId=cid), name=name, props=props, kekulize=self.kekulize)
            graph = graph.heavy_atoms() if self.remove_hs else graph
            out.append((self.split_of(graph), graph))
        return out

    def split_of(self, graph: MolGraph) -> str:
        return hash_split(graph.smiles or graph.name, self.fractions, self.seed)


def build_smiles(smi: str | Path, name: str, root: str | os.PathLike | None = None, *, force: bool = False,
                 workers: int = 1, strict: bool = False, progress: bool = True, log: Any = print,
                 **options: Any) -> ProcessReport:
    """Build ``processed/<name>`` from SMILES files and write ``failures.tsv`` beside it.

    ``options`` go to :class:`SmilesConformers` (``conformers``, ``remove_hs``, ``limit``, ``seed``, ...).
    Record indices in the report are 1-based line numbers of the input file.
    """
    report = SmilesConformers(smi, name, **options).process(root, force=force, workers=workers, strict=strict,
                                                            progress=progress, log=log)
    write_rejections(report, processed_dir(name, root) / "failures.tsv", position="line")
    return report
