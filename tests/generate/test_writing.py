"""What `molgen sample` says it wrote: counts of written, sanitised and distinct molecules."""

from __future__ import annotations

from pathlib import Path

from rdkit import Chem
from rdkit.Chem import AllChem

from molgen.chem.featurize import featurize_mol
from molgen.generate.writing import write_samples


def _graph(smiles: str, seed: int):
    mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
    AllChem.EmbedMolecule(mol, randomSeed=seed)
    return featurize_mol(mol, kekulize=True, features=False)


def test_copies_and_stereo_free_duplicates_count_once(tmp_path: Path) -> None:
    graphs = [_graph("CCO", 0), _graph("CCO", 1), _graph("c1ccccc1O", 0), _graph("CC(N)C(=O)O", 0)]
    counts = write_samples(graphs, tmp_path / "s.sdf")
    assert counts == {"written": 4, "sanitized": 4, "distinct": 3}
    assert len(Chem.SDMolSupplier(str(tmp_path / "s.sdf"))) == 4


def test_sample_says_how_many_are_distinct_and_warns_when_a_guide_collapsed_the_batch(tmp_path: Path, capsys) -> None:
    """A strong guide resamples a small batch into copies of its best few (2 distinct of 16 here, 15 of 16
    unguided): the summary line counts distinct molecules and a NOTE says how to keep diversity."""
    from molgen.cli import main as cli

    ckpt = str(Path(__file__).resolve().parents[2] / "checkpoints" / "qm9_noh_gaunt_cpu.ckpt")
    common = ["--ckpt", ckpt, "--num", "16", "--steps", "50", "--seed", "0", "--no-progress"]
    assert cli(["sample", *common, "--out", str(tmp_path / "plain.sdf")]) == 0
    plain = capsys.readouterr()
    assert "distinct)" in plain.out and "NOTE" not in plain.err
    assert cli(["sample", *common, "--guide", "qed", "--guide-temperature", "0.0001", "--guide-every", "1",
                "--out", str(tmp_path / "guided.sdf")]) == 0
    guided = capsys.readouterr()
    assert "NOTE: --guide qed copied its best molecules" in guided.err
