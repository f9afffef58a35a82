"""`molgen sample`'s progress bar ends full: 100 %, every cell filled, N/N molecules, whatever the batch sizes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from molgen.cli import main

ROOT = Path(__file__).resolve().parents[2]
CKPT = ROOT / "checkpoints" / "qm9_noh_gaunt_cpu.ckpt"
FRAME = re.compile(r"sampling (\d+)/(\d+) molecules: +(\d+)%\|(.*)\| \[")


@pytest.mark.parametrize(("num", "batch", "steps"), [(7, 3, 7), (20, 20, 100)])
def test_progress_bar_ends_full(tmp_path: Path, capsys, num: int, batch: int, steps: int) -> None:
    # 7 = 3 + 3 + 1 molecules over 7 jumps: 3/7 per jump is no binary fraction, as 20/100 is not either
    assert main(["sample", "--ckpt", str(CKPT), "--num", str(num), "--batch-size", str(batch), "--steps", str(steps),
                 "--seed", "0", "--out", str(tmp_path / "s.sdf")]) == 0
    frames = [FRAME.search(f) for f in re.split(r"[\r\n]", capsys.readouterr().err)]
    frames = [(int(m[1]), int(m[2]), int(m[3]), m[4]) for m in frames if m]
    assert len(frames) > 2
    done, total, percent, cells = frames[-1]
    assert (done, total, percent) == (num, num, 100)
    assert set(cells) == {"█"}, cells  # no partly filled last cell
    assert [f[0] for f in frames] == sorted(f[0] for f in frames)  # finished molecules never go back
    assert [f[2] for f in frames] == sorted(f[2] for f in frames)
    assert all(f[0] < num for f in frames if f[2] < 100)  # N/N only once the last chunk is written
