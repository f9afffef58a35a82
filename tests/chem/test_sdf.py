"""SDF reading (streaming, .gz, every bad record reported) and atomic writing, on real gdb9.sdf records."""

from __future__ import annotations

import gzip

import pytest
import torch
from rdkit import Chem
from rdkit.Chem import AllChem

from molgen.chem.records import BadRecordError
from molgen.chem.sdf import SDFReport, read_sdf, write_sdf
from molgen.chem.sdf_records import iter_sdf_blocks, parse_sdf_tags


@pytest.fixture(scope="module")
def gdb9_text(shared_data) -> str:
    return (shared_data / "qm9" / "gdb9_first100" / "gdb9.sdf").read_text()


def records(text: str) -> list[str]:
    return [r + "$$$$\n" for r in text.split("$$$$\n") if r.strip()]


def atom_count(record: str) -> int:
    return int(record.splitlines()[3][:3])


def test_gdb9_first100_parsed_with_right_atom_counts(shared_data, gdb9_text):
    report = SDFReport()
    graphs = list(read_sdf(shared_data / "qm9" / "gdb9_first100" / "gdb9.sdf", report=report))
    expected = {r.splitlines()[0]: atom_count(r) for r in records(gdb9_text)}
    assert report.records == 100 and report.kept == 96 == len(graphs)
    assert {g.name: g.num_atoms for g in graphs} == {k: v for k, v in expected.items() if k in {g.name for g in graphs}}
    rejected = {"gdb_24", "gdb_45", "gdb_76", "gdb_89"}
    assert sum(expected.values()) - sum(g.num_atoms for g in graphs) == sum(expected[n] for n in rejected)
    assert [e.index for e in report.errors] == [23, 44, 75, 88]
    assert all(e.reason.startswith("molecule has implicit hydrogens") for e in report.errors)
    assert all(e.file.endswith("gdb9.sdf") for e in report.errors)


def test_gz_and_streaming(tmp_path, gdb9_text):
    path = tmp_path / "first10.sdf.gz"
    with gzip.open(path, "wt") as f:
        f.write("".join(records(gdb9_text)[:10]))
    stream = read_sdf(path)
    first = next(stream)
    assert first.name == "gdb_1" and first.smiles == "C"
    assert len(list(stream)) == 9


def test_write_read_round_trip_keeps_names_props_and_coordinates(tmp_path, shared_data):
    graphs = list(read_sdf(shared_data / "qm9" / "gdb9_first100" / "gdb9.sdf"))[:20]
    for k, g in enumerate(graphs):
        g.props = {"energy": -40.5 - k, "label": f"mol {k}", "count": k}
    for name in ("out.sdf", "out.sdf.gz"):
        assert write_sdf(graphs, tmp_path / name) == 20
        back = list(read_sdf(tmp_path / name))
        assert [g.name for g in back] == [g.name for g in graphs]
        assert [g.props for g in back] == [g.props for g in graphs]
        assert [g.smiles for g in back] == [g.smiles for g in graphs]
        for a, b in zip(graphs, back, strict=True):
            assert torch.allclose(a.pos, b.pos, atol=1e-4) and torch.equal(a.bond_types, b.bond_types)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.sdf", "out.sdf.gz"]


def test_failed_write_leaves_old_file_and_no_temporary(tmp_path, shared_data):
    graphs = list(read_sdf(shared_data / "qm9" / "gdb9_first100" / "gdb9.sdf"))[:3]
    target = tmp_path / "out.sdf"
    write_sdf(graphs, target)
    before = target.read_bytes()

    def broken():
        yield graphs[0]
        raise RuntimeError("generator failed")

    with pytest.raises(RuntimeError, match="generator failed"):
        write_sdf(broken(), target)
    assert target.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["out.sdf"]


def _bad_file(tmp_path, gdb9_text, index: int, edit) -> tuple:
    recs = records(gdb9_text)[:5]
    recs[index] = edit(recs[index])
    path = tmp_path / "bad.sdf"
    path.write_text("".join(recs))
    return path


@pytest.mark.parametrize(("edit", "reason"), [
    (lambda r: r.replace(" N   0", " Xx  0", 1), "unknown element symbol"),
    (lambda r: r.replace(" N   0", " Se  0", 1), "unsupported element or charge"),
    (lambda r: r.replace("    1.0241", "       nan", 1), "NaN or infinite coordinates"),
    (lambda r: r.split("M  END")[0].rsplit("\n", 3)[0] + "\n$$$$\n", "truncated record (no 'M  END' line)"),
    (lambda r: r.replace("M  END", "M  CHG  1   1   5\nM  END"), "unsupported element or charge"),
    (lambda r: r.replace("  1  2  1  0", "  1  2  3  0"), "RDKit sanitisation failed"),
])
def test_bad_records_are_reported_with_file_and_index(tmp_path, gdb9_text, edit, reason):
    path = _bad_file(tmp_path, gdb9_text, 1, edit)
    report = SDFReport()
    kept = [g.name for g in read_sdf(path, report=report)]
    assert kept == ["gdb_1", "gdb_3", "gdb_4", "gdb_5"]
    assert len(report.errors) == 1
    error = report.errors[0]
    assert (error.file, error.index, error.reason) == (str(path), 1, reason)
    with pytest.raises(BadRecordError, match=rf"bad.sdf, record 1: {reason[:12]}"):
        list(read_sdf(path, errors="raise"))


def test_2d_block_counts_as_missing_3d(tmp_path):
    mol = Chem.AddHs(Chem.MolFromSmiles("CCO"))
    AllChem.Compute2DCoords(mol)
    path = tmp_path / "flat.sdf"
    path.write_text(Chem.MolToMolBlock(mol) + "$$$$\n")
    report = SDFReport()
    assert list(read_sdf(path, report=report)) == []
    assert report.errors[0].reason.startswith("missing 3D coordinates")


def test_truncated_last_record_and_empty_file(tmp_path, gdb9_text):
    text = "".join(records(gdb9_text)[:3])
    path = tmp_path / "cut.sdf"
    path.write_text(text[: len(text) - 120])  # cut inside the third record's atom block
    report = SDFReport()
    assert [g.name for g in read_sdf(path, report=report)] == ["gdb_1", "gdb_2"]
    assert report.errors[0].index == 2 and "truncated" in report.errors[0].reason
    empty = tmp_path / "empty.sdf"
    empty.write_text("")
    with pytest.raises(BadRecordError, match=r"empty.sdf, record 0: empty file"):
        list(read_sdf(empty, errors="raise"))
    with pytest.raises(FileNotFoundError, match="missing.sdf"):
        list(read_sdf(tmp_path / "missing.sdf"))


def test_iter_blocks_and_tags():
    block = "t\n\n\n  0  0  0  0  0  0  0  0  0  0999 V2000\nM  END\n>  <E>\n-1.5\n\n> <name>  (1)\nab\ncd\n\n"
    assert parse_sdf_tags(block) == {"E": -1.5, "name": "ab\ncd"}


def test_iter_sdf_blocks_without_final_terminator(tmp_path):
    path = tmp_path / "x.sdf"
    path.write_text("a\n$$$$\nb\n")
    assert list(iter_sdf_blocks(path)) == [(0, "a\n"), (1, "b\n")]


def test_unsanitizable_molecules_are_still_written_and_reported_on_read(tmp_path):
    from molgen.chem.molgraph import MolGraph

    penta = MolGraph(pos=torch.randn(6, 3, generator=torch.Generator().manual_seed(0)),
                     atom_types=torch.tensor([2, 0, 0, 0, 0, 0]), charges=torch.zeros(6, dtype=torch.long),
                     bond_index=torch.tensor([[0, 0, 0, 0, 0], [1, 2, 3, 4, 5]]),
                     bond_types=torch.ones(5, dtype=torch.long), name="penta")
    ring = MolGraph(pos=torch.randn(5, 3, generator=torch.Generator().manual_seed(1)),
                    atom_types=torch.full((5,), 2), charges=torch.zeros(5, dtype=torch.long),
                    bond_index=torch.tensor([[0, 1, 2, 3, 0], [1, 2, 3, 4, 4]]),
                    bond_types=torch.full((5,), 4), name="c5-aromatic")
    assert write_sdf([penta, ring], tmp_path / "gen.sdf") == 2
    report = SDFReport()
    assert list(read_sdf(tmp_path / "gen.sdf", report=report)) == []
    assert [(e.index, e.reason) for e in report.errors] == [(0, "RDKit sanitisation failed"),
                                                           (1, "RDKit sanitisation failed")]
    assert "valence" in report.errors[0].detail and "kekulize" in report.errors[1].detail
    assert [block.splitlines()[0] for _, block in iter_sdf_blocks(tmp_path / "gen.sdf")] == ["penta", "c5-aromatic"]


def test_one_reader_for_datasets_and_evaluation(tmp_path):
    """Evaluation reads through molgen.chem.sdf_records: the same record errors, molecules kept as written."""
    from molgen.chem.sdf_records import iter_sdf_mols
    from molgen.eval.reading import read_sdf as read_for_evaluation

    good = Chem.MolToMolBlock(Chem.AddHs(Chem.MolFromSmiles("CCO"))) + "$$$$\n"
    penta = good.replace("  1  2  1  0", "  1  2  2  0", 1)  # C=C plus 3 H: a pentavalent carbon
    cut = good.split("M  END")[0]
    path = tmp_path / "mixed.sdf"
    path.write_text(good + penta + cut)
    as_written = list(iter_sdf_mols(path, sanitize=False))
    assert [type(m).__name__ for _, m in as_written] == ["Mol", "Mol", "RecordError"]
    assert as_written[2][1].message == "truncated record (no 'M  END' line)"
    sanitized = list(iter_sdf_mols(path))
    assert sanitized[1][1].reason == "RDKit sanitisation failed"  # the dataset view refuses what evaluation keeps
    read = read_for_evaluation(path)
    assert read.indices == [0, 1] and [(b.file, b.index, b.reason) for b in read.bad] == [
        (str(path), 2, "truncated record (no 'M  END' line)")]


def test_the_sdf_reader_and_evaluation_do_not_import_torch():
    import subprocess
    import sys

    code = "import sys, molgen.chem.sdf_records, molgen.eval.reading, molgen.eval; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
