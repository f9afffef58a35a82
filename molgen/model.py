"""The networks of a config: the denoiser and the diffusion, built the same way for training and sampling.

This module sits above :mod:`molgen.nn` and :mod:`molgen.diffusion` and below :mod:`molgen.training`
and :mod:`molgen.generate`, which both build through it; it imports neither RDKit nor Lightning.
"""

from __future__ import annotations

from torch import nn

from molgen.config.schema import ExperimentConfig
from molgen.diffusion.marginals import EXTRA_FEATURES, Marginals
from molgen.diffusion.process import MolecularDiffusion


def build_denoiser(config: ExperimentConfig) -> nn.Module:
    """The network of the config's ``model`` section."""
    from molgen.nn.denoiser import EQGATDenoiser

    return EQGATDenoiser(config.model)


def build_diffusion(config: ExperimentConfig, marginals: Marginals) -> MolecularDiffusion:
    """The joint diffusion of the config's ``diffusion`` section with the training marginals; the extra atom
    features are diffused exactly when the model uses them (``model.extra_atom_features``)."""
    extras = tuple(EXTRA_FEATURES) if config.model.extra_atom_features > 0 else ()
    return MolecularDiffusion(config.diffusion, marginals, extra_features=extras)
