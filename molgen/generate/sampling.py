"""The reverse process run for a user: validate arguments, draw atom counts, sample in batches.

Arguments are checked before any work (``num``, ``batch_size`` >= 1, ``atoms`` in
1..:data:`MAX_ATOMS`, ``steps`` in 1..the trained number of steps); the jump schedule is
computed once (:func:`molgen.diffusion.sampler.step_schedule`) and drives both the sampler and
the progress bar.
"""

from __future__ import annotations

import functools
from pathlib import Path

import torch
from tqdm import tqdm

from molgen.chem.hydrogens import add_hydrogens
from molgen.chem.molgraph import MolGraph
from molgen.chem.pocket_batch import PocketBatch
from molgen.diffusion.sampler import fixed_or_sampled_atoms, sample_batch, step_schedule
from molgen.errors import MolgenInputError, check_positive
from molgen.generate.inpaint import FixedFragmentInpainter, Fragment, fragment_atom_counts
from molgen.generate.steering import Steering, SteeringRun

#: Most atoms per sampled molecule (``--atoms``): every pair of atoms is an edge of the denoiser, and the
#: datasets molgen trains on hold at most a few hundred atoms per molecule.
MAX_ATOMS = 999


def generate(model, num: int, steps: int | None = None, atoms: int | None = None, seed: int = 0,
             batch_size: int = 64, progress: bool = False, pocket: MolGraph | None = None,
             receptor: str | Path | None = None, steering: Steering | None = None,
             fix: str | Path | MolGraph | None = None, resamplings: int = 10) -> list[MolGraph]:
    """``num`` molecules from a :class:`~molgen.generate.model.MoleculeGenerator`.

    A pocket-conditioned model needs ``pocket`` (:func:`molgen.generate.pocket.pocket_from_pdb`): the
    molecules are generated inside it, in the receptor's frame, with sizes drawn from the training
    pairs of similar pocket size unless ``atoms`` is given; ``receptor`` is its PDB (for Vina scores).
    ``steering`` guides, scores and filters (:mod:`molgen.generate.steering`). ``fix`` (an SDF path
    or a MolGraph, in the output frame) is kept as atoms 0..F-1 of every molecule, its atoms and bonds
    fixed, the rest generated around it (RePaint with ``resamplings`` passes per jump,
    :mod:`molgen.generate.inpaint`).

    A model trained on heavy atoms only (no H in its marginals) generates heavy-atom graphs; each is
    completed with its implied hydrogens, placed in 3D (:func:`molgen.chem.hydrogens.add_hydrogens`);
    one RDKit cannot sanitise stays a heavy-atom graph (``hydrogens`` property ``none``).
    """
    diffusion, device = model.diffusion, model.device
    grid = _checked_grid(model, num, steps, atoms, batch_size, pocket)  # [jumps + 1], T ... 0
    heavy = not diffusion.marginals.has_hydrogens
    run = SteeringRun.build(steering or Steering(), heavy, pocket, receptor)
    fragment = _fragment(fix, diffusion, resamplings)
    chunks = list(torch.split(_atom_counts(diffusion, num, atoms, pocket, seed, fragment), batch_size))
    bar = tqdm(total=len(chunks) * (len(grid) - 1), disable=not progress, desc="sampling", unit="step")
    out: list[MolGraph] = []
    for c, chunk in enumerate(chunks):
        generator = torch.Generator(device).manual_seed(seed * 1_000_003 + c)
        context = None if pocket is None else PocketBatch.repeat(pocket, len(chunk))
        hooks, initial = list(run.hooks), None
        if fragment is not None:  # the fragment goes back in place first, then the guide may resample
            inpainter = FixedFragmentInpainter(diffusion, fragment, model.denoiser, resamplings)
            hooks, initial = [inpainter, *hooks], functools.partial(inpainter.initial, generator=generator)
        batch = sample_batch(model.denoiser, diffusion, chunk.to(device), grid=grid, generator=generator,
                             device=device, on_step=lambda _: bar.update(1), pocket=context, hooks=hooks,
                             initial=initial)
        graphs = batch.to_graphs()
        for graph in graphs:
            graph.name = f"sample_{len(out)}"
            graph.props = {"seed": seed, "steps": len(grid) - 1,
                           **({} if pocket is None else {"pocket": pocket.name}),
                           **({} if fragment is None else {"fixed_atoms": fragment.num_atoms,
                                                           "fragment": fragment.source})}
        run.score_chunk(graphs)
        out.extend(_with_hydrogens(g) if heavy else g for g in graphs)
    bar.close()
    return run.finish(out)


def _checked_grid(model, num: int, steps: int | None, atoms: int | None, batch_size: int,
                  pocket: MolGraph | None) -> list[int]:
    """Validate the arguments before any work; return the jump schedule."""
    check_positive("--num", num)
    check_positive("--batch-size", batch_size)
    check_positive("--atoms", atoms, MAX_ATOMS)
    check_positive("--steps", steps, model.diffusion.num_steps)  # the trained number of steps is the most
    conditional = model.config.model.pocket_cutoff is not None
    if conditional != (pocket is not None):
        raise MolgenInputError("this checkpoint is pocket-conditioned: give --pocket PROTEIN.pdb with --ref-ligand "
                               "or --center" if conditional else "this checkpoint is not pocket-conditioned: "
                               "--pocket needs a model trained on pockets (e.g. configs/crossdocked.yaml)")
    return step_schedule(model.diffusion.num_steps, steps)


def _fragment(fix: str | Path | MolGraph | None, diffusion, resamplings: int) -> Fragment | None:
    if fix is None:
        return None
    check_positive("--resamplings", resamplings)
    if isinstance(fix, MolGraph):
        return Fragment.from_graph(fix, diffusion)
    return Fragment.from_sdf(fix, diffusion)


def _atom_counts(diffusion, num: int, atoms: int | None, pocket: MolGraph | None, seed: int,
                 fragment: Fragment | None = None) -> torch.Tensor:
    """[num] molecule sizes: ``atoms``, else drawn from the training pairs of similar pocket size, else
    from the training histogram; with a fragment of F atoms, every size is > F."""
    sizes = torch.Generator().manual_seed(seed)
    if pocket is not None and atoms is None:
        counts = diffusion.marginals.sample_num_atoms_for_pocket(pocket.num_atoms, num, sizes).clamp(min=1)
        return counts if fragment is None else counts.clamp(min=fragment.num_atoms + 1)
    if fragment is not None:
        return fragment_atom_counts(diffusion, fragment, num, atoms, sizes)
    return fixed_or_sampled_atoms(diffusion, num, atoms, sizes)


def _with_hydrogens(graph: MolGraph) -> MolGraph:
    full, error = add_hydrogens(graph)
    full.props["hydrogens"] = "implied by RDKit, 3D from the heavy atoms" if error is None else "none"
    return full
