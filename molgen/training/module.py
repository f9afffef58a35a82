"""The LightningModule: wires the denoiser, the diffusion process and the loss; nothing else.

It stores the whole config and the training marginals as hyper-parameters, so a
checkpoint alone rebuilds the model and the diffusion for sampling. Batches reach the device by
Lightning's own transfer (a ``MolBatch`` has ``.to(device)``), so no hook is overridden here.
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch import nn

from molgen.chem.molgraph import MolBatch
from molgen.config.load import config_from_dict
from molgen.diffusion.marginals import Marginals
from molgen.model import build_denoiser, build_diffusion
from molgen.training.ema import EMA


class DiffusionModule(L.LightningModule):
    """Denoiser + EMA copy + diffusion loss, optimised with AdamW.

    Args:
        config: the experiment config as a plain dict (``config_to_dict``).
        marginals: training statistics as a plain dict (``Marginals.to_dict``).
    """

    def __init__(self, config: dict[str, Any], marginals: dict[str, Any]) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.config = config_from_dict(config)
        self.denoiser = build_denoiser(self.config).set_path(self.config.trainer.path)
        self.diffusion = build_diffusion(self.config, Marginals.from_dict(marginals))
        self.ema = EMA(self.denoiser, self.config.optim.ema_decay)

    def forward(self, batch: MolBatch, t: torch.Tensor) -> Any:
        return self.denoiser(batch, t)

    def training_step(self, batch: MolBatch, batch_idx: int) -> torch.Tensor:
        terms = self.diffusion.training_loss(self.denoiser, batch)
        size = batch.num_graphs
        self.log("train/loss", terms["loss"], prog_bar=True, batch_size=size, sync_dist=False)
        for name, value in terms.items():
            if name != "loss":
                self.log(f"train/{name}", value, batch_size=size)
        return terms["loss"]

    def on_train_batch_end(self, outputs: Any, batch: MolBatch, batch_idx: int) -> None:
        self.ema.update(self.denoiser)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        o = self.config.optim
        params = [p for p in self.denoiser.parameters() if p.requires_grad]
        # fused: one kernel per step instead of ~3,000 small ops (bench/train.py's step); under mixed precision
        # Lightning refuses gradient clipping with a fused optimizer, so the plain implementation is kept there
        fused = "mixed" not in str(self.config.trainer.precision)
        return torch.optim.AdamW(params, lr=o.lr, betas=tuple(o.betas), weight_decay=o.weight_decay, fused=fused)

    def sampling_model(self) -> nn.Module:
        """The EMA weights, used for every sample."""
        return self.ema.module
