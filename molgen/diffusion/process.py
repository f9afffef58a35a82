"""The joint diffusion over coordinates, atom types, charges, bonds and optional atom features.

``MolecularDiffusion`` never imports a network: it takes any callable
``model(batch: MolBatch, t: Tensor [G]) -> DenoiserOutput``-like object (with
``pos``, ``atom_logits``, ``charge_logits``, ``edge_index``, ``bond_logits``,
``extra_logits``) and turns it into a training loss or a reverse step.

Bonds are diffused on the upper triangle (pairs i < j of each molecule) and the
noisy molecule lists every non-"none" pair once, so they are mirrored by
construction. Shapes: N atoms, G graphs, P pairs i < j, E directed edges.

Frames: a batch without pocket has its coordinates centred per molecule (zero centre-of-mass
diffusion). A batch with ``pocket`` (pocket-conditioned generation) keeps the receptor's frame:
coordinates are noised around each complex's pocket centre o, x_t = o + sqrt(a)(x_0 - o) +
sqrt(1 - a) eps, so x_T ~ N(o, I) and the ligand's position in the pocket is learnt too.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import torch
import torch.nn.functional as F
from torch import Tensor

from molgen.chem.molgraph import MolBatch, offsets
from molgen.chem.pocket_batch import PocketBatch
from molgen.chem.vocab import charge_to_index, index_to_charge
from molgen.config.schema import DiffusionConfig
from molgen.diffusion.categorical import CategoricalDiffusion, sample_classes
from molgen.diffusion.gaussian import GaussianDiffusion, remove_mean
from molgen.diffusion.marginals import EXTRA_FEATURES, Marginals
from molgen.diffusion.schedules import CosineSchedule
from molgen.diffusion.weighting import snr_weight


class Denoiser(Protocol):
    def __call__(self, batch: MolBatch, t: Tensor) -> Any: ...


@dataclass
class Posterior:
    """Deterministic part of one reverse jump t -> s: what gets sampled."""

    coord_mean: Tensor  # [N, 3]
    coord_var: Tensor  # [N, 1]
    atom_probs: Tensor  # [N, num_atom_types]
    charge_probs: Tensor  # [N, num_charges]
    pairs: Tensor  # [2, P]
    bond_probs: Tensor  # [P, num_bond_types]
    extra_probs: dict[str, Tensor] = field(default_factory=dict)  # name -> [N, K]
    x0: MolBatch | None = None  # the network's clean-molecule estimate at t (most likely classes)


def upper_pairs(batch: MolBatch) -> Tensor:
    """[2, P] all pairs i < j within each molecule, sorted by (i, j)."""
    edges = batch.fully_connected_edges()
    return edges[:, edges[0] < edges[1]]


def pair_logits(edge_index: Tensor, bond_logits: Tensor, pairs: Tensor, num_atoms: int) -> Tensor:
    """Rows of bond_logits [E, K] for the pairs [2, P] (i < j), looked up by (i, j): -> [P, K]."""
    keys = edge_index[0] * num_atoms + edge_index[1]  # [E]
    order = torch.argsort(keys)
    wanted = pairs[0] * num_atoms + pairs[1]  # [P]
    pos = torch.searchsorted(keys[order], wanted).clamp(max=max(keys.numel() - 1, 0))
    if wanted.numel() and not bool((keys[order][pos] == wanted).all()):
        raise ValueError("model output edge_index does not contain every atom pair of the batch")
    return bond_logits[order[pos]]


def pocket_origin(batch: MolBatch) -> Tensor | None:
    """[N, 3] centre of each atom's pocket (the frame's origin), or None for a batch without pockets."""
    if batch.pocket is None:
        return None
    return batch.pocket.centres().to(batch.pos.dtype)[batch.batch]


def graph_mean(values: Tensor, graph: Tensor, num_graphs: int) -> Tensor:
    """Mean of values [M, ...] per graph (graph [M]); graphs without items get 0: -> [G, ...]."""
    total = torch.zeros(num_graphs, *values.shape[1:], dtype=values.dtype, device=values.device)
    total.index_add_(0, graph, values)
    count = torch.bincount(graph, minlength=num_graphs).clamp(min=1).to(values.dtype)
    return total / count.view(-1, *([1] * (values.dim() - 1)))


class MolecularDiffusion:
    """Gaussian coordinates + marginal categorical atoms/charges/bonds/extras, EQGAT-diff style.

    Args:
        config: the ``diffusion`` section (schedules' T and nu, SNR clamp, loss weights), read by name.
        marginals: the training statistics (priors of every categorical modality, atom counts).
        extra_features: names of the optional atom features that are diffused too (the model's
            ``extra_atom_features`` switches them on); each needs its marginal in ``marginals``.
    """

    def __init__(self, config: DiffusionConfig, marginals: Marginals,
                 extra_features: tuple[str, ...] | list[str] = ()) -> None:
        c = config
        self.config, self.marginals = c, marginals
        self.num_steps = int(c.num_steps)
        self.coords = GaussianDiffusion(CosineSchedule(c.num_steps, c.nu_coords, power=c.coords_power))
        self.atoms = CategoricalDiffusion(CosineSchedule(c.num_steps, c.nu_atoms), marginals.atom_types)
        self.charges = CategoricalDiffusion(CosineSchedule(c.num_steps, c.nu_charges), marginals.charges)
        self.bonds = CategoricalDiffusion(CosineSchedule(c.num_steps, c.nu_bonds), marginals.bonds)
        self.extras: dict[str, CategoricalDiffusion] = {}
        for name in extra_features:
            if name not in EXTRA_FEATURES:
                raise ValueError(f"unknown extra feature {name!r}; known: {', '.join(EXTRA_FEATURES)}")
            if name not in marginals.extras:
                raise ValueError(f"model.extra_atom_features needs the {name!r} statistics, which the training "
                                 "data lacks; reprocess the dataset with its atom features, or set it to 0")
            self.extras[name] = CategoricalDiffusion(CosineSchedule(c.num_steps, c.nu_extra), marginals.extras[name])
        self.weights = {"coords": c.weight_coords, "atom_types": c.weight_atom_types, "charges": c.weight_charges,
                        "bonds": c.weight_bonds, **{name: c.weight_extra for name in self.extras}}

    # ---------------------------------------------------------------- forward process
    def sample_steps(self, num_graphs: int, device: torch.device | str = "cpu",
                     generator: torch.Generator | None = None) -> Tensor:
        """Uniform training steps k in 1..T: [G] long."""
        return torch.randint(1, self.num_steps + 1, (num_graphs,), device=device, generator=generator)

    def time(self, k: Tensor, dtype: torch.dtype) -> Tensor:
        """Continuous time t = k / T [G] given to the network."""
        return (k.to(torch.float64) / self.num_steps).to(dtype)

    def noise(self, clean: MolBatch, k: Tensor, generator: torch.Generator | None = None) -> MolBatch:
        """Noisy copy of ``clean`` at steps k [G]: q(x_k | x_0), :meth:`renoise` from step 0."""
        return self.renoise(clean, torch.zeros_like(k), k, generator)

    def renoise(self, state: MolBatch, k_s: Tensor, k_t: Tensor, generator: torch.Generator | None = None
                ) -> MolBatch:
        """Sample x_t ~ q(x_t | x_s) for ``state`` at steps k_s [G], to steps k_t >= k_s [G].

        Every modality is noised independently with a_ts = alpha_bar_t / alpha_bar_s (k_s = 0 is
        q(x_t | x_0)): coordinates x_t = sqrt(a_ts) x_s + sqrt(1 - a_ts) eps in the centred frame
        (x_s and eps centred per molecule), x_t = o + sqrt(a_ts) (x_s - o) + sqrt(1 - a_ts) eps around the
        pocket centre o in a pocket batch; classes keep their value with probability a_ts and are otherwise
        drawn from the marginal. Draw order: coordinates, atom types, charges, bonds, extra features.
        """
        g, batch = state.num_graphs, state.batch
        pairs = upper_pairs(state)
        ka_s, ka_t = k_s[batch], k_t[batch]
        kp_s, kp_t = k_s[batch[pairs[0]]], k_t[batch[pairs[0]]]
        origin = pocket_origin(state)
        if origin is None:
            pos = self.coords.renoise(state.pos, k_s, k_t, batch, g, generator)
        else:
            pos = origin + self.coords.renoise(state.pos - origin, k_s, k_t, batch, g, generator, centered=False)
        atom_types = self.atoms.renoise(state.atom_types, ka_s, ka_t, generator)
        charges = index_to_charge(self.charges.renoise(charge_to_index(state.charges), ka_s, ka_t, generator))
        bonds = self.bonds.renoise(state.edge_bond_types(pairs), kp_s, kp_t, generator)
        extras = {name: self._from_class(name, cat.renoise(self._to_class(state, name), ka_s, ka_t, generator))
                  for name, cat in self.extras.items()}
        return self._state(state, pos, atom_types, charges, pairs, bonds, extras)

    def loss(self, clean: MolBatch, k: Tensor, out: Any) -> dict[str, Tensor]:
        """Weighted EQGAT-diff loss of the prediction ``out`` for the clean batch noised at k [G]."""
        g, batch = clean.num_graphs, clean.batch
        pairs = upper_pairs(clean)
        pair_graph = batch[pairs[0]]
        centred = clean.pocket is None  # with a pocket, the receptor's frame is kept
        target_pos = remove_mean(clean.pos, batch, g) if centred else clean.pos
        pred_pos = remove_mean(out.pos, batch, g) if centred else out.pos
        terms = {
            "coords": graph_mean(((pred_pos - target_pos) ** 2).sum(-1), batch, g),
            "atom_types": graph_mean(F.cross_entropy(out.atom_logits, clean.atom_types, reduction="none"), batch, g),
            "charges": graph_mean(
                F.cross_entropy(out.charge_logits, charge_to_index(clean.charges), reduction="none"), batch, g),
            "bonds": graph_mean(F.cross_entropy(
                pair_logits(out.edge_index, out.bond_logits, pairs, clean.pos.shape[0]),
                clean.edge_bond_types(pairs), reduction="none"), pair_graph, g),
        }
        for name in self.extras:
            ce = F.cross_entropy(out.extra_logits[name], self._to_class(clean, name), reduction="none")
            terms[name] = graph_mean(ce, batch, g)
        c = self.config
        w = snr_weight(self.atoms.schedule, k, c.snr_clamp_min, c.snr_clamp_max).to(clean.pos.dtype)  # [G]
        result = {name: (w * value).mean() for name, value in terms.items()}
        result["loss"] = sum(self.weights[name] * v for name, v in result.items())
        return result

    def training_loss(self, model: Denoiser, clean: MolBatch, generator: torch.Generator | None = None
                      ) -> dict[str, Tensor]:
        """Noise the clean batch at random steps, run the model and return the loss terms."""
        k = self.sample_steps(clean.num_graphs, clean.pos.device, generator)
        noisy = self.noise(clean, k, generator)
        return self.loss(clean, k, model(noisy, self.time(k, clean.pos.dtype)))

    # ---------------------------------------------------------------- reverse process
    def prior(self, num_atoms: Tensor, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32,
              generator: torch.Generator | None = None, pocket: PocketBatch | None = None) -> MolBatch:
        """Sample x_T for molecules with num_atoms [G] atoms (in their pockets' frame if ``pocket``, G pockets)."""
        counts = num_atoms.to(torch.long).cpu()
        if bool((counts < 1).any()):
            raise ValueError(f"every molecule needs at least one atom, got counts {counts.tolist()}")
        ptr = offsets(counts)
        batch = torch.repeat_interleave(torch.arange(counts.numel()), counts).to(device)
        n, g = int(ptr[-1]), counts.numel()
        empty = torch.zeros(0, dtype=torch.long, device=device)
        skeleton = MolBatch(pos=torch.zeros(n, 3, dtype=dtype, device=device), atom_types=empty, charges=empty,
                            bond_index=empty.reshape(2, 0), bond_types=empty, batch=batch, ptr=ptr.to(device),
                            names=[f"sample_{i}" for i in range(g)], smiles=[None] * g, props=[{} for _ in range(g)],
                            pocket=None if pocket is None else pocket.to(device))
        pairs = upper_pairs(skeleton)
        origin = pocket_origin(skeleton)
        pos = self.coords.prior(batch, g, dtype, generator, centered=origin is None)
        pos = pos if origin is None else origin + pos
        extras = {name: self._from_class(name, cat.prior(n, device, generator)) for name, cat in self.extras.items()}
        return self._state(skeleton, pos, self.atoms.prior(n, device, generator),
                           index_to_charge(self.charges.prior(n, device, generator)), pairs,
                           self.bonds.prior(pairs.shape[1], device, generator), extras)

    def posterior(self, model: Denoiser, state: MolBatch, k_t: Tensor, k_s: Tensor) -> Posterior:
        """Run the model at step k_t [G] and form q(x_s | x_t, x0_hat) for every modality (s = k_s [G])."""
        out = model(state, self.time(k_t, state.pos.dtype))
        batch, g = state.batch, state.num_graphs
        pairs = upper_pairs(state)
        ka_t, ka_s = k_t[batch], k_s[batch]
        kp_t, kp_s = k_t[batch[pairs[0]]], k_s[batch[pairs[0]]]
        origin = pocket_origin(state)
        if origin is None:
            x0_pos = remove_mean(out.pos, batch, g)
            mean, var = self.coords.posterior(remove_mean(state.pos, batch, g), x0_pos, k_t, k_s, batch)
        else:
            x0_pos = out.pos
            mean, var = self.coords.posterior(state.pos - origin, x0_pos - origin, k_t, k_s, batch)
            mean = mean + origin
        logits_pairs = pair_logits(out.edge_index, out.bond_logits, pairs, state.pos.shape[0])
        charges_t = charge_to_index(state.charges)
        x0 = self._state(state, x0_pos, out.atom_logits.argmax(-1), index_to_charge(out.charge_logits.argmax(-1)),
                         pairs, logits_pairs.argmax(-1),
                         {name: self._from_class(name, out.extra_logits[name].argmax(-1)) for name in self.extras})
        return Posterior(
            coord_mean=mean, coord_var=var,
            atom_probs=self.atoms.posterior(state.atom_types, self.atoms.x0_probs(out.atom_logits), ka_t, ka_s),
            charge_probs=self.charges.posterior(charges_t, self.charges.x0_probs(out.charge_logits), ka_t, ka_s),
            pairs=pairs,
            bond_probs=self.bonds.posterior(state.edge_bond_types(pairs), self.bonds.x0_probs(logits_pairs),
                                            kp_t, kp_s),
            extra_probs={name: cat.posterior(self._to_class(state, name), cat.x0_probs(out.extra_logits[name]),
                                             ka_t, ka_s) for name, cat in self.extras.items()},
            x0=x0,
        )

    def sample_posterior(self, post: Posterior, state: MolBatch, generator: torch.Generator | None = None,
                         coord_noise: Tensor | None = None) -> MolBatch:
        """Draw x_s from a :class:`Posterior`; ``coord_noise`` [N, 3] replaces the Gaussian draw if given."""
        g, batch = state.num_graphs, state.batch
        if coord_noise is None:
            coord_noise = torch.randn(post.coord_mean.shape, dtype=post.coord_mean.dtype,
                                      device=post.coord_mean.device, generator=generator)
        if state.pocket is None:
            pos = remove_mean(post.coord_mean + post.coord_var.sqrt() * remove_mean(coord_noise, batch, g), batch, g)
        else:
            pos = post.coord_mean + post.coord_var.sqrt() * coord_noise
        extras = {name: self._from_class(name, sample_classes(p, generator)) for name, p in post.extra_probs.items()}
        return self._state(state, pos, sample_classes(post.atom_probs, generator),
                           index_to_charge(sample_classes(post.charge_probs, generator)), post.pairs,
                           sample_classes(post.bond_probs, generator), extras)

    def step(self, model: Denoiser, state: MolBatch, k_t: Tensor, k_s: Tensor,
             generator: torch.Generator | None = None) -> tuple[MolBatch, MolBatch]:
        """The reverse jump from steps k_t to k_s < k_t (both [G]): (x_s, the network's clean estimate at t)."""
        post = self.posterior(model, state, k_t, k_s)
        return self.sample_posterior(post, state, generator), post.x0

    # ---------------------------------------------------------------- helpers
    def _state(self, like: MolBatch, pos: Tensor, atom_types: Tensor, charges: Tensor, pairs: Tensor,
               pair_bonds: Tensor, extras: dict[str, Tensor]) -> MolBatch:
        bonded = pair_bonds > 0
        return replace(like, pos=pos, atom_types=atom_types, charges=charges, bond_index=pairs[:, bonded],
                       bond_types=pair_bonds[bonded], **extras)

    def _to_class(self, batch: MolBatch, name: str) -> Tensor:
        value = getattr(batch, name)
        if value is None:
            raise ValueError(f"extra feature {name!r} is enabled but the batch has no {name}")
        return value.to(torch.long)

    @staticmethod
    def _from_class(name: str, classes: Tensor) -> Tensor:
        return classes.bool() if name in ("is_aromatic", "is_in_ring") else classes

