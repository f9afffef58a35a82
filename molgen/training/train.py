"""Library entry points ``train(config)`` and ``finetune(config, ckpt)``; the CLI only wraps them.

Layout of ``trainer.output_dir``::

    config.yaml              the resolved config of the run
    checkpoints/last.ckpt    latest state (every ``checkpoint_every`` steps and at the end); --resume reads it
                             (or the newest valid step=*.ckpt when it is missing or unreadable)
    checkpoints/step=*.ckpt  the most recent periodic checkpoint
    logs/                    CSV metrics (and wandb/ when enabled)
    train.log                with ``capture`` (``molgen train``): what Lightning and the libraries printed,
                             appended by every run of the folder
"""

from __future__ import annotations

import dataclasses
import os
from contextlib import nullcontext
from pathlib import Path

import lightning as L
import yaml
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, Logger, WandbLogger
from lightning.pytorch.utilities import rank_zero_only

from molgen.chatter import captured
from molgen.config.load import config_from_dict, config_to_dict
from molgen.config.schema import ExperimentConfig
from molgen.data.template import processed_dir
from molgen.errors import UnsafeFileError
from molgen.safe_load import load_checkpoint, load_fitting_weights
from molgen.safe_write import write_text_atomic
from molgen.training.callbacks import AtomicCheckpointIO, SampleEvaluateCallback
from molgen.training.data_form import check_agreement
from molgen.training.datamodule import MolDataModule, open_train_split
from molgen.training.module import DiffusionModule
from molgen.training.progress import RunProgress
from molgen.training.run_dir import TRAIN_LOG, check_new_run, clear_old_run, resume_checkpoint
from molgen.training.snapshots import WallClockSnapshots


def checkpoint_dir(config: ExperimentConfig) -> Path:
    return Path(config.trainer.output_dir) / "checkpoints"


def train(config: ExperimentConfig, resume: bool = False, init_from: str | os.PathLike | None = None,
          force: bool = False, *, capture: bool = False) -> Path:
    """Train (or, with ``resume``, continue from the newest valid checkpoint); returns the final checkpoint path.

    ``init_from`` loads the denoiser and EMA weights of another checkpoint first (fine-tuning).
    A new run refuses a non-empty ``trainer.output_dir`` unless ``force`` (see :mod:`molgen.training.run_dir`).
    One progress bar shows the run (:class:`~molgen.training.progress.RunProgress`); with ``capture``
    everything else printed to stdout / stderr (Lightning's banner and warnings, the workers') is appended
    to ``<output_dir>/train.log`` instead of the terminal (an exception still propagates).
    """
    out = Path(config.trainer.output_dir)
    ckpt_path = str(resume_checkpoint(checkpoint_dir(config))) if resume else None
    if not resume and rank_zero_only.rank == 0:  # DDP children start after rank 0 wrote config.yaml
        check_new_run(out, force)
    existed = out.is_dir()
    try:
        with captured(log=out / TRAIN_LOG) if capture else nullcontext():
            return _train(config, out, ckpt_path, init_from, force and not resume)
    finally:  # nothing printed (a bad dataset is refused before Lightning starts): no empty log, no new folder
        log = out / TRAIN_LOG
        if capture and log.is_file() and log.stat().st_size == 0:
            log.unlink()
            if not existed and not any(out.iterdir()):
                out.rmdir()


def _train(config: ExperimentConfig, out: Path, ckpt_path: str | None, init_from: str | os.PathLike | None,
           clear: bool) -> Path:
    L.seed_everything(config.trainer.seed, workers=True, verbose=False)
    train_set, marginals = open_train_split(config.dataset, pockets=config.model.pocket_cutoff is not None)
    for source, verb in ((init_from, "finetune"), (ckpt_path, "train --resume")):
        if source is not None:  # the weights' data and this dataset must be prepared alike
            check_agreement(source, read_checkpoint(Path(source))["marginals"], marginals.to_dict(),
                            processed_dir(config.dataset.name, config.dataset.root), verb)
    module = DiffusionModule(config_to_dict(config), marginals.to_dict())
    if init_from is not None:
        _load_weights(module, Path(init_from))
    data = MolDataModule(train_set, config.batching, config.dataset.num_workers, config.trainer.seed)
    trainer = build_trainer(config)  # after everything that can reject the config: nothing is written before
    if trainer.is_global_zero:
        if clear:
            clear_old_run(out)
        _write_config(config, out / "config.yaml")
    trainer.fit(module, datamodule=data, ckpt_path=ckpt_path)
    last = checkpoint_dir(config) / "last.ckpt"
    trainer.save_checkpoint(last, weights_only=False)
    return last


def finetune(config: ExperimentConfig, ckpt: str | os.PathLike, force: bool = False, *,
             capture: bool = False) -> Path:
    """Train on ``config``'s dataset starting from ``ckpt``'s weights; the architecture comes from ``ckpt``."""
    saved = config_from_dict(read_checkpoint(Path(ckpt))["config"], source=str(ckpt))
    if saved.model != config.model:
        print(f"finetune: using the model section of {ckpt} (the config's model section differs)")
    return train(dataclasses.replace(config, model=saved.model), init_from=ckpt, force=force, capture=capture)


def build_trainer(config: ExperimentConfig) -> L.Trainer:
    t, o = config.trainer, config.optim
    out = Path(t.output_dir)
    periodic = ModelCheckpoint(dirpath=checkpoint_dir(config), filename="{step}", save_last=True,
                               every_n_train_steps=t.checkpoint_every, save_top_k=1, monitor="step", mode="max")
    callbacks: list[L.Callback] = [periodic, WallClockSnapshots(t.snapshot_minutes, checkpoint_dir(config)),
                                   RunProgress(o.max_steps, o.max_minutes)]
    if config.sample_eval.every_n_steps > 0:
        s = config.sample_eval
        callbacks.append(SampleEvaluateCallback(s.every_n_steps, s.num_molecules, s.steps, t.seed))
    return L.Trainer(
        accelerator=t.accelerator, devices=t.devices, num_nodes=t.num_nodes, strategy=t.strategy,
        precision=t.precision, max_steps=o.max_steps, max_epochs=-1,
        max_time={"minutes": o.max_minutes} if o.max_minutes else None,
        gradient_clip_val=o.grad_clip or None, gradient_clip_algorithm="norm", log_every_n_steps=t.log_every,
        callbacks=callbacks, logger=_loggers(config, out), plugins=[AtomicCheckpointIO()],
        enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0, default_root_dir=str(out),
        # fixed batches: Lightning shards them across ranks; bucketed: the SizeBucketSampler does it itself
        use_distributed_sampler=config.batching.mode == "fixed",
    )


def _loggers(config: ExperimentConfig, out: Path) -> list[Logger] | bool:
    loggers: list[Logger] = []
    if config.logging.csv:
        loggers.append(CSVLogger(save_dir=str(out), name="logs"))
    if config.logging.wandb:
        mode = config.logging.wandb_mode
        if mode not in ("online", "offline", "disabled"):
            raise ValueError(f"logging.wandb_mode must be online, offline or disabled, got {mode!r}")
        loggers.append(WandbLogger(project=config.logging.wandb_project, name=config.name, save_dir=str(out),
                                   offline=mode == "offline", mode=mode))
    return loggers or False


def read_checkpoint(path: Path) -> dict:
    """hyper_parameters (config, marginals) and state_dict of a molgen training checkpoint.

    Read by :func:`molgen.safe_load.load_checkpoint`: nothing in the file can run code.
    """
    ckpt = load_checkpoint(path)
    return {**ckpt["hyper_parameters"], "state_dict": ckpt["state_dict"]}


def _load_weights(module: DiffusionModule, path: Path) -> None:
    state = read_checkpoint(path)["state_dict"]
    wanted = {k: v for k, v in state.items() if k.startswith(("denoiser.", "ema.module."))}
    missing, unexpected = load_fitting_weights(module, wanted, path)
    missing = [k for k in missing if k.startswith(("denoiser.", "ema.module."))]
    if missing or unexpected:
        raise UnsafeFileError(f"{path}: weights do not fit the model (missing {missing[:3]}, "
                              f"unexpected {unexpected[:3]})")


def _write_config(config: ExperimentConfig, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, yaml.safe_dump(config_to_dict(config), sort_keys=False))
