"""The reverse process run for a user: validate arguments, draw atom counts, sample in batches.

Arguments are checked before any work (``num``, ``batch_size`` >= 1, ``atoms`` in
1..:data:`MAX_ATOMS`, ``steps`` in 1..the trained number of steps); the jump schedule is
computed once (:func:`molgen.diffusion.sampler.step_schedule`) and drives both the sampler and
the progress bar.
"""

from __future__ import annotations

import torch
from tqdm import tqdm

from molgen.chem.hydrogens import add_hydrogens
from molgen.chem.molgraph import MolGraph
from molgen.chem.pocket_batch import PocketBatch
from molgen.diffusion.sampler import fixed_or_sampled_atoms, sample_batch, step_schedule
from molgen.errors import MolgenInputError, check_positive

#: Most atoms per sampled molecule (``--atoms``): every pair of atoms is an edge of the denoiser, and the
#: datasets molgen trains on hold at most a few hundred atoms per molecule.
MAX_ATOMS = 999


def generate(model, num: int, steps: int | None = None, atoms: int | None = None, seed: int = 0,
             batch_size: int = 64, progress: bool = False, pocket: MolGraph | None = None) -> list[MolGraph]:
    """``num`` molecules from a :class:`~molgen.generate.model.MoleculeGenerator`.

    A pocket-conditioned model needs ``pocket`` (:func:`molgen.generate.pocket.pocket_from_pdb`): the
    molecules are generated inside it, in the receptor's frame, with sizes drawn from the training
    pairs of similar pocket size unless ``atoms`` is given.

    A model trained on heavy atoms only (no H in its marginals) generates heavy-atom graphs; each is
    completed with its implied hydrogens, placed in 3D (:func:`molgen.chem.hydrogens.add_hydrogens`);
    one RDKit cannot sanitise stays a heavy-atom graph (``hydrogens`` property ``none``).
    """
    diffusion, device = model.diffusion, model.device
    check_positive("--num", num)
    check_positive("--batch-size", batch_size)
    check_positive("--atoms", atoms, MAX_ATOMS)
    check_positive("--steps", steps, diffusion.num_steps)  # the trained number of steps is the most
    conditional = model.config.model.pocket_cutoff is not None
    if conditional != (pocket is not None):
        raise MolgenInputError("this checkpoint is pocket-conditioned: give --pocket PROTEIN.pdb with --ref-ligand "
                               "or --center" if conditional else "this checkpoint is not pocket-conditioned: "
                               "--pocket needs a model trained on pockets (e.g. configs/crossdocked.yaml)")
    grid = step_schedule(diffusion.num_steps, steps)  # [jumps + 1], T ... 0
    sizes = torch.Generator().manual_seed(seed)
    if pocket is not None and atoms is None:
        counts = diffusion.marginals.sample_num_atoms_for_pocket(pocket.num_atoms, num, sizes)  # [num]
        counts = counts.clamp(min=1)
    else:
        counts = fixed_or_sampled_atoms(diffusion, num, atoms, sizes)  # [num]
    chunks = list(torch.split(counts, batch_size))
    bar = tqdm(total=len(chunks) * (len(grid) - 1), disable=not progress, desc="sampling", unit="step")
    out: list[MolGraph] = []
    for c, chunk in enumerate(chunks):
        generator = torch.Generator(device).manual_seed(seed * 1_000_003 + c)
        context = None if pocket is None else PocketBatch.repeat(pocket, len(chunk))
        batch = sample_batch(model.denoiser, diffusion, chunk.to(device), grid=grid, generator=generator,
                             device=device, on_step=lambda _: bar.update(1), pocket=context)
        for graph in batch.to_graphs():
            graph.name = f"sample_{len(out)}"
            graph.props = {"seed": seed, "steps": len(grid) - 1}
            if pocket is not None:
                graph.props["pocket"] = pocket.name
            if not diffusion.marginals.has_hydrogens:
                graph, error = add_hydrogens(graph)
                graph.props["hydrogens"] = "implied by RDKit, 3D from the heavy atoms" if error is None else "none"
            out.append(graph)
    bar.close()
    return out
