"""A trained generator: the EMA denoiser, the diffusion and the config of one checkpoint.

``load(path)`` reads a checkpoint through :func:`molgen.safe_load.load_checkpoint` (nothing in
the file can run code) and needs nothing from :mod:`molgen.training`; the training module builds
its networks with the same :func:`build_denoiser` / :func:`build_diffusion`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from molgen.chem.molgraph import MolGraph
from molgen.config.load import config_from_dict
from molgen.config.schema import ExperimentConfig
from molgen.diffusion.marginals import EXTRA_FEATURES, Marginals
from molgen.diffusion.process import MolecularDiffusion
from molgen.errors import UnsafeFileError
from molgen.safe_load import CHECKPOINT_ERROR, load_checkpoint

EMA_PREFIX = "ema.module."


def build_denoiser(config: ExperimentConfig) -> nn.Module:
    """The network of the config's ``model`` section."""
    from molgen.nn.denoiser import EQGATDenoiser

    return EQGATDenoiser(config.model)


def build_diffusion(config: ExperimentConfig, marginals: Marginals) -> MolecularDiffusion:
    """The joint diffusion of the config's ``diffusion`` section with the training marginals; the extra atom
    features are diffused exactly when the model uses them (``model.extra_atom_features``)."""
    extras = tuple(EXTRA_FEATURES) if config.model.extra_atom_features > 0 else ()
    return MolecularDiffusion(config.diffusion, marginals, extra_features=extras)


@dataclass
class MoleculeGenerator:
    """What sampling needs from a checkpoint. ``sample`` is :func:`molgen.generate.sampling.generate`."""

    denoiser: nn.Module
    diffusion: MolecularDiffusion
    config: ExperimentConfig
    device: torch.device

    def sample(self, num: int, steps: int | None = None, atoms: int | None = None, seed: int = 0,
               batch_size: int = 64, progress: bool = False, pocket: MolGraph | None = None,
               **options) -> list[MolGraph]:
        """``num`` molecules (with ``steps`` reverse jumps, default the trained T; ``atoms`` each, default
        drawn from the training histogram; inside ``pocket`` for a pocket-conditioned model, see
        :func:`molgen.generate.pocket.pocket_from_pdb`). Same seed and batch size, same molecules.
        ``options``: the other arguments of :func:`molgen.generate.sampling.generate` (receptor, steering)."""
        from molgen.generate.sampling import generate

        return generate(self, num, steps=steps, atoms=atoms, seed=seed, batch_size=batch_size, progress=progress,
                        pocket=pocket, **options)

    @property
    def pocket_conditioned(self) -> bool:
        return self.config.model.pocket_cutoff is not None


def load(path: str | os.PathLike, device: str | torch.device = "cpu") -> MoleculeGenerator:
    """The generator stored in a molgen training checkpoint (EMA weights, eval mode, on ``device``)."""
    ckpt = load_checkpoint(path)
    try:
        saved = ckpt["hyper_parameters"]
        config = config_from_dict(saved["config"], source=str(path))
        marginals = Marginals.from_dict(saved["marginals"])
        weights = {k.removeprefix(EMA_PREFIX): v for k, v in ckpt["state_dict"].items() if k.startswith(EMA_PREFIX)}
    except (KeyError, TypeError, AttributeError) as exc:
        raise UnsafeFileError(f"{path}: {CHECKPOINT_ERROR} (no {exc})") from None
    denoiser = build_denoiser(config)
    missing, unexpected = denoiser.load_state_dict(weights, strict=False)
    if missing or unexpected:
        raise UnsafeFileError(f"{Path(path)}: weights do not fit the model of its own config "
                              f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
    device = torch.device(device)
    return MoleculeGenerator(denoiser.to(device).eval(), build_diffusion(config, marginals), config, device)
