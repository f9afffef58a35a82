"""Wall-clock snapshots: keep a checkpoint after each listed number of training minutes.

Quality against training time (the curves of bench/RESULTS.md and checkpoints/README.md) needs
the model as it was after 15, 30, 60 ... minutes, not only the latest one. The elapsed time is
the training time summed over every run of the same output directory: it is stored in the
checkpoint and restored by ``--resume``, so a campaign that spans sessions keeps one clock.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import lightning as L


class WallClockSnapshots(L.Callback):
    """Save ``dirpath/minutes=<m>.ckpt`` once the summed training time passes each of ``minutes``."""

    def __init__(self, minutes: list[float], dirpath: str | Path) -> None:
        if any(m <= 0 for m in minutes):
            raise ValueError(f"trainer.snapshot_minutes must be positive, got {minutes}")
        self.minutes = sorted(float(m) for m in minutes)
        self.dirpath = Path(dirpath)
        self.previous_seconds = 0.0  # training time of earlier runs (restored on resume)
        self._start: float | None = None
        self.saved: list[float] = []

    def elapsed_minutes(self) -> float:
        current = 0.0 if self._start is None else time.perf_counter() - self._start
        return (self.previous_seconds + current) / 60.0

    def on_train_start(self, trainer: L.Trainer, pl_module: Any) -> None:
        self._start = time.perf_counter()

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: Any, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        elapsed = self.elapsed_minutes()
        due = [m for m in self.minutes if m <= elapsed and m not in self.saved]
        if due:
            self.saved.extend(due)
            trainer.save_checkpoint(self.dirpath / f"minutes={due[-1]:g}.ckpt")

    def state_dict(self) -> dict[str, Any]:
        return {"training_seconds": self.elapsed_minutes() * 60.0, "saved": list(self.saved)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.previous_seconds = float(state_dict.get("training_seconds", 0.0))
        self.saved = [float(m) for m in state_dict.get("saved", [])]
