"""Training callbacks: atomic checkpoint writing and periodic sample-and-evaluate (RDKit only when it evaluates)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

from molgen.diffusion.reverse import fixed_or_sampled_atoms, sample_batch, step_schedule
from molgen.safe_load import load_checkpoint
from molgen.safe_write import atomic_path


class AtomicCheckpointIO(TorchCheckpointIO):
    """Writes each checkpoint to a temporary file and renames it into place (never half-written),
    and reads checkpoints only through the safe, weights-only reader."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: str | os.PathLike,
                        storage_options: Any | None = None) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            super().save_checkpoint(checkpoint, tmp, storage_options)

    def load_checkpoint(self, path: str | os.PathLike, map_location: Any = None,
                        weights_only: bool | None = None) -> dict[str, Any]:
        """``--resume`` reads through :func:`molgen.safe_load.load_checkpoint` (never runs code from the file)."""
        return load_checkpoint(path, map_location=map_location or "cpu")


class SampleEvaluateCallback(L.Callback):
    """Every ``every_n_steps`` optimizer steps, sample ``num_molecules`` with the EMA weights and log
    validity / stability from :func:`molgen.eval.evaluate_molecules` (rank 0 only)."""

    def __init__(self, every_n_steps: int, num_molecules: int = 32, steps: int | None = 100, seed: int = 0) -> None:
        if every_n_steps < 1 or num_molecules < 1:
            raise ValueError("sample_eval.every_n_steps and num_molecules must be >= 1")
        self.every_n_steps, self.num_molecules, self.steps, self.seed = every_n_steps, num_molecules, steps, seed
        self.history: list[dict[str, float]] = []

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: Any, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        step = trainer.global_step
        if step == 0 or step % self.every_n_steps or not trainer.is_global_zero:
            return
        metrics = self.evaluate(pl_module)
        self.history.append({"step": float(step), **metrics})
        for logger in trainer.loggers:
            logger.log_metrics({f"sample/{k}": v for k, v in metrics.items()}, step=step)

    def evaluate(self, pl_module: Any) -> dict[str, float]:
        from molgen.chem.featurize import reconstruct_mol  # RDKit: only when training evaluates samples
        from molgen.eval import evaluate_molecules

        diffusion = pl_module.diffusion
        gen = torch.Generator().manual_seed(self.seed)
        atoms = fixed_or_sampled_atoms(diffusion, self.num_molecules, None, gen)
        batch = sample_batch(pl_module.sampling_model(), diffusion, atoms.to(pl_module.device),
                             grid=step_schedule(diffusion.num_steps, self.steps),
                             generator=torch.Generator(pl_module.device).manual_seed(self.seed),
                             device=pl_module.device)
        mols = [reconstruct_mol(graph, sanitize=False).mol for graph in batch.to_graphs()]
        report = evaluate_molecules(mols, metrics="basic")
        return {k: float(v) for k, v in report.items() if isinstance(v, int | float) and not isinstance(v, bool)}
