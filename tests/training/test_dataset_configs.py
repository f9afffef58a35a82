"""configs/geom_drugs_explicit_h.yaml, configs/pubchem3d.yaml and the drug-like configs/geom_drugs.yaml train a
shrunken model on the real dataset samples.

The GEOM-like CREST sample and the 10 real PubChem3D records (hydrogens removed) are processed by the
project's builders under their default processed names, which the shipped configs must name; then each
config, shrunk by dotted overrides, trains for 3 steps through the size-bucketed sampler.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
import torch
from toydata import ROOT

from molgen.config.load import load_config
from molgen.config.schema import ExperimentConfig
from molgen.data.batching import SizeBucketSampler
from molgen.data.geom import GeomDrugs
from molgen.data.pubchem3d import PubChem3D
from molgen.data.template import ProcessedDataset
from molgen.errors import MolgenInputError
from molgen.training import datamodule
from molgen.training.train import finetune, train

CONFIGS = ROOT / "configs"
SHRINK = ("model.num_layers=1", "model.scalar_dim=16", "model.vector_dim=8", "model.edge_dim=8",
          "optim.max_steps=3", "trainer.accelerator=cpu", "trainer.log_every=1", "trainer.checkpoint_every=3",
          "dataset.num_workers=0", "logging.csv=true", "sample_eval.every_n_steps=0")
BUDGET = 100  # atoms per batch: below the GEOM-like train split's total, so the budget really cuts batches


class RecordingSampler(SizeBucketSampler):
    """SizeBucketSampler that remembers the atom counts of every batch it hands out."""

    batches: list[list[int]] = []

    def __iter__(self):
        for batch in super().__iter__():
            RecordingSampler.batches.append([int(self.num_atoms[i]) for i in batch])
            yield batch


@pytest.fixture(scope="module")
def geom_root(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("geom")
    raw = shared_data / "geom_like" / "nff_confgen_geomlike"
    report = GeomDrugs(raw, summary_name="summary.json").process(root, progress=False, log=None)
    assert report.kept["train"] > 0
    return root


@pytest.fixture(scope="module")
def pubchem_root(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pubchem")
    report = PubChem3D(shared_data / "pubchem3d", remove_hs=True).process(root, progress=False, log=None)
    assert report.kept["train"] > 0
    return root


def _config(name: str, root: Path, out: Path, *overrides: str) -> ExperimentConfig:
    return load_config(CONFIGS / f"{name}.yaml",
                       [*SHRINK, f"dataset.root={root}", f"trainer.output_dir={out}", *overrides])


def _losses(out: Path) -> list[float]:
    (metrics,) = (out / "logs").rglob("metrics.csv")
    with open(metrics) as handle:
        return [float(row["train/loss"]) for row in csv.DictReader(handle) if row.get("train/loss")]


def _check_run(ckpt_path: Path, out: Path) -> dict:
    assert ckpt_path == out / "checkpoints" / "last.ckpt" and ckpt_path.is_file()
    ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=False)
    assert ckpt["global_step"] == 3
    losses = _losses(out)
    assert len(losses) == 3 and all(math.isfinite(v) for v in losses)
    assert all(torch.isfinite(v).all() for v in ckpt["state_dict"].values() if v.is_floating_point())
    return ckpt


def test_shipped_dataset_configs_name_the_builders_outputs() -> None:
    geom, pubchem = load_config(CONFIGS / "geom_drugs_explicit_h.yaml"), load_config(CONFIGS / "pubchem3d.yaml")
    assert (geom.dataset.name, pubchem.dataset.name) == (GeomDrugs.name, PubChem3D.name)
    assert geom.batching.mode == pubchem.batching.mode == "bucketed"
    assert (geom.batching.max_atoms_per_batch, geom.batching.boundaries) == (4000, [30, 45, 60, 80])
    m = geom.model
    assert (m.num_layers, m.scalar_dim, m.vector_dim, m.edge_dim, m.extra_atom_features) == (12, 256, 256, 128, 11)
    assert geom.diffusion.num_steps == 500 and geom.optim.ema_decay == 0.9999
    assert pubchem.model == geom.model  # pretrained weights must fit the GEOM fine-tuning model


def test_geom_drugs_config_trains_with_size_buckets(geom_root: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(datamodule, "SizeBucketSampler", RecordingSampler)
    monkeypatch.setattr(RecordingSampler, "batches", [])
    config = _config("geom_drugs_explicit_h", geom_root, tmp_path, f"batching.max_atoms_per_batch={BUDGET}")
    sizes = ProcessedDataset(geom_root, "geom_drugs", "train").store.num_atoms()
    assert sizes.sum() > BUDGET
    ckpt = _check_run(train(config), tmp_path)
    assert ckpt["hyper_parameters"]["config"]["batching"]["mode"] == "bucketed"
    # train sizes 16,16,9,9,8,8 (bucket <30: 66 atoms) and 5 x 33 (bucket 30..44: 3 + 2 molecules under 100 atoms)
    assert sorted(sizes.tolist()) == [8, 8, 9, 9, 16, 16, 33, 33, 33, 33, 33]
    batches = RecordingSampler.batches
    assert sorted(sum(b) for b in batches) == [66, 66, 99]  # one epoch = the 3 steps
    edges = torch.tensor(config.batching.boundaries)
    for batch in batches:
        assert len(set(torch.bucketize(torch.tensor(batch), edges, right=True).tolist())) == 1  # one size bucket

def test_pubchem3d_config_pretrains_heavy_atoms_and_finetunes_on_geom(
        pubchem_root: Path, geom_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(datamodule, "SizeBucketSampler", RecordingSampler)
    monkeypatch.setattr(RecordingSampler, "batches", [])
    train_set = ProcessedDataset(pubchem_root, "pubchem3d", "train")
    assert all(int((g.atom_types == 0).sum()) == 0 for g in train_set)  # implicit hydrogens
    pretrained = _check_run(train(_config("pubchem3d", pubchem_root, tmp_path / "pre")), tmp_path / "pre")
    assert RecordingSampler.batches and all(sum(b) <= 4000 for b in RecordingSampler.batches)
    # GEOM here keeps its hydrogens: fine-tuning the heavy-atom model on it would learn nothing valid
    # (issue #20, item 1), so it is refused before any step, naming the flags that rebuild the data.
    with pytest.raises(MolgenInputError, match="heavy atoms only.*explicit hydrogens.*--remove-hs"):
        finetune(_config("geom_drugs_explicit_h", geom_root, tmp_path / "ft", "optim.lr=0.0", "optim.max_steps=1"),
                 tmp_path / "pre" / "checkpoints" / "last.ckpt")
    assert not (tmp_path / "ft" / "checkpoints").exists()
    assert pretrained["global_step"] > 0


def test_empty_train_split_and_unfit_budget_are_clear_errors(geom_root: Path, tmp_path: Path) -> None:
    assert len(ProcessedDataset(geom_root, "geom_drugs", "test")) == 0  # the 6-molecule sample leaves test empty
    with pytest.raises(ValueError, match=r"dataset.train_split 'test' of .*geom_drugs holds no molecules"):
        train(_config("geom_drugs_explicit_h", geom_root, tmp_path / "empty", "dataset.train_split=test"))
    with pytest.raises(ValueError, match=r"batching \(max_atoms_per_batch=20.*item \d+ has 33 atoms"):
        train(_config("geom_drugs_explicit_h", geom_root, tmp_path / "small", "batching.max_atoms_per_batch=20"))


@pytest.fixture(scope="module")
def geom_noh_root(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("geom_noh")
    raw = shared_data / "geom_like" / "nff_confgen_geomlike"
    report = GeomDrugs(raw, summary_name="summary.json", remove_hs=True, kekulize=True).process(
        root, progress=False, log=None)
    assert report.name == "geom_drugs_noh" and report.kept["train"] > 0
    return root


def test_druglike_configs_share_one_model_and_name_the_heavy_atom_builders() -> None:
    from molgen.data.moses import moses_name

    moses, geom = load_config(CONFIGS / "moses.yaml"), load_config(CONFIGS / "geom_drugs.yaml")
    assert (moses.dataset.name, geom.dataset.name) == (moses_name("train", remove_hs=True), "geom_drugs_noh")
    assert moses.model == geom.model and moses.diffusion == geom.diffusion and moses.optim == geom.optim
    assert moses.model == load_config(CONFIGS / "demo.yaml").model  # the shipped QM9 heavy-atom architecture
    shipped = torch.load(ROOT / "checkpoints" / "qm9_noh_gaunt_cpu.ckpt", map_location="cpu",
                         weights_only=False)["hyper_parameters"]["config"]["model"]
    assert {k: getattr(moses.model, k) for k in shipped} == shipped  # finetune starts from the shipped weights
    assert moses.model.extra_atom_features == 0 and moses.batching.mode == geom.batching.mode == "bucketed"


def test_druglike_geom_drugs_config_trains_on_heavy_atom_kekule_geom(geom_noh_root: Path, tmp_path: Path) -> None:
    train_set = ProcessedDataset(geom_noh_root, "geom_drugs_noh", "train")
    assert all(int((g.atom_types == 0).sum()) == 0 and set(g.bond_types.tolist()) <= {1, 2, 3} for g in train_set)
    _check_run(train(_config("geom_drugs", geom_noh_root, tmp_path)), tmp_path)
