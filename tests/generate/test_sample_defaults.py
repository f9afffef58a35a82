"""`molgen sample` without --steps takes 100 reverse jumps, the count the shipped models' tables show is enough
(issue #20, item 6: the default was 500, 6x slower for equal validity), and says so in --help."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdkit import Chem

from molgen.cli import main

ROOT = Path(__file__).resolve().parents[2]
CKPT = ROOT / "checkpoints" / "qm9_noh_gaunt_cpu.ckpt"


def test_sample_without_steps_takes_100_jumps_and_help_says_so(tmp_path: Path, capsys) -> None:
    out = tmp_path / "s.sdf"
    assert main(["sample", "--ckpt", str(CKPT), "--num", "2", "--seed", "0", "--out", str(out), "--no-progress"]) == 0
    records = list(Chem.SDMolSupplier(str(out), sanitize=False))
    assert len(records) == 2
    assert [r.GetProp("steps") for r in records] == ["100", "100"]
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["sample", "--help"])
    assert "(default 100" in " ".join(capsys.readouterr().out.split())
