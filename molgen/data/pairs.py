"""Pocket-ligand pairs of a processed pocket dataset (e.g. ``molgen data crossdocked``) for training.

The builder writes a ligand store ``<split>/`` and a pocket store ``<split>_pocket/`` aligned by
index; :class:`PocketLigandPairs` reads both and :func:`collate_pairs` batches them into one
:class:`MolBatch` of ligands carrying its pockets (``MolBatch.pocket``), the object every later
stage (diffusion, denoiser) takes.
"""

from __future__ import annotations

import os
from dataclasses import replace

import numpy as np
from torch.utils.data import Dataset

from molgen.chem.molgraph import MolBatch, MolGraph
from molgen.chem.pocket_batch import PocketBatch
from molgen.data.template import ProcessedDataset


class PocketLigandPairs(Dataset):
    """Item i = (ligand i of ``split``, pocket i of ``split``_pocket)."""

    def __init__(self, root: str | os.PathLike | None, name: str, split: str) -> None:
        self.ligands = ProcessedDataset(root, name, split)
        try:
            self.pockets = ProcessedDataset(root, name, f"{split}_pocket")
        except FileNotFoundError:
            raise FileNotFoundError(
                f"dataset {name!r} has no pocket store {split}_pocket next to {split} at {self.ligands.folder}: "
                "model.pocket_cutoff needs pocket-ligand pairs (e.g. 'molgen data crossdocked')") from None
        if len(self.ligands) != len(self.pockets):
            raise ValueError(f"{self.ligands.folder}: {split} holds {len(self.ligands)} ligands but {split}_pocket "
                             f"{len(self.pockets)} pockets; reprocess the dataset with --force")

    def __len__(self) -> int:
        return len(self.ligands)

    def __getitem__(self, i: int) -> tuple[MolGraph, MolGraph]:
        return self.ligands[i], self.pockets[i]

    def sizes(self) -> tuple[np.ndarray, np.ndarray]:
        """(pocket atoms [P], ligand atoms [P]) read from the stores' offsets (nothing decoded)."""
        return self.pockets.store.num_atoms(), self.ligands.store.num_atoms()


def collate_pairs(items: list[tuple[MolGraph, MolGraph]]) -> MolBatch:
    """DataLoader ``collate_fn``: (ligand, pocket) pairs -> ligands with ``pocket`` context."""
    ligands, pockets = zip(*items, strict=True)
    return replace(MolBatch.from_graphs(list(ligands)), pocket=PocketBatch.from_graphs(list(pockets)))
