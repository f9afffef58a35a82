"""Sampling from a checkpoint: ``sample(ckpt, num, ...) -> list[MolGraph]`` and ``write_samples`` to SDF.

The same checkpoint, seed, number of molecules and batch size give the same molecules.
Arguments are checked before any work (``--num``, ``--batch-size`` >= 1, ``--atoms`` in
1..:data:`MAX_ATOMS`, ``--steps`` in 1..the trained number of steps).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from rdkit import rdBase
from torch import nn
from tqdm import tqdm

from molgen.chem.featurize import reconstruct_mol
from molgen.chem.hydrogens import add_hydrogens
from molgen.chem.molgraph import MolGraph
from molgen.chem.sdf import rdkit_unsafe, write_sdf
from molgen.config.load import config_from_dict
from molgen.config.schema import ExperimentConfig
from molgen.diffusion.process import MolecularDiffusion
from molgen.diffusion.sampler import fixed_or_sampled_atoms, num_jumps, sample_batch
from molgen.errors import check_positive
from molgen.training.module import DiffusionModule
from molgen.training.train import read_checkpoint

#: Most atoms per sampled molecule (``--atoms``): every pair of atoms is an edge of the denoiser, and the
#: datasets molgen trains on hold at most a few hundred atoms per molecule.
MAX_ATOMS = 999


def load_for_sampling(ckpt: str | os.PathLike, device: str | torch.device = "cpu"
                      ) -> tuple[nn.Module, MolecularDiffusion, ExperimentConfig]:
    """The EMA denoiser (eval mode, on ``device``), the diffusion and the config stored in ``ckpt``."""
    saved = read_checkpoint(Path(ckpt))
    module = DiffusionModule(saved["config"], saved["marginals"])
    module.load_state_dict(saved["state_dict"])
    model = module.sampling_model().to(device).eval()
    return model, module.diffusion, config_from_dict(saved["config"], source=str(ckpt))


def sample(ckpt: str | os.PathLike, num: int, steps: int | None = None, atoms: int | None = None, seed: int = 0,
           batch_size: int = 64, device: str | torch.device = "cpu", progress: bool = True) -> list[MolGraph]:
    """Generate ``num`` molecules with ``steps`` reverse jumps (default: the trained T).

    ``atoms`` fixes the atom count of every molecule; otherwise counts are drawn
    from the training histogram stored in the checkpoint.
    """
    check_positive("--num", num)
    check_positive("--batch-size", batch_size)
    check_positive("--atoms", atoms, MAX_ATOMS)
    model, diffusion, _ = load_for_sampling(ckpt, device)
    check_positive("--steps", steps, diffusion.num_steps)  # the trained number of steps is the most
    return sample_with(model, diffusion, num, steps, atoms, seed, batch_size, device, progress)


def sample_with(model: nn.Module, diffusion: MolecularDiffusion, num: int, steps: int | None = None,
                atoms: int | None = None, seed: int = 0, batch_size: int = 64, device: str | torch.device = "cpu",
                progress: bool = True) -> list[MolGraph]:
    """:func:`sample` for an already loaded model and diffusion.

    A model trained on heavy atoms only (no H in its marginals) generates heavy-atom graphs; each is
    completed with its implied hydrogens, placed in 3D (:func:`molgen.chem.hydrogens.add_hydrogens`).
    One RDKit cannot sanitise stays a heavy-atom graph and carries ``rdkit_error``.
    """
    counts = fixed_or_sampled_atoms(diffusion, num, atoms, torch.Generator().manual_seed(seed))  # [num]
    chunks = list(torch.split(counts, batch_size))
    bar = tqdm(total=len(chunks) * num_jumps(diffusion.num_steps, steps), disable=not progress, desc="sampling",
               unit="step")
    out: list[MolGraph] = []
    for c, chunk in enumerate(chunks):
        generator = torch.Generator(device).manual_seed(seed * 1_000_003 + c)
        batch = sample_batch(model, diffusion, chunk.to(device), steps=steps, generator=generator, device=device,
                             on_step=lambda _: bar.update(1))
        for graph in batch.to_graphs():
            graph.name = f"sample_{len(out)}"
            graph.props = {"seed": seed, "steps": steps or diffusion.num_steps}
            if not diffusion.marginals.has_hydrogens:
                graph, error = add_hydrogens(graph)
                graph.props["hydrogens"] = "implied by RDKit, 3D from the heavy atoms" if error is None else "none"
            out.append(graph)
    bar.close()
    return out


def write_samples(molecules: list[MolGraph], path: str | os.PathLike) -> dict[str, int]:
    """Write every molecule to an SDF atomically, with the model's own bonds and charges.

    Molecules RDKit cannot sanitise are still written; each record carries
    ``rdkit_sanitized`` (1/0) and, when 0, ``rdkit_error``. Returns counts.
    """
    sanitized = 0
    with rdBase.BlockLogs():  # RDKit's messages go into the rdkit_error property instead of the terminal
        for graph in molecules:
            if reason := rdkit_unsafe(graph):  # written by molgen itself (see molgen.chem.sdf.RDKIT_MAX_DEGREE)
                graph.props.update(rdkit_sanitized=0, rdkit_error=f"not given to RDKit: {reason}")
                continue
            result = reconstruct_mol(graph)
            graph.props["rdkit_sanitized"] = int(result.sanitized)
            if result.error:
                graph.props["rdkit_error"] = result.error.replace("\n", " ")
            sanitized += int(result.sanitized)
        written = write_sdf(molecules, path)
    return {"written": written, "sanitized": sanitized}
