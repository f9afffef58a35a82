"""A new user's fine-tune on their own SDF: a dataset prepared unlike the checkpoint's data is refused
with the flags to use, and the dataset rebuilt with those flags fine-tunes (issue #20, item 1)."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from rdkit import Chem
from rdkit.Chem import AllChem

from molgen.cli import main
from molgen.training.data_form import data_form
from molgen.training.train import read_checkpoint

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "checkpoints" / "qm9_noh_gaunt_cpu.ckpt"
CUSTOM = ROOT / "configs" / "custom.yaml"
SMILES = ("c1ccccc1O", "c1ccncc1C", "Cc1ccc(O)cc1", "c1ccc2ccccc2c1", "OCc1ccccc1", "Nc1ccccc1",
          "c1ccoc1C", "CCOc1ccccc1", "Oc1ccncc1", "c1cnccn1", "Cc1cccnc1", "COc1ccncc1", "CC(=O)c1ccccc1",
          "Cc1ccco1", "NCc1ccccc1", "Oc1cccc(C)c1")


@pytest.fixture
def user_sdf(tmp_path: Path) -> Path:
    path = tmp_path / "my.sdf"
    with Chem.SDWriter(str(path)) as writer:
        for i, smi in enumerate(SMILES):
            mol = Chem.AddHs(Chem.MolFromSmiles(smi))
            AllChem.EmbedMolecule(mol, randomSeed=i)
            writer.write(mol)
    return path


def _finetune(root: Path, out: Path) -> list[str]:
    return ["finetune", "--ckpt", str(SHIPPED), "--config", str(CUSTOM), f"dataset.root={root}", "dataset.name=d",
            f"trainer.output_dir={out}", "optim.max_steps=2", "optim.max_minutes=null", "batching.batch_size=4",
            "logging.csv=false"]


def test_shipped_checkpoint_records_heavy_atoms_and_kekule_bonds() -> None:
    form = data_form(read_checkpoint(SHIPPED)["marginals"])
    assert (form.hydrogens, form.aromatic) == (False, False)
    assert form.elements == {"C", "N", "O", "F"}


def test_finetune_refuses_a_mismatched_dataset_and_names_the_flags(user_sdf, tmp_path, capsys) -> None:
    root = tmp_path / "data"
    assert main(["data", "custom", "--sdf", str(user_sdf), "--name", "d", "--root", str(root)]) == 0
    capsys.readouterr()
    assert main(_finetune(root, tmp_path / "run")) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "error: finetune:" not in err  # the command is named once
    assert "explicit hydrogens, aromatic bonds" in err and "heavy atoms only, Kekulé bonds" in err
    assert "--remove-hs --kekulize" in err
    assert not (tmp_path / "run").exists()  # refused before anything was written

    fix = shlex.split(err.split("`")[1])  # the command the line names, run as given
    assert fix[:3] == ["molgen", "data", "custom"]
    assert main([*fix[1:], "--root", str(root)]) == 0
    assert main(_finetune(root, tmp_path / "run")) == 0
    assert (tmp_path / "run" / "checkpoints" / "last.ckpt").is_file()


def test_resume_refuses_a_dataset_rebuilt_in_another_form(user_sdf, tmp_path, capsys) -> None:
    root = tmp_path / "data"
    assert main(["data", "custom", "--sdf", str(user_sdf), "--name", "d", "--root", str(root), "--remove-hs",
                 "--kekulize"]) == 0
    assert main(_finetune(root, tmp_path / "run")) == 0
    assert main(["data", "custom", "--sdf", str(user_sdf), "--name", "d", "--root", str(root), "--force"]) == 0
    capsys.readouterr()
    argv = ["train", "--config", str(CUSTOM), "--resume", f"dataset.root={root}", "dataset.name=d",
            f"trainer.output_dir={tmp_path / 'run'}", "optim.max_steps=3", "optim.max_minutes=null",
            "batching.batch_size=4", "logging.csv=false", *[]]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "train --resume" in err and "--remove-hs --kekulize" in err


def test_readme_names_a_config_that_exists_and_writes_under_runs() -> None:
    from molgen.config.load import load_config

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    line = next(x for x in readme.splitlines() if x.startswith("molgen finetune"))
    named = ROOT / line.split("--config ")[1].split()[0]
    assert named.is_file(), line
    for config in (named, ROOT / "configs" / "demo.yaml"):
        out = Path(load_config(config).trainer.output_dir)
        assert out.parts[0] == "runs", (config, out)
