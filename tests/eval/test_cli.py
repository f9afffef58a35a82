"""Reading any SDF (corrupt records listed, gzip) and ``molgen evaluate`` end to end."""

from __future__ import annotations

import csv
import gzip
import json
import re

import pytest
from rdkit import Chem
from rdkit.Chem import AllChem

from molgen.cli.evaluate import main
from molgen.eval.reading import read_sdf

SMILES = ["CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1", "CCN(CC)CC", "OC(=O)c1ccccc1", "CCO"]
CORRUPT = "broken\n  RDKit\n\n  3  2  0  0  0  0  0  0  0  0999 V2000\n    0.0000    0.0000 C   0  0\nM  END\n$$$$\n"


def write_sdf(path, smiles=SMILES, corrupt_at: int | None = None) -> None:
    """RDKit-embedded molecules written with RDKit's SDWriter; optionally a corrupt record at ``corrupt_at``."""
    blocks = []
    for i, s in enumerate(smiles):
        mol = Chem.AddHs(Chem.MolFromSmiles(s))
        AllChem.EmbedMolecule(mol, randomSeed=i)
        mol.SetProp("_Name", f"mol{i}")
        blocks.append(Chem.MolToMolBlock(mol) + "$$$$\n")
    if corrupt_at is not None:
        blocks.insert(corrupt_at, CORRUPT)
    path.write_text("".join(blocks))


def test_corrupt_record_is_listed_not_fatal(tmp_path):
    path = tmp_path / "in.sdf"
    write_sdf(path, corrupt_at=2)
    read = read_sdf(path)
    assert len(read.mols) == len(SMILES)
    assert [(b.index, b.file) for b in read.bad] == [(2, str(path))]
    assert "on atom line 1 (line 5 of the record)" in read.bad[0].message
    assert read.indices == [0, 1, 3, 4, 5, 6]
    assert read.names[:2] == ["mol0", "mol1"]


def test_gzipped_sdf_reads_the_same(tmp_path):
    path = tmp_path / "in.sdf"
    write_sdf(path)
    gz = tmp_path / "in.sdf.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    plain, zipped = read_sdf(path), read_sdf(gz)
    assert [Chem.MolToMolBlock(m) for m in plain.mols] == [Chem.MolToMolBlock(m) for m in zipped.mols]


def test_missing_file_is_a_clear_error(tmp_path, capsys):
    assert main([str(tmp_path / "nope.sdf"), "--quiet"]) == 2
    assert "nope.sdf" in capsys.readouterr().err


@pytest.mark.parametrize("workers", [1, 2])
def test_cli_end_to_end(tmp_path, workers):
    sdf = tmp_path / "samples.sdf"
    write_sdf(sdf, corrupt_at=1)
    ref = tmp_path / "ref.smi"
    ref.write_text("CCO\nc1ccccc1\n")
    out = tmp_path / "report"
    metrics = "validity,stability,diversity,druglike,geometry,strain"
    argv = [str(sdf), "--reference", str(ref), "--metrics", metrics, "--out", str(out), "--quiet"]
    assert main([*argv, "--workers", str(workers)]) == 0

    doc = json.loads((out / "metrics.json").read_text())
    m = doc["metrics"]
    assert m["input"] == {"path": str(sdf), "n_records": 7, "n_read": 6, "n_bad": 1}
    assert doc["bad_records"][0]["index"] == 1
    assert m["validity"]["valid"] == 1.0
    assert m["validity"]["uniqueness"] == pytest.approx(5 / 6)  # CCO twice
    assert m["validity"]["uniqueness_legacy"] == pytest.approx(5 / 6)
    assert m["validity"]["novelty"] == pytest.approx(4 / 5)  # only ethanol is in the reference
    assert m["stability"]["mol_stable_corrected"] == 1.0  # RDKit writes Kekule structures with all H
    assert m["strain"]["n_mmff"] == 6
    assert "stability/mol_stable_legacy" in doc["definitions"]

    with open(out / "molecules.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["record"]) for r in rows] == [0, 2, 3, 4, 5, 6]
    assert rows[0]["name"] == "mol0" and rows[0]["validity.smiles"] == "CCO"

    page = (out / "report.html").read_text()
    assert "legacy" in page and "corrected" in page and "<svg" in page and "data:image/png;base64," in page
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", page)  # opens offline


def test_rerun_replaces_output_atomically(tmp_path, capsys):
    sdf = tmp_path / "samples.sdf"
    write_sdf(sdf, SMILES[:2])
    out = tmp_path / "report"
    argv = [str(sdf), "--metrics", "basic", "--out", str(out), "--quiet", "--workers", "1"]
    assert main(argv) == 0
    first = json.loads((out / "metrics.json").read_text())
    write_sdf(sdf, SMILES[:3])
    assert main(argv) == 0  # an earlier report is replaced as a whole
    assert json.loads((out / "metrics.json").read_text())["metrics"]["input"]["n_read"] == 3
    assert first["metrics"]["input"]["n_read"] == 2
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json", "molecules.csv", "report.html"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp folders left
    # a folder with other files is never replaced (e.g. --out pointing at a working directory)
    (out / "notes.txt").write_text("keep me")
    assert main(argv) == 2
    assert "refusing to replace" in capsys.readouterr().err
    assert (out / "notes.txt").read_text() == "keep me"


def test_parallel_workers_give_the_serial_rows(tmp_path, monkeypatch):
    from molgen.eval import runner
    from molgen.eval.group import EvalOptions
    from molgen.eval.registry import resolve_metrics

    monkeypatch.setattr(runner, "CHUNK_SIZE", 2)  # 6 molecules -> 3 chunks: 1 in this process, 2 in the pool
    sdf = tmp_path / "samples.sdf"
    write_sdf(sdf)
    mols = read_sdf(sdf).mols
    groups = resolve_metrics("validity,stability,geometry")
    serial, _ = runner.compute_rows(mols, groups, EvalOptions(), workers=1)
    parallel, _ = runner.compute_rows(mols, groups, EvalOptions(), workers=2)
    assert serial == parallel
    assert [r["validity.smiles"] for r in parallel] == ["CCO", "Oc1ccccc1", "CC(=O)Nc1ccc(O)cc1", "CCN(CC)CC",
                                                        "O=C(O)c1ccccc1", "CCO"]


def test_a_protein_no_asked_metric_reads_is_named_as_unused(shared_data, tmp_path, capsys):
    """`molgen evaluate ligands.sdf --protein P.pdb --metrics standard` (the pocket job of the README as it was):
    standard has no group that reads a protein, so molgen says so instead of implying it was used."""
    folder = shared_data / "docking" / "diffsbdd_examples"
    if not (folder / "3rfm.pdb").is_file():
        pytest.skip(f"DiffSBDD examples not found in {folder}")
    argv = [str(folder / "3rfm_B_CFF.sdf"), "--protein", str(folder / "3rfm.pdb"), "--metrics", "basic",
            "--out", str(tmp_path / "eval"), "--workers", "1", "--quiet"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert ("NOTE: --protein was not used: --metrics basic has no posebusters or docking group "
            "(add it, e.g. --metrics basic,docking)") in err
    assert main([*argv[:5], "--reference-ligand", str(folder / "3rfm_B_CFF.sdf"), *argv[5:]]) == 0
    assert "NOTE: --reference-ligand was not used" in capsys.readouterr().err


#: what RDKit's SVG writer draws for a stereo wedge: a filled polygon (solid) or thin strokes (hashed)
WEDGE = re.compile(r"<path class='bond-[^']*'[^>]*style='(fill:(?!none)|[^']*stroke-width:1\.0px)")


def test_the_report_draws_48_molecules_without_stereo_wedges(shared_data, tmp_path):
    """`molgen evaluate gdb9.sdf`: 100 molecules in 3D, their stereo perceived from the coordinates; the report
    draws the first 48 flat, with no wedge (a 2D picture of a 3D pose would wedge atoms that are no
    stereocentres once flattened, issue #20, item 8)."""
    sdf = shared_data / "qm9" / "gdb9_first100" / "gdb9.sdf"
    out = tmp_path / "eval"
    assert main([str(sdf), "--metrics", "basic", "--out", str(out), "--workers", "1", "--quiet"]) == 0
    page = (out / "report.html").read_text()
    drawings = re.findall(r"<svg.*?</svg>", page, flags=re.S)
    assert len(drawings) == 48
    assert not [d for d in drawings if WEDGE.search(d)]
