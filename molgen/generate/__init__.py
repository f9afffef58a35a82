"""Generation from a trained checkpoint: ``load`` -> ``MoleculeGenerator.sample`` -> ``write_samples``.

Imports nothing from :mod:`molgen.training`: a checkpoint alone (read safely) is enough.
"""

from molgen.generate.model import MoleculeGenerator, build_denoiser, build_diffusion, load
from molgen.generate.sampling import MAX_ATOMS, generate
from molgen.generate.writing import write_samples

__all__ = ["MAX_ATOMS", "MoleculeGenerator", "build_denoiser", "build_diffusion", "generate", "load",
           "write_samples"]
