"""A second independent pass over every command: usage errors are one line, flags that would be silently
unused are refused, unbounded values (RePaint passes, conformers, SMILES size, time limits) are bounded, and
outputs beside the named one (``--relax`` copies, ``library.log``) follow the output policy."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest
from make_corpus import GOOD_RECORD
from test_bad_inputs import DEBUG, SHIPPED, run_refused

from molgen.cli import main

RECEPTOR_ARGS = ["--receptor", "r.pdb"]


def sample(tmp_path: Path, *extra: str) -> list[str]:
    return ["sample", "--ckpt", str(SHIPPED), "--num", "2", "--steps", "1", "--no-progress", "--out",
            str(tmp_path / "s.sdf"), *extra]


@pytest.mark.parametrize(("argv", "needle"), [
    (["sample", "--ckpt", "x.ckpt", "--out", "s.sdf", "--steps", "1.5"], "argument --steps: invalid int value"),
    (["sample", "--ckpt", "x.ckpt"], "the following arguments are required: --out"),
    (["evaluate", "m.sdf", "--max-atoms", "1e9"], "argument --max-atoms: invalid int value"),
    (["dock", "l.sdf", "--receptor", "r.pdb"], "required: --out"),
    (["dock", "l.sdf", "--receptor", "r.pdb", "--out", "d", "--mode", "bogus"], "argument --mode: invalid choice"),
    (["data", "custom", "--sdf", "x.sdf", "--name", "t", "--bogus"], "unrecognized arguments: --bogus"),
    (["train", "optim.lr=1"], "required: --config"),
    (["finetune", "--config", "c.yaml"], "required: --ckpt"),
])
def test_usage_errors_are_one_line(argv: list[str], needle: str, tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith(f"molgen {argv[0]}") and needle in err, err
    assert "--help" in err


@pytest.mark.parametrize(("extra", "needle"), [
    (["--fix", "FRAG", "--resamplings", "100000000"], "--resamplings must be an integer in 1..1000"),
    (["--guide", "qed", "--guide-every", str(10**9)], "--guide-every must be an integer in 1..100000"),
    (["--radius", "5"], "--radius has no effect without --center"),
    (["--resamplings", "3"], "--resamplings has no effect without --fix"),
    (["--guide-temperature", "1"], "--guide-temperature has no effect without --guide"),
    (["--guide-every", "2"], "--guide-every has no effect without --guide"),
])
def test_sample_unbounded_or_unused_values(extra: list[str], needle: str, tmp_path: Path, capsys) -> None:
    frag = tmp_path / "frag.sdf"
    frag.write_text(GOOD_RECORD)
    extra = [str(frag) if e == "FRAG" else e for e in extra]
    run_refused(sample(tmp_path, *extra), [tmp_path], capsys, needle)


def test_sample_relax_copy_never_replaces_a_users_file(tmp_path: Path, capsys) -> None:
    theirs = tmp_path / "s.relax_mmff.sdf"
    theirs.write_text("my relaxed set, made by hand\n")
    run_refused(sample(tmp_path, "--relax", "mmff"), [tmp_path], capsys, f"--relax mmff output {theirs}",
                "is not a molgen sample SDF")
    theirs.unlink()
    ckpt = tmp_path / "s.relax_h.sdf"  # an input under the relaxed copy's name
    shutil.copy(SHIPPED, ckpt)
    run_refused(["sample", "--ckpt", str(ckpt), "--num", "2", "--steps", "1", "--no-progress", "--out",
                 str(tmp_path / "s.sdf"), "--relax", "h"], [tmp_path], capsys, "is also an input")


def _water(tmp_path: Path) -> Path:
    sdf = tmp_path / "m.sdf"
    sdf.write_text(GOOD_RECORD)
    return sdf


@pytest.mark.parametrize(("extra", "needle"), [
    (["--time-limit", "nan"], "--time-limit must be a finite number in (0, 86400]"),
    (["--time-limit", "-1"], "--time-limit must be"),
    (["--time-limit", "inf"], "--time-limit must be"),
    (["--metrics", "validity,docking"], "--metrics docking needs --protein"),
    (["--reference-ligand", "LIG"], "--reference-ligand has no effect without --protein"),
])
def test_evaluate_unbounded_or_unused_values(extra: list[str], needle: str, tmp_path: Path, capsys) -> None:
    sdf = _water(tmp_path)
    extra = [str(sdf) if e == "LIG" else e for e in extra]
    run_refused(["evaluate", str(sdf), "--out", str(tmp_path / "ev"), "--quiet", "--workers", "1", *extra],
                [tmp_path], capsys, needle)


@pytest.mark.parametrize(("name", "body", "needle"), [
    ("latin.smi", b"CCO ethanol\nCCN \xe9thyl\n", "line 2: not UTF-8 text (byte 0xe9 at column 5)"),
    ("trunc.smi.gz", gzip.compress(b"CCO\n" * 1000)[:40], "truncated or corrupt gzip file"),
    ("huge.csv", b"smiles\n" + b"C" * 200_000 + b"\n", "not a readable CSV row (field larger than field limit"),
])
def test_evaluate_reference_smiles_files_that_are_not_text(name, body, needle, tmp_path: Path, capsys) -> None:
    sdf = _water(tmp_path)
    ref = tmp_path / name
    ref.write_bytes(body)
    run_refused(["evaluate", str(sdf), "--out", str(tmp_path / "ev"), "--quiet", "--workers", "1", "--metrics",
                 "basic", "--reference", str(ref)], [tmp_path], capsys, str(ref), needle)


def test_evaluate_reference_csv_with_a_short_row_and_a_bom_is_read(tmp_path: Path) -> None:
    from molgen.eval.reading import read_smiles_file

    ref = tmp_path / "ref.csv"
    ref.write_bytes(b"\xef\xbb\xbfsmiles,name\nCCO,ethanol\nCCN\n")
    read = read_smiles_file(ref)
    assert len(read.mols) == 2 and read.names == ["ethanol", ""] and not read.bad


@pytest.mark.parametrize(("extra", "needle"), [
    (["--mode", "score", "--exhaustiveness", "8"], "--exhaustiveness has no effect with --mode score"),
    (["--mode", "minimize", "--poses", "3"], "--poses has no effect with --mode minimize"),
    (["--cache-dir", "NOTES"], "--cache-dir"),
    (["--box-file", "BOX"], "line 1: center_x must be a finite number, got 'nan'"),
])
def test_dock_unused_or_bad_values(extra: list[str], needle: str, tmp_path: Path, capsys) -> None:
    ligands = _water(tmp_path)
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    box = tmp_path / "box.txt"
    box.write_text("center_x = nan\ncenter_y = 0\ncenter_z = 0\nsize_x = 10\nsize_y = 10\nsize_z = 10\n")
    extra = [{"NOTES": str(notes), "BOX": str(box)}.get(e, e) for e in extra]
    run_refused(["dock", str(ligands), "--receptor", str(tmp_path / "r.pdb"), "--out", str(tmp_path / "d"), *extra],
                [tmp_path], capsys, needle)


def test_dock_never_appends_to_a_users_library_log(tmp_path: Path, capsys) -> None:
    ligands = _water(tmp_path)
    out = tmp_path / "d"
    out.mkdir()
    (out / "library.log").write_text("my lab notebook\n")
    run_refused(["dock", str(ligands), "--receptor", str(tmp_path / "r.pdb"), "--out", str(out)], [tmp_path],
                capsys, "library.log", "molgen did not write")


@pytest.mark.parametrize(("extra", "needle"), [
    (["--conformers", "100000"], "--conformers must be 1..1000"),
    (["--split", "test"], "--split picks a MOSES split: it has no effect without --source moses"),
])
def test_data_smiles_unbounded_or_unused_values(extra, needle, tmp_path: Path, capsys) -> None:
    smi = tmp_path / "in.smi"
    smi.write_text("CCO\n")
    run_refused(["data", "smiles", "--smi", str(smi), "--name", "t", "--root", str(tmp_path / "d"), "--no-progress",
                 *extra], [tmp_path], capsys, needle)
    assert not (tmp_path / "d").exists()


def test_data_smiles_a_huge_smiles_is_a_rejected_row_not_a_memory_error(tmp_path: Path, capsys) -> None:
    """100,000 carbons: ETKDG's bounds matrix alone would need ~700 GB (MemoryError after 4 s before)."""
    smi = tmp_path / "in.smi"
    smi.write_text("C" * 100_000 + "\n")
    run_refused(["data", "smiles", "--smi", str(smi), "--name", "t", "--root", str(tmp_path / "d"), "--no-progress"],
                [tmp_path], capsys, "too many atoms to embed", "> 1000")
    assert not (tmp_path / "d").exists()  # no empty processed/ (nor a .t.work) left behind


def test_data_refused_builds_leave_no_empty_folders(tmp_path: Path, capsys) -> None:
    junk = tmp_path / "junk.csv"
    junk.write_text("a,b,c\n1,2,3\nfoo,bar,baz\n")
    run_refused(["data", "smiles", "--smi", str(junk), "--name", "t", "--root", str(tmp_path / "d"),
                 "--no-progress"], [tmp_path], capsys, "no molecule could be read")
    assert not (tmp_path / "d").exists()
    (tmp_path / "kept" / "processed").mkdir(parents=True)  # folders that were there stay
    run_refused(["data", "smiles", "--smi", str(junk), "--name", "t", "--root", str(tmp_path / "kept"),
                 "--no-progress"], [tmp_path], capsys, "no molecule could be read")
    assert (tmp_path / "kept" / "processed").is_dir()


def test_data_qm9_never_ignores_the_raw_dir_it_was_given(tmp_path: Path, capsys) -> None:
    """A --raw-dir without QM9 files fell back to the whole qm9pack package (130k molecules) with exit 0."""
    empty = tmp_path / "raw"
    empty.mkdir()
    run_refused(["data", "qm9", "--raw-dir", str(empty), "--root", str(tmp_path / "d"), "--no-progress"],
                [tmp_path], capsys, f"--raw-dir {empty} holds no QM9 raw files")
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    run_refused(["data", "qm9", "--raw-dir", str(notes), "--root", str(tmp_path / "d"), "--no-progress"],
                [tmp_path], capsys, "is not a folder")
    run_refused(["data", "qm9", "--raw-dir", str(empty), "--source", "qm9pack", "--root", str(tmp_path / "d"),
                 "--no-progress"], [tmp_path], capsys, "has no effect with --source qm9pack")


def test_train_config_that_is_not_yaml_mapping(tmp_path: Path, capsys) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    run_refused(["train", "--config", str(notes), f"trainer.output_dir={tmp_path / 'run'}"], [tmp_path], capsys,
                str(notes))
    assert DEBUG.is_file()


def _lying_weights(tmp_path: Path, name: str, edit) -> Path:
    import torch

    ckpt = torch.load(SHIPPED, weights_only=True)
    edit(ckpt)
    path = tmp_path / f"{name}.ckpt"
    torch.save(ckpt, path)
    return path


def _first_ema_matrix(ckpt: dict) -> str:
    return next(k for k, v in ckpt["state_dict"].items() if k.startswith("ema.module.") and v.dim() == 2)


@pytest.mark.parametrize(("name", "edit", "needle"), [
    ("nan_weights", lambda c: c["state_dict"][_first_ema_matrix(c)].fill_(float("nan")), "holds NaN or infinite"),
    ("short_marginals", lambda c: c["hyper_parameters"]["marginals"].update(atom_types=[1.0]),
     "marginals.atom_types has 1 entries, expected"),
    ("wrong_shape", lambda c: c["state_dict"].__setitem__(_first_ema_matrix(c), __import__("torch").zeros(3, 3)),
     "weights do not fit the model of its own config (EQGATDenoiser:; size mismatch for"),
])
def test_sample_refuses_checkpoint_weights_that_lie(name, edit, needle, tmp_path: Path, capsys) -> None:
    """NaN weights wrote molecules with NaN coordinates and exit 0; short marginals were a ValueError traceback."""
    ckpt = _lying_weights(tmp_path, name, edit)
    run_refused(["sample", "--ckpt", str(ckpt), "--num", "2", "--steps", "1", "--no-progress", "--out",
                 str(tmp_path / "s.sdf")], [tmp_path], capsys, str(ckpt), needle)


def test_evaluate_never_overwrites_a_users_file_named_like_its_partial_rows(tmp_path: Path, capsys) -> None:
    """``<out>.partial.csv`` is written while the run goes and deleted at its end: a user's file there was lost."""
    sdf = _water(tmp_path)
    theirs = tmp_path / "ev.partial.csv"
    theirs.write_text("sample,yield\n1,0.5\n")
    run_refused(["evaluate", str(sdf), "--out", str(tmp_path / "ev"), "--quiet", "--workers", "1", "--metrics",
                 "basic"], [tmp_path], capsys, str(theirs), "is not a molgen evaluate partial CSV")
    run_refused(["evaluate", str(sdf), "--out", str(tmp_path / "ev"), "--quiet", "--workers", "1", "--metrics",
                 "basic", "--reference", str(theirs)], [tmp_path], capsys, "is also an input")


@pytest.mark.parametrize("extra", [["--raw", "somewhere"], ["--shard", "0/2"], ["--remove-hs"], ["--max-atoms", "50"]])
def test_pubchem3d_merge_refuses_build_flags_it_would_ignore(extra: list[str], tmp_path: Path, capsys) -> None:
    (tmp_path / "root").mkdir()
    run_refused(["data", "pubchem3d", "--root", str(tmp_path / "root"), "--merge", "2", *extra], [tmp_path], capsys,
                "--merge only joins finished parts", extra[0])
