"""The `molgen` dispatcher: help, unknown commands, and bad input reported without a traceback."""

from __future__ import annotations

from pathlib import Path

from molgen.cli import COMMANDS, main

DEBUG_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "debug.yaml"


def test_help_lists_every_command(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in COMMANDS)
    from molgen.cli.data import DATASETS

    data_line = next(line for line in out.splitlines() if line.strip().startswith("data "))
    assert all(name in data_line for name in DATASETS), data_line  # every `molgen data` dataset is named


def test_unknown_command_is_rejected(capsys):
    assert main(["frobnicate"]) == 2
    assert "unknown command 'frobnicate'" in capsys.readouterr().err


def test_missing_checkpoint_is_a_clear_error(tmp_path, capsys):
    missing = tmp_path / "nope.ckpt"
    assert main(["sample", "--ckpt", str(missing), "--num", "1", "--out", str(tmp_path / "x.sdf")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("molgen sample: error:") and str(missing) in err
    assert not (tmp_path / "x.sdf").exists()


def test_bad_override_names_the_key(capsys):
    assert main(["train", "--config", str(DEBUG_CONFIG), "optim.lr=abc"]) == 2
    assert "optim.lr" in capsys.readouterr().err
