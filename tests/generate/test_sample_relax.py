"""`molgen sample --relax`: the raw output is kept and a relaxed copy is written beside it, record for record."""

from __future__ import annotations

from pathlib import Path

import pytest

from molgen.cli import main

ROOT = Path(__file__).resolve().parents[2]
CKPT = ROOT / "checkpoints" / "qm9_noh_gaunt_cpu.ckpt"


def test_sample_relax_mmff_keeps_raw_and_writes_relaxed_copy(tmp_path: Path) -> None:
    Chem = pytest.importorskip("rdkit.Chem")
    out = tmp_path / "s.sdf"
    assert main(["sample", "--ckpt", str(CKPT), "--num", "3", "--steps", "10", "--seed", "1", "--out", str(out),
                 "--relax", "mmff", "--no-progress"]) == 0
    relaxed = tmp_path / "s.relax_mmff.sdf"
    raw = [m for m in Chem.SDMolSupplier(str(out), removeHs=False)]
    rel = [m for m in Chem.SDMolSupplier(str(relaxed), removeHs=False)]
    assert len(raw) == len(rel) == 3
    assert all(not m.HasProp("relax_mode") for m in raw if m is not None)  # the raw file is untouched
    for a, b in zip(raw, rel, strict=True):
        assert a.GetProp("_Name") == b.GetProp("_Name")
        if b.HasProp("relax_failed"):
            continue
        assert b.GetProp("relax_mode") == "mmff"
        assert float(b.GetProp("relax_energy_after")) <= float(b.GetProp("relax_energy_before")) + 1e-6
