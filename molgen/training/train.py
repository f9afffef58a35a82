"""Library entry points ``train(config)`` and ``finetune(config, ckpt)``; the CLI only wraps them.

Layout of ``trainer.output_dir``::

    config.yaml              the resolved config of the run
    checkpoints/last.ckpt    latest state (every ``checkpoint_every`` steps and at the end); --resume reads it
    checkpoints/step=*.ckpt  the most recent periodic checkpoint
    logs/                    CSV metrics (and wandb/ when enabled)
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import lightning as L
import torch
import yaml
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, Logger, WandbLogger

from molgen.atomic import write_text_atomic
from molgen.config.load import config_from_dict, config_to_dict
from molgen.config.schema import ExperimentConfig
from molgen.training.callbacks import AtomicCheckpointIO, SampleEvaluateCallback
from molgen.training.datamodule import MolDataModule, open_train_split
from molgen.training.module import DiffusionModule


def checkpoint_dir(config: ExperimentConfig) -> Path:
    return Path(config.trainer.output_dir) / "checkpoints"


def train(config: ExperimentConfig, resume: bool = False, init_from: str | os.PathLike | None = None) -> Path:
    """Train (or, with ``resume``, continue from ``checkpoints/last.ckpt``); returns the final checkpoint path.

    ``init_from`` loads the denoiser and EMA weights of another checkpoint first (fine-tuning).
    """
    L.seed_everything(config.trainer.seed, workers=True, verbose=False)
    train_set, marginals = open_train_split(config.dataset)
    module = DiffusionModule(config_to_dict(config), marginals.to_dict())
    if init_from is not None:
        _load_weights(module, Path(init_from))
    ckpt_path = None
    last = checkpoint_dir(config) / "last.ckpt"
    if resume:
        if not last.is_file():
            raise FileNotFoundError(f"--resume: no checkpoint to resume from at {last}")
        ckpt_path = str(last)
    data = MolDataModule(train_set, config.batching, config.dataset.num_workers, config.trainer.seed)
    trainer = build_trainer(config)  # after everything that can reject the config: nothing is written before
    if trainer.is_global_zero:
        _write_config(config, Path(config.trainer.output_dir) / "config.yaml")
    trainer.fit(module, datamodule=data, ckpt_path=ckpt_path)
    trainer.save_checkpoint(last)
    return last


def finetune(config: ExperimentConfig, ckpt: str | os.PathLike) -> Path:
    """Train on ``config``'s dataset starting from ``ckpt``'s weights; the architecture comes from ``ckpt``."""
    saved = config_from_dict(read_checkpoint(Path(ckpt))["config"], source=str(ckpt))
    if saved.model != config.model:
        print(f"finetune: using the model section of {ckpt} (the config's model section differs)")
    return train(dataclasses.replace(config, model=saved.model), init_from=ckpt)


def build_trainer(config: ExperimentConfig) -> L.Trainer:
    t, o = config.trainer, config.optim
    out = Path(t.output_dir)
    periodic = ModelCheckpoint(dirpath=checkpoint_dir(config), filename="{step}", save_last=True,
                               every_n_train_steps=t.checkpoint_every, save_top_k=1, monitor="step", mode="max")
    callbacks: list[L.Callback] = [periodic]
    if config.sample_eval.every_n_steps > 0:
        s = config.sample_eval
        callbacks.append(SampleEvaluateCallback(s.every_n_steps, s.num_molecules, s.steps, t.seed))
    return L.Trainer(
        accelerator=t.accelerator, devices=t.devices, num_nodes=t.num_nodes, strategy=t.strategy,
        precision=t.precision, max_steps=o.max_steps, max_epochs=-1,
        max_time={"minutes": o.max_minutes} if o.max_minutes else None,
        gradient_clip_val=o.grad_clip or None, gradient_clip_algorithm="norm", log_every_n_steps=t.log_every,
        callbacks=callbacks, logger=_loggers(config, out), plugins=[AtomicCheckpointIO()],
        enable_progress_bar=True, enable_model_summary=False, num_sanity_val_steps=0, default_root_dir=str(out),
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
    """hyper_parameters (config, marginals) and state_dict of a molgen training checkpoint."""
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    if "hyper_parameters" not in ckpt or "config" not in ckpt["hyper_parameters"]:
        raise ValueError(f"{path}: not a molgen training checkpoint (no hyper_parameters.config)")
    return {**ckpt["hyper_parameters"], "state_dict": ckpt["state_dict"]}


def _load_weights(module: DiffusionModule, path: Path) -> None:
    state = read_checkpoint(path)["state_dict"]
    wanted = {k: v for k, v in state.items() if k.startswith(("denoiser.", "ema.module."))}
    missing, unexpected = module.load_state_dict(wanted, strict=False)
    missing = [k for k in missing if k.startswith(("denoiser.", "ema.module."))]
    if missing or unexpected:
        raise ValueError(f"{path}: weights do not fit the model (missing {missing[:3]}, unexpected {unexpected[:3]})")


def _write_config(config: ExperimentConfig, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, yaml.safe_dump(config_to_dict(config), sort_keys=False))
