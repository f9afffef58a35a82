"""Every command over every bad input of the corpus: exit 2, one line naming the file, no traceback,
nothing written, and no code from a crafted file ever runs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from make_corpus import MARKER, free_proton_sdf, make_corpus

from molgen.cli import main
from molgen.data.crossdocked_raw import load_index
from molgen.data.geom_raw import read_rdkit_pickle

ROOT = Path(__file__).resolve().parents[2]
DEBUG = ROOT / "configs" / "debug.yaml"
SHIPPED = ROOT / "checkpoints" / "qm9_small_cpu.ckpt"
CKPT_ERROR = "not a molgen checkpoint or unsafe content"
CKPTS = ("crafted_dict", "crafted_object", "raw_pickle", "empty", "random", "truncated_1k", "truncated_600k",
         "not_a_checkpoint")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Path]]:
    return make_corpus(tmp_path_factory.mktemp("corpus"), DEBUG)


def tree(folder: Path) -> dict[str, bytes | None]:
    """Every file under ``folder`` with its bytes (None for FIFOs); empty folders do not count."""
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None
            for p in sorted(folder.rglob("*")) if not p.is_dir() or p == folder / "folder.sdf"}


def run_refused(argv: list[str], folders: list[Path], capsys: pytest.CaptureFixture, *needles: str) -> str:
    """Run ``molgen argv``; assert exit 2, one stderr line holding ``needles``, and no change under ``folders``."""
    before = [tree(f) for f in folders]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    assert err.startswith(f"molgen {argv[0]}"), err
    for needle in needles:
        assert needle in err, (needle, err)
    assert [tree(f) for f in folders] == before  # nothing written, nothing half-written
    for folder in folders:
        assert not list(folder.rglob(MARKER))
    return err


@pytest.mark.parametrize("case", CKPTS)
def test_sample_refuses_bad_checkpoints(corpus, case: str, tmp_path: Path, capsys) -> None:
    ckpt = corpus["checkpoint"][case]
    run_refused(["sample", "--ckpt", str(ckpt), "--num", "2", "--out", str(tmp_path / "s.sdf"), "--no-progress"],
                [tmp_path, ckpt.parent], capsys, str(ckpt), CKPT_ERROR)


@pytest.mark.parametrize("case", CKPTS)
def test_finetune_refuses_bad_checkpoints(corpus, case: str, tmp_path: Path, capsys) -> None:
    ckpt = corpus["checkpoint"][case]
    run_refused(["finetune", "--ckpt", str(ckpt), "--config", str(DEBUG), f"trainer.output_dir={tmp_path / 'ft'}"],
                [tmp_path, ckpt.parent], capsys, str(ckpt), CKPT_ERROR)


@pytest.mark.parametrize("case", CKPTS)
def test_resume_refuses_bad_checkpoints(corpus, case: str, tmp_path: Path, capsys) -> None:
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    last.parent.mkdir(parents=True)
    shutil.copy(corpus["checkpoint"][case], last)
    run_refused(["train", "--config", str(DEBUG), f"trainer.output_dir={tmp_path / 'run'}", "--resume"],
                [tmp_path], capsys, str(last), CKPT_ERROR)


def test_crafted_dataset_pickles_are_refused_naming_the_global(corpus) -> None:
    pickles = corpus["pickle"]
    with pytest.raises(ValueError, match=r"geom_crafted\.pickle.*forbidden global posix\.system"):
        read_rdkit_pickle(pickles["geom"], "CCO", 5)
    with pytest.raises(ValueError, match=r"index_crafted\.pkl.*forbidden global posix\.system"):
        load_index(pickles["index"])
    assert not list(pickles["geom"].parent.glob(MARKER))


@pytest.mark.parametrize(("args", "needle"), [
    (["--num", "0"], "--num must be >= 1, got 0"), (["--num", "-1"], "--num must be >= 1, got -1"),
    (["--steps", "0"], "--steps must be"), (["--steps", "-5"], "--steps must be"),
    (["--steps", "100000"], "--steps must be 1..500, got 100000"), (["--atoms", "0"], "--atoms must be 1..999"),
    (["--atoms", "-3"], "--atoms must be 1..999, got -3"), (["--batch-size", "0"], "--batch-size must be >= 1"),
])
def test_sample_arguments_are_checked_before_any_work(args: list[str], needle: str, tmp_path: Path, capsys) -> None:
    run_refused(["sample", "--ckpt", str(SHIPPED), "--out", str(tmp_path / "s.sdf"), "--no-progress", *args],
                [tmp_path], capsys, needle)


SDF_NEEDLES = {"empty": "no readable molecule (0 record(s))", "garbage": "no readable molecule",
               "truncated_gz": "truncated or corrupt gzip file", "nan": "NaN or infinite coordinates",
               "zero_atoms": "record has no atoms", "directory": "not a regular file (a directory)",
               "fifo": "not a regular file (a FIFO"}


@pytest.mark.parametrize("case", sorted(SDF_NEEDLES))
def test_evaluate_refuses_unreadable_sdf(corpus, case: str, tmp_path: Path, capsys) -> None:
    sdf = corpus["sdf"][case]
    run_refused(["evaluate", str(sdf), "--out", str(tmp_path / "ev"), "--metrics", "basic", "--workers", "1",
                 "--quiet"], [tmp_path], capsys, str(sdf), SDF_NEEDLES[case])


CUSTOM_NEEDLES = {"empty": "empty file (no SDF records)", "garbage": "no molecule could be read",
                  "truncated_gz": "truncated or corrupt gzip file", "nan": "NaN or infinite coordinates",
                  "zero_atoms": "record has no atoms", "directory": "no .sdf / .sdf.gz files",
                  "fifo": "not a regular file (a FIFO"}


@pytest.mark.parametrize("case", sorted(CUSTOM_NEEDLES))
def test_data_custom_refuses_unreadable_sdf(corpus, case: str, tmp_path: Path, capsys) -> None:
    sdf = corpus["sdf"][case]
    run_refused(["data", "custom", "--sdf", str(sdf), "--name", "bad", "--root", str(tmp_path), "--no-progress"],
                [tmp_path], capsys, str(sdf), CUSTOM_NEEDLES[case])


def test_data_custom_rejects_a_free_proton(tmp_path: Path, capsys) -> None:
    sdf = free_proton_sdf(tmp_path)
    run_refused(["data", "custom", "--sdf", str(sdf), "--name", "fp", "--root", str(tmp_path / "d"),
                 "--no-progress"], [tmp_path], capsys, str(sdf), "isolated hydrogen atom", "atom 4 has no bond")


@pytest.mark.parametrize(("case", "needle"), [("missing", "protein PDB file not found"),
                                              ("empty", "empty protein file"), ("sdf", "not a PDB file")])
def test_evaluate_refuses_an_unreadable_protein(corpus, case: str, needle: str, tmp_path: Path, capsys) -> None:
    protein = corpus["protein"][case]
    good = tmp_path / "good.sdf"
    shutil.copy(corpus["protein"]["sdf"], good)
    run_refused(["evaluate", str(good), "--protein", str(protein), "--out", str(tmp_path / "ev"), "--metrics",
                 "basic", "--workers", "1", "--quiet"], [tmp_path], capsys, str(protein), needle)


@pytest.mark.parametrize(("config", "overrides", "needle"), [
    ("empty", [], "empty config file"),
    ("negative_lr", [], "optim.lr: must be a finite number >= 0, got -1.0"),
    (None, ["optim.lr=-1"], "optim.lr: must be a finite number >= 0"),
    (None, ["optim.max_steps=0"], "optim.max_steps: must be an integer >= 1, got 0"),
])
def test_train_refuses_bad_config_values_writing_nothing(corpus, config, overrides, needle, tmp_path, capsys):
    path = corpus["config"][config] if config else DEBUG
    run_refused(["train", "--config", str(path), f"trainer.output_dir={tmp_path / 'run'}", *overrides],
                [tmp_path], capsys, str(path), needle)
    assert not (tmp_path / "run").exists()


def test_train_refuses_a_non_empty_output_dir_without_resume_or_force(tmp_path: Path, capsys) -> None:
    (tmp_path / "run" / "checkpoints").mkdir(parents=True)
    (tmp_path / "run" / "checkpoints" / "last.ckpt").write_bytes(b"an earlier run")
    run_refused(["train", "--config", str(DEBUG), f"trainer.output_dir={tmp_path / 'run'}"], [tmp_path], capsys,
                str(tmp_path / "run"), "is not empty", "--resume", "--force")
