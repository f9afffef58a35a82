"""Fragment inpainting: molecules that contain a given fragment, fixed in place (RePaint, as in DiffSBDD).

The fragment's F atoms are atoms 0..F-1 of every sampled molecule. Everything here is RePaint's three
moves, on the diffusion's own maths (as diffusers' ``RePaintScheduler``):

* noise the fragment: G copies of it are noised to step k by :meth:`MolecularDiffusion.noise`;
* merge by mask: the fixed atoms of the sampled state (coordinates, atom types, charges, extra atom
  features, the bonds among them) are replaced by the noised copies; bonds between a fixed and a free
  atom are always the model's;
* step: RePaint's resampling (``resamplings`` = u > 1) redoes each jump t -> s u times: the merged x_s
  is noised back to t (:meth:`MolecularDiffusion.renoise`, q(x_t | x_s)), jumped again
  (:meth:`MolecularDiffusion.step`) and merged, so the free atoms adapt to the fixed ones (u - 1 extra
  network calls per jump).

:meth:`Inpainter.initial` merges the fragment at step T into x_T; the :class:`Inpainter` step hook merges
it at s after every jump, and merges the clean fragment into the step's clean estimate, so later hooks
(guidance) score molecules that hold the fragment. Coordinates, in the two frames of :class:`MolBatch`:

* centred (no pocket): a fixed position of a fragment means nothing in the zero centre-of-mass frame,
  so the noised (centred) copy is placed at the centre of the fixed atoms in the sampled state and the
  molecule is centred again; at s = 0 the molecule is translated so the fragment sits exactly at its
  input coordinates.
* pocket (``state.pocket`` set): the receptor's frame, noised around the pocket centre; at s = 0 the
  fragment is at its input coordinates and nothing else moves.

Measured with the shipped heavy-atom QM9 model, 50 jumps: molecules valid, connected and containing a
benzene fragment 0.55 / 0.79 / 0.95 with u = 1 / 3 / 10 (0.19 / 0.58 with u = 1 / 10 for QM9's O=C1CCN1);
with u = 1, about 1 in 128 molecules has two atoms closer than 0.5 A. Shape symbols: N atoms, G graphs,
F fragment atoms, P atom pairs i < j.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch import Tensor

from molgen.chem.molgraph import MolBatch, MolGraph
from molgen.chem.vocab import ATOM_TYPES, BOND_TYPES, MIN_CHARGE
from molgen.diffusion.gaussian import remove_mean
from molgen.diffusion.process import MolecularDiffusion, graph_mean, upper_pairs
from molgen.diffusion.reverse import StepContext
from molgen.errors import MolgenInputError, check_regular_file
from molgen.generate.options import Fragment

AROMATIC = BOND_TYPES.index("aromatic")


@dataclass(frozen=True)
class FixedFragment:
    """The F atoms to keep, checked against a model: ``graph`` (input coordinates, vocabulary indices,
    bonds i < j) and its ``source`` (for messages)."""

    graph: MolGraph
    source: str

    @property
    def num_atoms(self) -> int:
        return self.graph.num_atoms

    @classmethod
    def load(cls, fragment: Fragment, diffusion: MolecularDiffusion) -> FixedFragment:
        """The fragment of a :class:`~molgen.generate.options.Fragment` option (an SDF path or a MolGraph)."""
        if isinstance(fragment.source, MolGraph):
            return cls.from_graph(fragment.source, diffusion)
        return cls.from_sdf(fragment.source, diffusion)

    @classmethod
    def from_sdf(cls, path: str | Path, diffusion: MolecularDiffusion) -> FixedFragment:
        """The first record of an SDF file, checked against the model (:meth:`from_graph`).

        Atoms with implicit hydrogens keep them open: generated atoms may bond there. Aromatic
        bonds are kekulised for a model trained on Kekulé graphs.
        """
        from rdkit import Chem

        from molgen.chem.featurize import FeaturizeError, featurize_mol
        from molgen.chem.sdf_records import iter_sdf_blocks, mol_from_sdf_block
        from molgen.chem.vocab import VocabularyError

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
    def from_graph(cls, graph: MolGraph, diffusion: MolecularDiffusion, source: str = "fragment") -> FixedFragment:
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
                                   "(load it with FixedFragment.from_sdf)")


def fragment_atom_counts(diffusion: MolecularDiffusion, fragment: FixedFragment, num: int, atoms: int | None = None,
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


class Inpainter:
    """``initial`` and :class:`~molgen.diffusion.reverse.StepHook` keeping ``fragment`` as atoms 0..F-1 of
    every molecule, with RePaint's ``resamplings`` passes per jump (module docstring)."""

    def __init__(self, diffusion: MolecularDiffusion, fragment: FixedFragment, resamplings: int = 1) -> None:
        if resamplings < 1:
            raise ValueError(f"resamplings must be >= 1, got {resamplings}")
        self.diffusion, self.fragment, self.resamplings = diffusion, fragment, resamplings

    def initial(self, state: MolBatch, generator: torch.Generator | None = None) -> MolBatch:
        """x_T with the fragment noised to step T in atoms 0..F-1 of every molecule."""
        return self.merge(state, self.diffusion.num_steps, generator)

    def __call__(self, context: StepContext) -> None:
        """Merge the fragment at s into x_s, redo the jump u - 1 times, merge the clean fragment into x0."""
        c, d = context, self.diffusion
        c.state = self.merge(c.state, c.s, c.generator)
        for _ in range(self.resamplings - 1):
            noisy = d.renoise(c.state, c.steps(c.s), c.steps(c.t), c.generator)
            x_s, c.x0 = d.step(c.model, noisy, c.steps(c.t), c.steps(c.s), c.generator)
            c.state = self.merge(x_s, c.s, c.generator)
        c.x0 = self.merge(c.x0, 0)

    def merge(self, state: MolBatch, k: int, generator: torch.Generator | None = None) -> MolBatch:
        """``state`` with its fixed atoms, their classes and the bonds among them taken from the fragment
        noised to step k (the fragment itself at k = 0, no random draw)."""
        fixed = self._fixed_atoms(state)  # [G F]
        g, batch = state.num_graphs, state.batch
        known = MolBatch.from_graphs([self.fragment.graph] * g).to(state.pos.device)
        known = replace(known, pos=known.pos.to(state.pos.dtype), pocket=state.pocket)
        if k > 0:
            known = self.diffusion.noise(known, torch.full((g,), k, dtype=torch.long, device=state.pos.device),
                                         generator)
        pos = state.pos.clone()
        if state.pocket is not None:
            pos[fixed] = known.pos
        elif k == 0:  # translate the molecule so the fragment's centre is its input centre
            pos = pos + graph_mean(known.pos - state.pos[fixed], batch[fixed], g)[batch]
            pos[fixed] = known.pos
        else:  # the centred copy at the fixed atoms' centre, then the molecule centred again
            pos[fixed] = graph_mean(state.pos[fixed], batch[fixed], g)[batch[fixed]] + known.pos
            pos = remove_mean(pos, batch, g)
        classes = {"atom_types": state.atom_types.clone(), "charges": state.charges.clone(),
                   **{name: getattr(state, name).clone() for name in self.diffusion.extras}}
        for name, values in classes.items():
            values[fixed] = getattr(known, name).to(values.dtype)
        pairs = upper_pairs(state)  # [2, P]
        bonds = state.edge_bond_types(pairs)  # [P]
        local = torch.arange(state.pos.shape[0], device=pos.device) - state.ptr[batch]  # [N] index in its molecule
        inner = (local[pairs] < self.fragment.num_atoms).all(0)  # [P] both atoms fixed
        bonds[inner] = known.edge_bond_types(upper_pairs(known))  # the same pairs (i, j), in the same order
        bonded = bonds > 0
        return replace(state, pos=pos, bond_index=pairs[:, bonded], bond_types=bonds[bonded], **classes)

    def _fixed_atoms(self, state: MolBatch) -> Tensor:
        """Global indices [G F] of atoms 0..F-1 of every molecule."""
        f, sizes = self.fragment.num_atoms, state.num_atoms
        if bool((sizes <= f).any()):
            raise MolgenInputError(f"{self.fragment.source}: the fragment has {f} atoms; every molecule needs more, "
                                   f"got one of {int(sizes.min())}")
        return state.ptr[:-1].repeat_interleave(f) + torch.arange(f, device=state.ptr.device).repeat(state.num_graphs)
