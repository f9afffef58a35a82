"""Nothing the user owns is overwritten or deleted: every writing command refuses an output that is one of its
inputs, a device or FIFO, or a file / folder molgen did not write (molgen.outputs)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from make_corpus import GOOD_RECORD
from test_bad_inputs import DEBUG, SHIPPED, run_refused


def sample(out: Path, ckpt: Path = SHIPPED, *extra: str) -> list[str]:
    return ["sample", "--ckpt", str(ckpt), "--num", "2", "--steps", "1", "--no-progress", "--out", str(out), *extra]


def test_sample_refuses_to_write_over_its_own_checkpoint(tmp_path: Path, capsys) -> None:
    ckpt = tmp_path / "my_model.ckpt"
    shutil.copy(SHIPPED, ckpt)
    run_refused(sample(ckpt, ckpt), [tmp_path], capsys, "is also an input")
    link = tmp_path / "out.sdf"
    link.symlink_to(ckpt)  # another name of the same file
    run_refused(sample(link, ckpt), [tmp_path], capsys, "is also an input")


def test_sample_refuses_to_replace_a_file_it_did_not_write(tmp_path: Path, capsys) -> None:
    notes = tmp_path / "notes.sdf"
    notes.write_text("my own notes, not molecules\n")
    run_refused(sample(notes), [tmp_path], capsys, "is not a molgen sample SDF", "refusing to overwrite")
    theirs = tmp_path / "theirs.sdf"
    theirs.write_text(GOOD_RECORD)  # an SDF from another tool: the user's data
    run_refused(sample(theirs), [tmp_path], capsys, "is not a molgen sample SDF")


@pytest.mark.parametrize("kind", ["fifo", "device", "folder"])
def test_sample_refuses_an_output_that_is_not_a_regular_file(kind: str, tmp_path: Path, capsys) -> None:
    if kind == "fifo":
        out = tmp_path / "pipe.sdf"
        os.mkfifo(out)
    elif kind == "device":
        out = Path("/dev/null")
    else:
        out = tmp_path / "folder.sdf"
        out.mkdir()
    err = run_refused(sample(out), [tmp_path], capsys, "not a regular file")
    assert str(out) in err
    if kind == "device":
        assert Path("/dev/null").is_char_device()


def test_dock_refuses_a_folder_holding_the_users_own_docked_sdf(tmp_path: Path, capsys) -> None:
    out = tmp_path / "dock"
    out.mkdir()
    (out / "docked.sdf").write_text(GOOD_RECORD)  # no docking.json: molgen did not write it
    ligands = tmp_path / "ligands.sdf"
    ligands.write_text(GOOD_RECORD)
    run_refused(["dock", str(ligands), "--receptor", str(tmp_path / "r.pdb"), "--out", str(out)], [tmp_path],
                capsys, "docked.sdf", "molgen did not write")
    (out / "docking.json").write_text('{"mine": 1}')  # a JSON that is no molgen ledger
    run_refused(["dock", str(ligands), "--receptor", str(tmp_path / "r.pdb"), "--out", str(out)], [tmp_path],
                capsys, "molgen did not write")


def test_dock_refuses_to_write_over_its_input_ligands(tmp_path: Path, capsys) -> None:
    out = tmp_path / "dock"
    out.mkdir()
    (out / "docked.sdf").write_text(GOOD_RECORD)
    (out / "docking.json").write_text('{"run": {}}')
    run_refused(["dock", str(out / "docked.sdf"), "--receptor", str(tmp_path / "r.pdb"), "--out", str(out)],
                [tmp_path], capsys, "is also an input")


def test_evaluate_refuses_a_folder_whose_metrics_json_is_the_users(tmp_path: Path, capsys) -> None:
    sdf = tmp_path / "mols.sdf"
    sdf.write_text(GOOD_RECORD)
    out = tmp_path / "ev"
    out.mkdir()
    (out / "metrics.json").write_text('{"my": "results"}')
    run_refused(["evaluate", str(sdf), "--out", str(out), "--metrics", "basic", "--workers", "1", "--quiet"],
                [tmp_path], capsys, "metrics.json", "molgen did not write")


@pytest.mark.parametrize("force", [False, True])
def test_data_custom_never_replaces_a_folder_molgen_did_not_write(force: bool, tmp_path: Path, capsys) -> None:
    sdf = tmp_path / "in.sdf"
    sdf.write_text(GOOD_RECORD * 3)
    theirs = tmp_path / "d" / "processed" / "t"
    theirs.mkdir(parents=True)
    (theirs / "thesis.tex").write_text("years of work")
    run_refused(["data", "custom", "--sdf", str(sdf), "--name", "t", "--root", str(tmp_path / "d"),
                 "--no-progress", *(["--force"] if force else [])], [tmp_path], capsys, str(theirs),
                "not written by molgen data")


@pytest.mark.parametrize("name", ["../escape", "..", ".hidden", "a/b"])
def test_data_custom_refuses_a_name_that_leaves_processed(name: str, tmp_path: Path, capsys) -> None:
    sdf = tmp_path / "in.sdf"
    sdf.write_text(GOOD_RECORD)
    run_refused(["data", "custom", "--sdf", str(sdf), "--name", name, "--root", str(tmp_path / "d"),
                 "--no-progress"], [tmp_path], capsys, "dataset name")


def test_train_force_never_deletes_from_a_folder_that_is_no_molgen_run(tmp_path: Path, capsys) -> None:
    run = tmp_path / "photos"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "holiday.ckpt").write_bytes(b"not a model")
    (run / "config.yaml").write_text("camera: nikon\n")
    run_refused(["train", "--config", str(DEBUG), f"trainer.output_dir={run}", "--force"], [tmp_path], capsys,
                "is not a molgen run", "--force")


def test_finetune_force_refuses_a_checkpoint_inside_the_folder_it_would_empty(tmp_path: Path, capsys) -> None:
    ckpts = tmp_path / "run" / "checkpoints"
    ckpts.mkdir(parents=True)
    shutil.copy(SHIPPED, ckpts / "last.ckpt")
    run_refused(["finetune", "--ckpt", str(ckpts / "last.ckpt"), "--config", str(DEBUG),
                 f"trainer.output_dir={tmp_path / 'run'}", "--force"], [tmp_path], capsys, "which --force would empty")


def test_clear_old_run_deletes_only_checkpoints(tmp_path: Path) -> None:
    from molgen.training.run_dir import check_new_run, clear_old_run

    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.yaml").write_text("model: {}\ntrainer: {}\ndiffusion: {}\n")
    (run / "checkpoints" / "last.ckpt").write_bytes(b"old")
    (run / "checkpoints" / "README.txt").write_text("keep me")
    check_new_run(run, force=True)
    clear_old_run(run)
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["README.txt"]
