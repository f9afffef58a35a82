"""A new user's custom data path on real QM9 records: a compact rejection summary."""

from __future__ import annotations

import csv

import pytest

from molgen.cli import main
from molgen.data.template import processed_dir


@pytest.fixture
def gdb9(shared_data):
    return shared_data / "qm9" / "gdb9_first100" / "gdb9.sdf"


def test_cli_prints_one_line_per_reason_with_count_and_first_record(gdb9, tmp_path, capsys):
    # 20 of the first 100 QM9 molecules have more than 12 heavy atoms + H: one reason, twenty records
    assert main(["data", "custom", "--sdf", str(gdb9), "--name", "big", "--max-atoms", "12", "--root", str(tmp_path),
                 "--no-progress"]) == 0
    lines = capsys.readouterr().out.splitlines()
    reason_lines = [line for line in lines if "more atoms than max_atoms" in line]
    assert len(reason_lines) == 1, lines
    assert "dropped      20" in reason_lines[0] and f"(first: {gdb9}:20, title 'gdb_21': 14 > 12)" in reason_lines[0]
    tsv = processed_dir("big", tmp_path) / "rejected.tsv"
    assert lines[-1].startswith("every rejected record (") and lines[-1].endswith(f"reason and detail: {tsv}")
    with open(tsv) as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    rows = [r for r in rows if r["reason"] == "more atoms than max_atoms"]
    assert len(rows) == 20 and rows[0]["record"] == "20" and rows[-1]["detail"].startswith("title 'gdb_")


def test_smiles_cli_shares_the_compact_summary(tmp_path, capsys):
    smi = tmp_path / "set.smi"
    smi.write_text("CCO ethanol\nC[Se]C se1\nCC[Se]C se2\n[Se]1CC1 se3\nc1ccccc1 benzene\n")
    assert main(["data", "smiles", "--smi", str(smi), "--name", "s", "--root", str(tmp_path), "--no-progress"]) == 0
    lines = capsys.readouterr().out.splitlines()
    se = [line for line in lines if "disallowed element" in line]
    assert len(se) == 1 and "dropped       3" in se[0] and f"(first: {smi}:2, Se in C[Se]C)" in se[0], lines
    assert lines[-1].startswith("every rejected line (3)") and lines[-1].endswith("failures.tsv")
