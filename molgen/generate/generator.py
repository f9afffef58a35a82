"""A trained generator and the sampling job it runs: ``load(ckpt)`` -> ``MoleculeGenerator.sample(options)``.

``load(path)`` reads a checkpoint through :func:`molgen.safe_load.load_checkpoint` (nothing in the file
can run code) and needs nothing from :mod:`molgen.training`; both build their networks with
:mod:`molgen.model`. :func:`generate` runs one :class:`~molgen.generate.options.SampleOptions`: its
checks that need the model first, then the atom counts, then the molecules in chunks of
``batch_size``, each chunk with its own generator and its own step hooks (fragment, then guide).
RDKit is imported only where it is used (hydrogens, scores, fragment files): plain sampling runs without it.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from molgen.chem.molgraph import MolGraph
from molgen.chem.pocket_batch import PocketBatch
from molgen.config.load import config_from_dict
from molgen.config.schema import ExperimentConfig
from molgen.diffusion.marginals import Marginals
from molgen.diffusion.process import MolecularDiffusion
from molgen.diffusion.reverse import fixed_or_sampled_atoms, sample_batch, step_schedule
from molgen.errors import UnsafeFileError
from molgen.generate.inpaint import FixedFragment, Inpainter, fragment_atom_counts
from molgen.generate.options import SampleOptions
from molgen.generate.placement import placement_for
from molgen.generate.steering import SteeringRun
from molgen.model import build_denoiser, build_diffusion
from molgen.safe_load import CHECKPOINT_ERROR, load_checkpoint, load_fitting_weights

EMA_PREFIX = "ema.module."


@dataclass
class MoleculeGenerator:
    """What sampling needs from a checkpoint: the EMA denoiser, the diffusion, the config, the device."""

    denoiser: nn.Module
    diffusion: MolecularDiffusion
    config: ExperimentConfig
    device: torch.device

    def sample(self, options: SampleOptions | int, **fields) -> list[MolGraph]:
        """:func:`generate` of ``options``, or of ``SampleOptions(num=options, **fields)`` when given the
        number of molecules (``model.sample(100, steps=50, seed=1)``). Same seed and batch size, same molecules."""
        if isinstance(options, int):
            options = SampleOptions(num=options, **fields)
        elif fields:
            raise TypeError(f"sample(options) takes no more options: {', '.join(fields)} belong in SampleOptions")
        return generate(self, options)

    @property
    def pocket_conditioned(self) -> bool:
        """Whether the model generates into a pocket (``SampleOptions.pocket`` then required)."""
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
    except ValueError as exc:  # marginals of the wrong length for the config's vocabulary
        raise UnsafeFileError(f"{path}: {CHECKPOINT_ERROR} ({exc})") from None
    denoiser = build_denoiser(config)
    missing, unexpected = load_fitting_weights(denoiser, weights, path, "the model of its own config")
    if missing or unexpected:
        raise UnsafeFileError(f"{Path(path)}: weights do not fit the model of its own config "
                              f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
    device = torch.device(device)
    return MoleculeGenerator(denoiser.to(device).eval(), build_diffusion(config, marginals), config, device)


def generate(model: MoleculeGenerator, options: SampleOptions) -> list[MolGraph]:
    """``options.num`` molecules from ``model`` (:class:`~molgen.generate.options.SampleOptions` says what each
    option does).

    A pocket-conditioned model generates inside ``options.pocket``, in the receptor's frame, with sizes drawn
    from the training pairs of similar pocket size unless ``atoms`` is given. Any other model's molecules
    are placed there, each in its best-fitting rigid pose (:mod:`molgen.generate.placement`; ``--guide fit``
    steers towards molecules that fit), sizes drawn from its training data. A fragment is kept as atoms
    0..F-1 of every molecule (:mod:`molgen.generate.inpaint`); guidance, scores and filtering are
    :mod:`molgen.generate.steering`'s. Each molecule is named ``sample_<k>``, k its place in the job.

    A model trained on heavy atoms only (no H in its marginals) generates heavy-atom graphs; with
    ``options.hydrogens`` each is completed with its implied hydrogens, placed in 3D
    (:func:`complete_hydrogens`).
    """
    diffusion, device, o = model.diffusion, model.device, options
    grid = step_schedule(diffusion.num_steps, o.jumps(model))  # [jumps + 1], T ... 0
    heavy = not diffusion.marginals.has_hydrogens
    pocket = None if o.pocket is None else o.pocket.graph
    conditioned = pocket is not None and model.pocket_conditioned
    placement = None if pocket is None or conditioned else placement_for(o.pocket)
    fragment = None
    if o.fragment is not None:
        fragment = FixedFragment.load(o.fragment, diffusion)
    run = SteeringRun.build(o.guidance, diffusion.num_steps, heavy, o.pocket, placement)
    counts = _atom_counts(diffusion, o, fragment, conditioned)  # [num]: molecule k has counts[k] atoms
    # on the dense paths (every molecule of a batch padded to the largest) batches group similar sizes
    dense = getattr(model.denoiser, "path", "reference") != "reference"  # any nn.Module may denoise
    order = torch.argsort(counts, stable=True) if dense else torch.arange(len(counts))
    chunks = list(torch.split(counts[order], o.batch_size))
    jumps = len(grid) - 1
    # the bar counts molecule-jumps, whole numbers (a chunk of m molecules advances it by m per jump), so it
    # ends exactly at its total; the text counts finished molecules (a chunk's all finish at its last jump)
    bar = tqdm(total=o.num * jumps, disable=not o.progress, desc=_finished(0, o.num), bar_format=
               "{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}]")
    props = {"seed": o.seed, "steps": jumps, **({} if pocket is None else {"pocket": pocket.name}),
             **({} if fragment is None else {"fixed_atoms": fragment.num_atoms, "fragment": fragment.source})}
    out: list[MolGraph] = []
    for c, chunk in enumerate(chunks):
        generator = torch.Generator(device).manual_seed(o.seed * 1_000_003 + c)
        context = PocketBatch.repeat(pocket, len(chunk)) if conditioned else None
        hooks, initial = run.hooks(c), None
        if fragment is not None:  # the fragment goes back in place first, then the guide scores and resamples
            inpainter = Inpainter(diffusion, fragment, o.fragment.resamplings)
            hooks, initial = [inpainter, *hooks], functools.partial(inpainter.initial, generator=generator)
        size = len(chunk)
        batch = sample_batch(model.denoiser, diffusion, chunk.to(device), grid=grid, generator=generator,
                             device=device, on_step=lambda _, n=size: bar.update(n), pocket=context,
                             hooks=hooks, initial=initial)
        bar.set_description_str(_finished(len(out) + size, o.num), refresh=False)
        bar.refresh()
        graphs = batch.to_graphs()
        for k, graph in enumerate(graphs, start=len(out)):
            graph.name, graph.props = f"sample_{int(order[k])}", dict(props)
        run.score_chunk(graphs)  # with a placement, each at its pose (remembered), which the next line takes
        graphs = graphs if placement is None else [placement.placed(g) for g in graphs]
        out.extend(complete_hydrogens(g) if heavy and o.hydrogens else g for g in graphs)
    bar.close()
    return run.finish(out, torch.argsort(order).tolist())  # the job's order: sample_k (counts[k] atoms) at k


def _finished(done: int, num: int) -> str:
    """The progress bar's text: finished molecules of the job."""
    return f"sampling {done}/{num} molecules"


def _atom_counts(diffusion: MolecularDiffusion, options: SampleOptions, fragment: FixedFragment | None,
                 conditioned: bool = False) -> torch.Tensor:
    """[num] molecule sizes: ``atoms``, else (pocket-``conditioned``) drawn from the training pairs of similar
    pocket size, else from the training histogram; with a fragment of F atoms, every size is > F."""
    num, atoms, sizes = options.num, options.atoms, torch.Generator().manual_seed(options.seed)
    if conditioned and atoms is None:
        counts = diffusion.marginals.sample_num_atoms_for_pocket(options.pocket.graph.num_atoms, num, sizes)
        counts = counts.clamp(min=1)
        return counts if fragment is None else counts.clamp(min=fragment.num_atoms + 1)
    if fragment is not None:
        return fragment_atom_counts(diffusion, fragment, num, atoms, sizes)
    return fixed_or_sampled_atoms(diffusion, num, atoms, sizes)


def complete_hydrogens(graph: MolGraph) -> MolGraph:
    """A heavy-atom graph with its implied hydrogens in 3D (RDKit), or itself when RDKit cannot sanitise it;
    the ``hydrogens`` property says which."""
    from molgen.chem.hydrogens import add_hydrogens

    full, error = add_hydrogens(graph)
    full.props["hydrogens"] = "implied by RDKit, 3D from the heavy atoms" if error is None else "none"
    return full
