"""One progress bar for a whole training run (not Lightning's bar per epoch), on the terminal.

Counted in optimizer steps up to ``optim.max_steps``, or, when ``optim.max_minutes`` bounds the run,
in seconds of training time up to that limit (Lightning's ``Timer``, which a resumed run restores),
with the step and the latest loss beside it. It writes to :func:`molgen.chatter.terminal`, so it
stays visible while Lightning's own output goes to ``train.log``; only rank 0 draws it.
"""

from __future__ import annotations

import time
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Timer
from tqdm.auto import tqdm

from molgen.chatter import terminal

#: the loss is read (a device synchronisation) at most this often
REFRESH_S = 0.5


class RunProgress(L.Callback):
    """A tqdm bar over the run: steps done / ``max_steps``, or elapsed / ``max_minutes`` when time-bounded."""

    def __init__(self, max_steps: int, max_minutes: float | None = None) -> None:
        self.max_steps, self.max_minutes = max_steps, max_minutes
        self.bar: tqdm | None = None
        self._last = 0.0
        self._loss: float | None = None

    def _timer(self, trainer: L.Trainer) -> Timer | None:
        return next((c for c in trainer.callbacks if isinstance(c, Timer)), None)

    def on_train_start(self, trainer: L.Trainer, pl_module: Any) -> None:
        if not trainer.is_global_zero:
            return
        if self.max_minutes:
            timer = self._timer(trainer)
            done = timer.time_elapsed() if timer is not None else 0.0
            self.bar = tqdm(total=self.max_minutes * 60, initial=done, desc="train", unit="s",
                            unit_scale=1 / 60, file=terminal(), dynamic_ncols=True,  # shown in minutes
                            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.3g}/{total:.4g} min{postfix}")
        else:
            self.bar = tqdm(total=self.max_steps, initial=trainer.global_step, desc="train", unit="step",
                            file=terminal(), dynamic_ncols=True)

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: Any, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        if self.bar is None or time.monotonic() - self._last < REFRESH_S:
            return
        self._update(trainer, outputs)

    def _update(self, trainer: L.Trainer, outputs: Any = None) -> None:
        self._last = time.monotonic()
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        if loss is None:  # the end of the run: the loss of its last step, as logged
            loss = trainer.callback_metrics.get("train/loss")
        if loss is not None:
            self._loss = float(loss)
        postfix = {"loss": f"{self._loss:.3g}"} if self._loss is not None else {}
        if self.max_minutes:
            timer = self._timer(trainer)
            if timer is not None:
                self.bar.n = min(timer.time_elapsed(), self.bar.total)
            postfix = {"step": trainer.global_step, **postfix}
        else:
            self.bar.n = min(trainer.global_step, self.bar.total)
        self.bar.set_postfix(postfix, refresh=False)
        self.bar.refresh()

    def on_train_end(self, trainer: L.Trainer, pl_module: Any) -> None:
        self._close(trainer)

    def on_exception(self, trainer: L.Trainer, pl_module: Any, exception: BaseException) -> None:
        self._close(trainer)

    def _close(self, trainer: L.Trainer) -> None:
        if self.bar is not None:
            self._update(trainer)
            self.bar.close()
            self.bar = None
