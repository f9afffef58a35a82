"""`molgen sample --guide/--score/--keep-top` on the shipped heavy-atom model: what the user opens is the SDF,
so the tests read its score properties and order back."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdkit import Chem
from rdkit.Chem import QED

from molgen.cli import main as cli
from molgen.errors import MolgenInputError
from molgen.generate.options import Guidance

ROOT = Path(__file__).resolve().parents[2]
CKPT = ROOT / "checkpoints" / "qm9_noh_gaunt_cpu.ckpt"


def read(path: Path) -> list[Chem.Mol]:
    return [m for m in Chem.SDMolSupplier(str(path), removeHs=False)]


def test_guide_qed_writes_the_score_it_guided_by(tmp_path) -> None:
    out = tmp_path / "guided.sdf"
    assert cli(["sample", "--ckpt", str(CKPT), "--num", "12", "--steps", "30", "--guide", "qed",
                "--guide-every", "3", "--out", str(out), "--no-progress"]) == 0
    mols = read(out)
    assert len(mols) == 12
    scored = [m for m in mols if m is not None and m.GetProp("score_qed") != ""]
    assert len(scored) >= 9  # the shipped model: ~94% valid and connected
    for mol in scored:
        assert mol.GetDoubleProp("score_qed") == pytest.approx(QED.qed(Chem.RemoveHs(mol)), abs=1e-3)


def test_keep_top_writes_the_best_fraction_best_first(tmp_path) -> None:
    everything, best = tmp_path / "all.sdf", tmp_path / "best.sdf"
    common = ["sample", "--ckpt", str(CKPT), "--num", "10", "--steps", "30", "--score", "qed", "--no-progress"]
    assert cli([*common, "--out", str(everything)]) == 0
    assert cli([*common, "--keep-top", "0.3", "--out", str(best)]) == 0
    scores = sorted((m.GetDoubleProp("score_qed") for m in read(everything)
                     if m is not None and m.GetProp("score_qed") != ""), reverse=True)
    kept = [m.GetDoubleProp("score_qed") for m in read(best)]
    assert len(kept) == 3 and kept == scores[:3]


@pytest.mark.parametrize("kwargs, message", [
    (dict(keep_top=0.5), "--keep-top needs a score"),
    (dict(score="qed", keep_top=1.5), "fraction in"),
    (dict(guide="logp"), "unknown scorer 'logp'"),
])
def test_bad_guidance_is_one_clear_error(kwargs, message) -> None:
    with pytest.raises(MolgenInputError, match=message):
        Guidance(**kwargs)


def test_vina_without_a_receptor_is_refused_before_sampling(tmp_path, capsys) -> None:
    out = tmp_path / "x.sdf"
    assert cli(["sample", "--ckpt", str(CKPT), "--num", "2", "--guide", "vina", "--out", str(out)]) == 2
    assert "give --pocket" in capsys.readouterr().err and not out.exists()
