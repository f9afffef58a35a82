"""Training data: a processed dataset split (or its pocket-ligand pairs), batched by a fixed size or size
buckets, and its marginals."""

from __future__ import annotations

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Subset

from molgen.config.schema import BatchingConfig, DatasetConfig
from molgen.data.batching import SizeBucketSampler
from molgen.data.pairs import PocketLigandPairs, collate_pairs
from molgen.data.stats import DatasetStatistics, statistics_of_graphs
from molgen.data.template import ProcessedDataset, collate
from molgen.diffusion.marginals import EXTRA_FEATURES, Marginals, pocket_size_table


def marginals_from_statistics(stats: DatasetStatistics) -> Marginals:
    """Diffusion marginals from the ``statistics.json`` written at preprocessing time."""
    extras = {name: stats.marginal(name) for name in EXTRA_FEATURES if name in stats.feature_counts}
    return Marginals(atom_types=stats.marginal("atom_type"), charges=stats.marginal("charge"),
                     bonds=stats.marginal("bond"), num_atoms=stats.marginal("num_atoms"), extras=extras)


def open_train_split(config: DatasetConfig, pockets: bool = False) -> tuple[Dataset, Marginals]:
    """The training split named by the config (optionally its first ``limit_train`` molecules) and its marginals.

    ``pockets``: items are (ligand, pocket) pairs (:class:`PocketLigandPairs`), and the marginals also hold
    the ligand-size histograms per pocket size of the pairs trained on.
    """
    dataset: Dataset = (PocketLigandPairs if pockets else ProcessedDataset)(config.root, config.name,
                                                                           config.train_split)
    folder = dataset.ligands.folder if pockets else dataset.folder
    if len(dataset) == 0:
        raise ValueError(f"dataset.train_split {config.train_split!r} of {folder} holds no molecules; "
                         "choose another split or reprocess with more input")
    if config.limit_train is not None and config.limit_train < 1:
        raise ValueError(f"dataset.limit_train must be >= 1, got {config.limit_train}")
    ligands = dataset.ligands if pockets else dataset
    if config.limit_train is None:
        marginals = marginals_from_statistics(ligands.statistics)
    else:
        dataset = Subset(dataset, range(min(config.limit_train, len(dataset))))
        # the priors (marginals, atom-count histogram) of the molecules actually trained on, not of the whole split
        marginals = marginals_from_statistics(statistics_of_graphs(ligands[i] for i in range(len(dataset))))
    if pockets:
        pocket_atoms, ligand_atoms = (a[: len(dataset)] for a in _pair_sizes(dataset))
        marginals.num_atoms_by_pocket = pocket_size_table(torch.as_tensor(pocket_atoms),
                                                          torch.as_tensor(ligand_atoms))
    return dataset, marginals


def _pair_sizes(dataset: Dataset) -> tuple[np.ndarray, np.ndarray]:
    pairs = dataset.dataset if isinstance(dataset, Subset) else dataset
    return pairs.sizes()


def atom_counts(dataset: Dataset) -> np.ndarray:
    """[M] atoms per molecule, read from the store's offsets when available (no molecule decoding)."""
    if isinstance(dataset, Subset):
        return atom_counts(dataset.dataset)[np.asarray(dataset.indices)]
    if isinstance(dataset, PocketLigandPairs):  # the pockets dominate a complex's cost
        pocket_atoms, ligand_atoms = dataset.sizes()
        return pocket_atoms + ligand_atoms
    if isinstance(dataset, ProcessedDataset):
        return dataset.store.num_atoms()
    return np.asarray([dataset[i].num_atoms for i in range(len(dataset))])


class MolDataModule(L.LightningDataModule):
    """Wraps a Dataset of MolGraph (or of pocket-ligand pairs) into MolBatch loaders (fixed-size or
    size-bucketed batches)."""

    def __init__(self, train_set: Dataset, batching: BatchingConfig, num_workers: int = 0, seed: int = 0) -> None:
        super().__init__()
        if batching.mode not in ("fixed", "bucketed"):
            raise ValueError(f"batching.mode must be 'fixed' or 'bucketed', got {batching.mode!r}")
        if len(train_set) == 0:
            raise ValueError("the training split is empty")
        self.train_set, self.batching, self.num_workers, self.seed = train_set, batching, num_workers, seed
        self.sampler = self._bucket_sampler() if batching.mode == "bucketed" else None

    def _bucket_sampler(self) -> SizeBucketSampler:
        """Built up front so that a budget the data cannot fit fails before training, naming the config keys."""
        b = self.batching
        try:
            return SizeBucketSampler(atom_counts(self.train_set), b.max_atoms_per_batch, b.boundaries or None,
                                     b.max_graphs_per_batch, shuffle=True, seed=self.seed)
        except ValueError as err:
            raise ValueError(f"batching (max_atoms_per_batch={b.max_atoms_per_batch}, boundaries={b.boundaries}, "
                             f"max_graphs_per_batch={b.max_graphs_per_batch}): {err}") from err

    def train_dataloader(self) -> DataLoader:
        b = self.batching
        pairs = isinstance(self.train_set.dataset if isinstance(self.train_set, Subset) else self.train_set,
                           PocketLigandPairs)
        common = dict(collate_fn=collate_pairs if pairs else collate, num_workers=self.num_workers,
                      persistent_workers=self.num_workers > 0)
        if self.sampler is not None:
            if self.trainer is not None:  # DDP: each rank keeps its own share of the size-bucketed batches
                self.sampler.num_replicas, self.sampler.rank = self.trainer.world_size, self.trainer.global_rank
            return DataLoader(self.train_set, batch_sampler=self.sampler, **common)
        generator = torch.Generator().manual_seed(self.seed)
        return DataLoader(self.train_set, batch_size=b.batch_size, shuffle=True, drop_last=False,
                          generator=generator, **common)
