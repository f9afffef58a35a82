"""Fragment inpainting: molecules that contain a given fragment, fixed in place (RePaint, as in DiffSBDD).

The fragment's F atoms are atoms 0..F-1 of every sampled molecule. :meth:`FixedFragmentInpainter.initial`
puts the fragment noised to step T there; after every reverse jump t -> s the
:class:`~molgen.diffusion.sampler.StepHook` replaces them (coordinates, atom types, charges, extra atom
features, the bonds among them) by the fragment noised afresh to step s. Bonds between a fixed and a
free atom are always the model's. Coordinates, in the two modes of :class:`MolBatch`:

* centred (no pocket): the noised fragment x_s = sqrt(a_s) (x0 - mean x0) + sqrt(1 - a_s) eps is moved
  so its centre is the centre of the fixed atoms in the sampled state, so the molecule stays centred;
  at s = 0 the whole molecule is translated so the fragment sits exactly at its input coordinates.
* pocket (``state.pocket`` set): coordinates are in the receptor frame, noised around the pocket centre
  o: x_s = o + sqrt(a_s) (x0 - o) + sqrt(1 - a_s) eps; at s = 0 the fragment is put at its input
  coordinates, nothing else moves.

RePaint's resampling (``resamplings`` = u > 1, needs ``model``) redoes each jump u times: the merged
x_s is noised forward to t with q(x_t | x_s) and denoised again, so the free atoms adapt to the
fixed ones; it costs u network calls per jump. Measured with the shipped heavy-atom QM9 model, 50 jumps:
molecules valid, connected and containing a benzene fragment 0.55 / 0.79 / 0.95 with u = 1 / 3 / 10
(0.19 / 0.58 with u = 1 / 10 for QM9's O=C1CCN1); with u = 1, about 1 in 128 molecules has two atoms
closer than 0.5 A. Shape symbols: N atoms, G graphs, F fragment atoms,
P atom pairs i < j.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from rdkit import Chem
from torch import Tensor

from molgen.chem.featurize import FeaturizeError, featurize_mol
from molgen.chem.molgraph import MolBatch, MolGraph
from molgen.chem.sdf_records import iter_sdf_blocks, mol_from_sdf_block
from molgen.chem.vocab import ATOM_TYPES, BOND_TYPES, MIN_CHARGE, VocabularyError, charge_to_index, index_to_charge
from molgen.diffusion.categorical import CategoricalDiffusion, sample_classes
from molgen.diffusion.gaussian import remove_mean
from molgen.diffusion.process import Denoiser, MolecularDiffusion, graph_mean, pocket_origin, upper_pairs
from molgen.diffusion.sampler import sample_batch
from molgen.diffusion.schedules import CosineSchedule
from molgen.errors import MolgenInputError, check_regular_file

AROMATIC = BOND_TYPES.index("aromatic")


@dataclass(frozen=True)
class Fragment:
    """The F atoms to keep: ``graph`` (input coordinates, vocabulary indices, bonds i < j) and its ``source``."""

    graph: MolGraph
    source: str

    @property
    def num_atoms(self) -> int:
        return self.graph.num_atoms

    @classmethod
    def from_sdf(cls, path: str | Path, diffusion: MolecularDiffusion) -> Fragment:
        """The first record of an SDF file, checked against the model (:meth:`from_graph`).

        Atoms with implicit hydrogens keep them open: generated atoms may bond there. Aromatic
        bonds are kekulised for a model trained on Kekulé graphs.
        """
        path = Path(path)
        try:
            check_regular_file(path, "fragment SDF file")
        except FileNotFoundError:
            raise MolgenInputError(f"{path}: fragment file not found") from None
        index, block = next(iter_sdf_blocks(path), (0, ""))
        if not block.strip():
            raise MolgenInputError(f"{path}: empty file or empty first record; expected the fragment as its "
                                   "first SDF record")
        mol = Chem.Mol(mol_from_sdf_block(block, str(path), index, vocabulary=True))
        for atom in mol.GetAtoms():  # open valences: where generated atoms attach
            atom.SetNoImplicit(True)
        mol.UpdatePropertyCache(strict=False)
        kekulize = float(diffusion.marginals.bonds[AROMATIC]) == 0.0
        try:
            graph = featurize_mol(mol, kekulize=kekulize, features=bool(diffusion.extras))
        except (FeaturizeError, VocabularyError) as exc:
            raise MolgenInputError(f"{path}, record {index}: {exc}") from None
        return cls.from_graph(graph, diffusion, str(path))

    @classmethod
    def from_graph(cls, graph: MolGraph, diffusion: MolecularDiffusion, source: str = "fragment") -> Fragment:
        """``graph`` (hydrogens dropped for a heavy-atom model) if the model can generate each of its atoms/bonds."""
        if not diffusion.marginals.has_hydrogens:
            graph = graph.heavy_atoms()
        try:
            graph.validate()
        except ValueError as exc:
            raise MolgenInputError(f"{source}: {exc}") from None
        if graph.num_atoms == 0:
            raise MolgenInputError(f"{source}: the fragment has no atoms the model generates (heavy atoms)")
        _check_support(graph, diffusion, source)
        return cls(graph, source)


def _check_support(graph: MolGraph, diffusion: MolecularDiffusion, source: str) -> None:
    """Raise MolgenInputError naming the first element, charge, bond or feature the model never generates."""
    m = diffusion.marginals
    known = ", ".join(ATOM_TYPES[i] for i in torch.nonzero(m.atom_types > 0).flatten().tolist())
    for t in graph.atom_types.tolist():
        if float(m.atom_types[t]) == 0.0:
            raise MolgenInputError(f"{source}: the fragment has element {ATOM_TYPES[t]}, which the model "
                                   f"cannot generate (it generates {known})")
    for q in graph.charges.tolist():
        if float(m.charges[q - MIN_CHARGE]) == 0.0:
            raise MolgenInputError(f"{source}: the fragment has formal charge {q:+d}, which the model cannot generate")
    for b in graph.bond_types.tolist():
        if float(m.bonds[b]) == 0.0:
            raise MolgenInputError(f"{source}: the fragment has a {BOND_TYPES[b]} bond, which the model cannot "
                                   "generate (kekulise it)")
    for name, cat in diffusion.extras.items():
        value = getattr(graph, name)
        if value is None or bool((cat.marginal[value.long()] == 0).any()):
            raise MolgenInputError(f"{source}: the fragment lacks {name} values the model generates "
                                   "(load it with Fragment.from_sdf)")


def fragment_atom_counts(diffusion: MolecularDiffusion, fragment: Fragment, num: int, atoms: int | None = None,
                         generator: torch.Generator | None = None) -> Tensor:
    """[num] molecule sizes > F: all ``atoms`` if given, else drawn from the training histogram given n > F."""
    f = fragment.num_atoms
    if atoms is not None:
        if atoms <= f:
            raise MolgenInputError(f"{fragment.source}: the fragment has {f} atoms; --atoms must be larger, "
                                   f"got {atoms}")
        return torch.full((num,), int(atoms), dtype=torch.long)
    hist = diffusion.marginals.num_atoms.clone()
    hist[: f + 1] = 0.0
    if float(hist.sum()) <= 0.0:
        largest = int(torch.nonzero(diffusion.marginals.num_atoms).max())
        raise MolgenInputError(f"{fragment.source}: the fragment has {f} atoms, the model's molecules at most "
                               f"{largest}; pass --atoms larger than {f}")
    return torch.multinomial((hist / hist.sum()).float(), num, replacement=True, generator=generator)


class FixedFragmentInpainter:
    """``initial`` and StepHook keeping ``fragment`` as atoms 0..F-1 of every molecule (module docstring).

    Args:
        diffusion: the model's diffusion (schedules and marginals).
        fragment: the atoms to keep (:class:`Fragment`).
        model: the denoiser, needed only for ``resamplings`` > 1.
        resamplings: RePaint's u; each jump is done u times (u - 1 extra network calls).
    """

    def __init__(self, diffusion: MolecularDiffusion, fragment: Fragment, model: Denoiser | None = None,
                 resamplings: int = 1) -> None:
        if resamplings < 1 or (resamplings > 1 and model is None):
            raise ValueError(f"resamplings must be >= 1 and > 1 only with a model, got {resamplings}")
        self.diffusion, self.fragment, self.model, self.resamplings = diffusion, fragment, model, resamplings
        self.source = fragment.source

    # ---------------------------------------------------------------- sampler interface
    def initial(self, state: MolBatch, generator: torch.Generator | None = None) -> MolBatch:
        """x_T with the fragment noised to step T in atoms 0..F-1 of every molecule."""
        return self._merge(state, self.diffusion.num_steps, generator)

    def __call__(self, state: MolBatch, x0: MolBatch, t: int, s: int,
                 generator: torch.Generator | None = None) -> MolBatch:
        """StepHook: the fragment at step s in x_s (RePaint resampling first when u > 1)."""
        state = self._merge(state, s, generator)
        for _ in range(self.resamplings - 1):
            state = self._resample(state, t, s, generator)
        return state

    # ---------------------------------------------------------------- one replacement
    def _merge(self, state: MolBatch, k: int, generator: torch.Generator | None) -> MolBatch:
        """``state`` with the fixed atoms, their classes and the bonds among them taken from the fragment at k."""
        fixed, local = self._fixed_atoms(state)  # [G F], [G F]
        d, frag = self.diffusion, self.fragment.graph.to(state.pos.device)
        pos = self._positions(state, fixed, local, k, generator)
        atom_types, charges = state.atom_types.clone(), state.charges.clone()
        atom_types[fixed] = _noised(d.atoms, frag.atom_types[local], k, generator)
        charges[fixed] = index_to_charge(_noised(d.charges, charge_to_index(frag.charges[local]), k, generator))
        extras = {}
        for name, cat in d.extras.items():
            values = getattr(state, name).clone()
            values[fixed] = _noised(cat, getattr(frag, name)[local].long(), k, generator).to(values.dtype)
            extras[name] = values
        pairs = upper_pairs(state)  # [2, P]
        bonds = state.edge_bond_types(pairs)  # [P]
        atom_local = torch.arange(state.pos.shape[0], device=pos.device) - state.ptr[state.batch]  # [N]
        inner = (atom_local[pairs] < self.fragment.num_atoms).all(0)  # [P] both atoms fixed
        dense = frag.dense_bonds()  # [F, F]
        bonds[inner] = _noised(d.bonds, dense[atom_local[pairs[0, inner]], atom_local[pairs[1, inner]]], k, generator)
        bonded = bonds > 0
        return replace(state, pos=pos, atom_types=atom_types, charges=charges, bond_index=pairs[:, bonded],
                       bond_types=bonds[bonded], **extras)

    def _positions(self, state: MolBatch, fixed: Tensor, local: Tensor, k: int,
                   generator: torch.Generator | None) -> Tensor:
        """[N, 3] coordinates with the fixed atoms at step k (exactly the input at k = 0, centred mode translated)."""
        g, batch = state.num_graphs, state.batch
        x0 = self.fragment.graph.pos.to(state.pos)[local]  # [G F, 3]
        fixed_graph = batch[fixed]  # [G F]
        pocket = state.pocket
        pos = state.pos.clone()
        if k == 0:
            if pocket is None:  # move the molecule so the fragment's centre is its input centre
                shift = graph_mean(x0 - state.pos[fixed], fixed_graph, g)  # [G, 3]
                pos = pos + shift[batch]
            pos[fixed] = x0
            return pos
        a = _signal(self.diffusion.coords.schedule, k)  # alpha_bar
        eps = torch.randn(x0.shape, dtype=x0.dtype, device=x0.device, generator=generator)  # [G F, 3]
        if pocket is None:
            centre = graph_mean(state.pos[fixed], fixed_graph, g)[fixed_graph]  # [G F, 3]
            x0 = remove_mean(x0, fixed_graph, g)
            pos[fixed] = centre + math.sqrt(a) * x0 + math.sqrt(1.0 - a) * remove_mean(eps, fixed_graph, g)
            return remove_mean(pos, batch, g)
        o = pocket_origin(state)[fixed]  # [G F, 3]
        pos[fixed] = o + math.sqrt(a) * (x0 - o) + math.sqrt(1.0 - a) * eps
        return pos

    def _fixed_atoms(self, state: MolBatch) -> tuple[Tensor, Tensor]:
        """Global indices [G F] of atoms 0..F-1 of every molecule and their fragment indices [G F]."""
        f, sizes = self.fragment.num_atoms, state.num_atoms
        if bool((sizes <= f).any()):
            raise MolgenInputError(f"{self.source}: the fragment has {f} atoms; every molecule needs more, "
                                   f"got one of {int(sizes.min())}")
        local = torch.arange(f, device=state.ptr.device).repeat(state.num_graphs)  # [G F]
        return state.ptr[:-1].repeat_interleave(f) + local, local

    # ---------------------------------------------------------------- RePaint resampling
    def _resample(self, state: MolBatch, t: int, s: int, generator: torch.Generator | None) -> MolBatch:
        """Noise x_s forward to t with q(x_t | x_s), jump back to s and put the fragment in again."""
        d, g, batch = self.diffusion, state.num_graphs, state.batch
        pos = state.pos
        a = _signal(d.coords.schedule, t) / _signal(d.coords.schedule, s)  # alpha_bar_t / alpha_bar_s
        eps = torch.randn(pos.shape, dtype=pos.dtype, device=pos.device, generator=generator)
        pocket = state.pocket
        if pocket is None:  # x_s at s = 0 was moved to the fragment's frame: back to the centred subspace
            pos = math.sqrt(a) * remove_mean(pos, batch, g) + math.sqrt(1.0 - a) * remove_mean(eps, batch, g)
        else:
            o = pocket_origin(state)  # [N, 3]
            pos = o + math.sqrt(a) * (pos - o) + math.sqrt(1.0 - a) * eps
        pairs = upper_pairs(state)
        bonds = _forward(d.bonds, state.edge_bond_types(pairs), t, s, generator)
        extras = {name: _forward(cat, getattr(state, name).long(), t, s, generator).to(getattr(state, name).dtype)
                  for name, cat in d.extras.items()}
        charges = index_to_charge(_forward(d.charges, charge_to_index(state.charges), t, s, generator))
        bonded = bonds > 0
        noisy = replace(state, pos=pos, atom_types=_forward(d.atoms, state.atom_types, t, s, generator),
                        charges=charges, bond_index=pairs[:, bonded], bond_types=bonds[bonded], **extras)
        k_t = torch.full((g,), t, dtype=torch.long, device=pos.device)
        k_s = torch.full((g,), s, dtype=torch.long, device=pos.device)
        post = d.posterior(self.model, noisy, k_t, k_s)
        return self._merge(d.sample_posterior(post, noisy, generator), s, generator)



def _signal(schedule: CosineSchedule, k: int) -> float:
    """alpha_bar at the integer step k (computed in float64)."""
    return float(schedule.signal(torch.tensor([k]))[0])


def _noised(cat: CategoricalDiffusion, x0: Tensor, k: int, generator: torch.Generator | None) -> Tensor:
    """x0 [M] classes noised to step k (x0 itself at k = 0): [M]."""
    if k == 0 or x0.numel() == 0:
        return x0
    return cat.noise(x0, torch.full_like(x0, k), generator)


def _forward(cat: CategoricalDiffusion, x_s: Tensor, t: int, s: int, generator: torch.Generator | None) -> Tensor:
    """x_t ~ q(x_t | x_s) = a_ts onehot(x_s) + (1 - a_ts) m for classes x_s [M]: [M]."""
    a = _signal(cat.schedule, t) / _signal(cat.schedule, s)
    onehot = torch.nn.functional.one_hot(x_s, cat.num_classes).to(torch.float64)
    return sample_classes(a * onehot + (1.0 - a) * cat.marginal.to(x_s.device), generator)


def sample_with_fragment(model: Denoiser, diffusion: MolecularDiffusion, fragment: Fragment, num_atoms: Tensor,
                         grid: list[int] | None = None, generator: torch.Generator | None = None,
                         device: torch.device | str = "cpu", on_step: Callable[[int], None] | None = None,
                         resamplings: int = 1) -> MolBatch:
    """:func:`~molgen.diffusion.sampler.sample_batch` of num_atoms [G] (> F) molecules keeping ``fragment``."""
    inpainter = FixedFragmentInpainter(diffusion, fragment, model=model, resamplings=resamplings)
    return sample_batch(model, diffusion, num_atoms, grid=grid, generator=generator, device=device,
                        on_step=on_step, hooks=[inpainter], initial=functools.partial(inpainter.initial,
                                                                                      generator=generator))
