"""A tiny processed dataset built through the project's own template (tests only)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from rdkit import Chem
from rdkit.Chem import AllChem

from molgen.chem.featurize import featurize_mol
from molgen.chem.molgraph import MolGraph
from molgen.config.load import load_config
from molgen.config.schema import ExperimentConfig
from molgen.data.template import DatasetBuilder, RawRecord

ROOT = Path(__file__).resolve().parents[2]
SMILES = ("O", "C", "CO", "C=O", "CC#N", "CCO", "N", "CC(=O)O", "c1ccccc1", "C1CC1", "CN", "OC=O")


def embedded(smiles: str, seed: int = 7) -> Chem.Mol:
    mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
    if AllChem.EmbedMolecule(mol, randomSeed=seed) != 0:
        raise ValueError(f"RDKit could not embed {smiles}")
    conf = mol.GetConformer()
    for k in range(mol.GetNumAtoms()):  # tilt out of the xy plane: planar molecules must not look 2D
        p = conf.GetAtomPosition(k)
        conf.SetAtomPosition(k, (p.x, 0.8 * p.y - 0.6 * p.z, 0.6 * p.y + 0.8 * p.z))
    return mol


class ToyBuilder(DatasetBuilder):
    """Twelve small molecules embedded by RDKit; every one goes to the train split."""

    name = "toy"

    def iter_raw(self) -> Iterator[RawRecord]:
        for i, smi in enumerate(SMILES):
            yield RawRecord("toy.smi", i, smi)

    def convert(self, record: RawRecord) -> MolGraph:
        return featurize_mol(embedded(record.payload), name=f"toy_{record.index}")

    def split_of(self, graph: MolGraph) -> str:
        return "train"


def toy_config(root: Path, out: Path, *overrides: str) -> ExperimentConfig:
    """configs/debug.yaml pointed at the toy dataset under ``root``, writing to ``out``."""
    return load_config(ROOT / "configs" / "debug.yaml", [
        f"dataset.root={root}", "dataset.name=toy", "dataset.limit_train=null", f"trainer.output_dir={out}",
        "batching.batch_size=4", "logging.csv=true", *overrides])
