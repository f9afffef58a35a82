"""Diffusion processes (no networks): schedules, Gaussian and categorical kernels, the joint process, sampling."""

from molgen.diffusion.marginals import EXTRA_FEATURES, Marginals
from molgen.diffusion.process import MolecularDiffusion, Posterior
from molgen.diffusion.sampler import sample_batch, step_schedule

__all__ = ["EXTRA_FEATURES", "Marginals", "MolecularDiffusion", "Posterior", "sample_batch", "step_schedule"]
