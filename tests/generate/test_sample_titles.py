"""`molgen sample` names its records sample_0 .. sample_{num-1}, once each, across batches and in the relaxed copy."""

from __future__ import annotations

from pathlib import Path

from molgen.cli import main

ROOT = Path(__file__).resolve().parents[2]
CKPT = ROOT / "checkpoints" / "qm9_noh_gaunt_cpu.ckpt"


def _titles(path: Path) -> list[str]:
    """The title line (first line) of every SDF record, read as text so unsanitisable records count too."""
    records = [r for r in path.read_text().split("$$$$\n") if r.strip()]
    return [r.split("\n", 1)[0] for r in records]


def test_titles_unique_and_consecutive_across_batches(tmp_path: Path) -> None:
    out = tmp_path / "s.sdf"
    assert main(["sample", "--ckpt", str(CKPT), "--num", "7", "--batch-size", "3", "--steps", "5", "--seed", "2",
                 "--out", str(out), "--relax", "h", "--no-progress"]) == 0
    expected = [f"sample_{i}" for i in range(7)]
    assert _titles(out) == expected
    assert _titles(tmp_path / "s.relax_h.sdf") == expected
