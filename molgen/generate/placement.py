"""Molecules of a model that never saw a protein, placed in a pocket: the rigid pose that fits best.

An unconditional model's distribution is invariant to rotations and translations (an E(3)-equivariant
denoiser on centre-of-mass-free coordinates), so every rigid pose of a generated molecule is equally
likely under it. :class:`PocketPlacement` chooses, for each molecule, the pose that fits the pocket
best, and the ``fit`` scorer (:class:`FitScorer`) lets guidance tilt sampling towards molecules that
have a good pose (:mod:`molgen.generate.guidance`): the drug-like prior, steered in the pocket frame.

Fit energy of a pose X' ([n, 3] heavy atoms, receptor frame; lower = better), a sum over its atoms
of a field of the protein's heavy atoms p (the receptor's ATOM records within :data:`REACH` of the
pocket centre, or the pocket's atoms when no receptor file is known; hetero groups, e.g. the crystal
ligand, are no obstacle), with d_ip = |x_i - p| and d_i = min_p d_ip:

    E(X') = Σ_i [ Σ_p relu(r_clash - d_ip)²  -  w_contact Σ_p exp(-(d_ip - r_contact)²)  +  w_out relu(d_i - r_out)² ]

a clash below r_clash = 3.3 A (contacts in crystal complexes are 3.3-4 A, hydrogen bonds 2.6-3.2 A), a
reward w_contact = 0.1 for each protein atom near r_contact = 4 A (Vina's steric gauss term, without
atom types: buried atoms score), and w_out = 0.1 for an atom further than r_out = 5 A from the protein
(out in the solvent).

Search: poses R (X - x̄) + c + δ over a fixed set of K rotations R (the identity among them) and
offsets δ of the pocket centre c (|δ| <= ``shift``, 1 A apart), with d_i at the nearest point of a grid
of nearest distances (``spacing`` A apart, within ``reach`` of c; outside it an atom is infinitely far);
the ``refine`` best poses are improved by local random rotations and shifts (d_i trilinear in the grid,
centre still within ``shift`` of c)
and the best is kept, its energy from exact distances. Deterministic: the same coordinates, the same pose.

During sampling, :class:`ClashNudge` moves atoms of x_s down the energy's gradient at the pose of
their clean estimate, so the molecules grow around the protein rather than only being chosen for it.

Shape symbols: n atoms of one molecule, P pocket atoms, K rotations, D offsets.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from molgen.chem.molgraph import MolGraph
from molgen.chem.vocab import element_index
from molgen.diffusion.reverse import StepContext

if TYPE_CHECKING:
    from molgen.generate.options import Guidance, PocketContext

R_CLASH, R_CONTACT, W_CONTACT, R_OUT, W_OUT = 3.3, 4.0, 0.1, 5.0, 0.1
#: Receptor atoms within this distance (A) of the pocket centre are obstacles; the grid reaches 14 A from it.
REACH = 22.0


def placement_for(pocket: PocketContext) -> PocketPlacement:
    """The placement of ``pocket``: its receptor's heavy ATOM atoms within :data:`REACH` of its centre, or,
    without a receptor file, the pocket graph's atoms."""
    center = np.asarray(pocket.middle, dtype=np.float64)
    if pocket.receptor is None:
        return PocketPlacement(pocket.graph.pos.double().numpy(), center)
    from molgen.data.pocket import parse_pdb

    atoms = parse_pdb(Path(pocket.receptor), hetero=False, hydrogens=False).pos
    near = np.linalg.norm(atoms - center, axis=1) <= REACH
    return PocketPlacement(atoms[near] if near.any() else pocket.graph.pos.double().numpy(), center)


def uniform_rotations(count: int, seed: int = 0) -> np.ndarray:
    """[count, 3, 3] rotation matrices: the identity, then uniformly random ones (unit quaternions)."""
    q = np.random.default_rng(seed).normal(size=(count, 4))
    q[0] = (1.0, 0.0, 0.0, 0.0)
    w, x, y, z = (q / np.linalg.norm(q, axis=1, keepdims=True)).T
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
        np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
        np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1)], -2)


def _axis_angle(vectors: np.ndarray) -> np.ndarray:
    """[M, 3, 3] rotations by the axis-angle ``vectors`` [M, 3] (Rodrigues)."""
    angle = np.linalg.norm(vectors, axis=1)[:, None, None]
    k = vectors / np.maximum(angle[:, :, 0], 1e-12)
    cross = np.zeros((len(k), 3, 3))
    cross[:, 0, 1], cross[:, 0, 2], cross[:, 1, 2] = -k[:, 2], k[:, 1], -k[:, 0]
    cross = cross - cross.transpose(0, 2, 1)
    return np.eye(3) + np.sin(angle) * cross + (1 - np.cos(angle)) * cross @ cross


def atom_energy(dist: torch.Tensor) -> torch.Tensor:
    """Fit energy [...] of atoms from their distances [..., P] to every protein atom (module docstring)."""
    clash = torch.clamp(R_CLASH - dist, min=0.0).square().sum(-1)
    contact = torch.exp(-(dist - R_CONTACT).square()).sum(-1)
    out = torch.clamp(dist.min(-1).values - R_OUT, min=0.0).square()
    return clash - W_CONTACT * contact + W_OUT * out


class PocketPlacement:
    """Best rigid poses of molecules in one pocket (module docstring): :meth:`place`, :meth:`placed`."""

    def __init__(self, pocket_pos: np.ndarray, center: Sequence[float] | None = None, shift: float = 2.0,
                 rotations: int = 300, spacing: float = 0.5, reach: float = 14.0, refine: int = 4,
                 iterations: int = 60):
        self.pocket = np.asarray(pocket_pos, dtype=np.float64).reshape(-1, 3)  # [P, 3]
        if len(self.pocket) == 0:
            raise ValueError("PocketPlacement: the pocket has no atoms")
        self.center = self.pocket.mean(0) if center is None else np.asarray(center, dtype=np.float64).reshape(3)
        self.rotations = uniform_rotations(rotations)  # [K, 3, 3]
        steps = np.arange(-math.floor(shift), math.floor(shift) + 1, dtype=np.float64)
        offsets = np.stack(np.meshgrid(steps, steps, steps, indexing="ij"), -1).reshape(-1, 3)
        self.offsets = offsets[np.linalg.norm(offsets, axis=1) <= shift + 1e-9]  # [D, 3]
        self.refine, self.iterations, self.spacing, self.reach, self.shift = refine, iterations, spacing, reach, shift
        self._motions: dict[bytes, Motion] = {}  # by coordinates and heavy-atom mask
        self._grid()

    def _grid(self) -> None:
        """The fit energy of one atom on a grid over the cube of half-side ``reach`` around the centre."""
        self.origin = self.center - self.reach
        shape = np.full(3, int(np.ceil(2 * self.reach / self.spacing)) + 1)
        axes = [self.origin[k] + self.spacing * np.arange(shape[k]) for k in range(3)]
        points = torch.from_numpy(np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3))
        pocket = torch.from_numpy(self.pocket)
        field = torch.cat([atom_energy(torch.cdist(chunk, pocket)) for chunk in points.split(8192)])
        self.shape, self.field = shape, field.numpy().reshape(*shape)

    def grid_energy(self, pos: np.ndarray, nearest: bool = False) -> np.ndarray:
        """Fit energies [...] of atoms at ``pos`` [..., 3], trilinear in the grid (``nearest``: at the nearest
        grid point, for the coarse search); inf outside the grid."""
        scaled = (pos - self.origin) / self.spacing
        base = np.rint(scaled).astype(np.int64) if nearest else np.floor(scaled).astype(np.int64)
        inside = ((base >= 0) & (base < self.shape - 1)).all(-1)
        base = np.where(inside[..., None], base, 0)
        if nearest:
            return np.where(inside, self.field[base[..., 0], base[..., 1], base[..., 2]], np.inf)
        frac = scaled - base
        out = np.zeros(pos.shape[:-1])
        for corner in np.ndindex(2, 2, 2):
            weight = np.ones(pos.shape[:-1])
            for a in range(3):
                weight *= frac[..., a] if corner[a] else 1.0 - frac[..., a]
            out += weight * self.field[base[..., 0] + corner[0], base[..., 1] + corner[1], base[..., 2] + corner[2]]
        return np.where(inside, out, np.inf)

    def exact(self, pos: np.ndarray, grad: bool = False) -> tuple[float, float, np.ndarray | None]:
        """Fit energy of a pose ``pos`` [n, 3] from exact distances, its smallest protein distance, and
        with ``grad`` the energy's gradient [n, 3] by the atoms."""
        x = torch.from_numpy(np.ascontiguousarray(pos)).requires_grad_(grad)
        with torch.enable_grad():
            dist = torch.cdist(x, torch.from_numpy(self.pocket))  # [n, P]
            energy = atom_energy(dist).sum()
            gradient = torch.autograd.grad(energy, x)[0].numpy() if grad else None
        return float(energy), float(dist.min()), gradient

    def place(self, pos: np.ndarray) -> Motion:
        """The rigid motion taking a molecule's heavy atoms ``pos`` [n, 3] (any frame) to their best pose in the
        pocket (Kabsch from the centred atoms to the pose found), with that pose's fit."""
        pos = np.asarray(pos, dtype=np.float64)
        centred = pos - pos.mean(0)  # [n, 3]
        turned = np.einsum("kij,nj->kni", self.rotations, centred)  # [K, n, 3]
        poses = turned[:, None] + (self.center + self.offsets)[None, :, None]  # [K, D, n, 3]
        coarse = self.grid_energy(poses, nearest=True).sum(-1)  # [K, D]
        best = np.argsort(coarse, axis=None, kind="stable")[: self.refine]
        pose = self._refine(poses.reshape(-1, *centred.shape)[best])  # [n, 3]
        energy, nearest, _ = self.exact(pose)
        u, _, vt = np.linalg.svd(centred.T @ (pose - pose.mean(0)))
        rot = (u @ np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))]) @ vt).T
        return Motion(rot, pos.mean(0), pose.mean(0), energy, nearest)

    def _refine(self, poses: np.ndarray, moves: int = 8) -> np.ndarray:
        """The best of ``poses`` [S, n, 3] after a local search from each: ``moves`` random rigid moves per
        iteration, the best kept when it lowers the energy, sizes shrinking from 0.3 rad / 0.5 A; [n, 3]."""
        rng = np.random.default_rng(0)
        current = poses.copy()
        energy = self.grid_energy(current).sum(-1)  # [S]
        count = len(poses)
        for it in range(self.iterations):
            scale = 1.0 - it / self.iterations
            turns = _axis_angle(rng.normal(scale=0.3 * scale, size=(count * moves, 3))).reshape(count, moves, 3, 3)
            shifts = rng.normal(scale=0.5 * scale, size=(count, moves, 1, 3))
            mean = current.mean(1, keepdims=True)  # [S, 1, 3]
            moved = np.einsum("smij,snj->smni", turns, current - mean) + mean[:, None] + shifts  # [S, M, n, 3]
            scores = self.grid_energy(moved).sum(-1)  # [S, M]
            wander = np.linalg.norm(moved.mean(2) - self.center, axis=-1) > self.shift + 1e-9
            scores = np.where(wander, np.inf, scores)  # the centre stays within shift of the pocket's
            k = scores.argmin(1)
            better = scores[np.arange(count), k] < energy
            current[better] = moved[np.arange(count), k][better]
            energy = np.where(better, scores[np.arange(count), k], energy)
        return current[int(np.argmin(energy))]

    def motion(self, pos: np.ndarray, heavy: np.ndarray) -> Motion:
        """:meth:`place` of a molecule's ``heavy`` [n] atoms among ``pos`` [n, 3], the motion then applying to
        every atom. Remembered by coordinates: the same molecule placed again (scored, then written) gets the
        same pose."""
        key = pos.tobytes() + heavy.tobytes()
        if key not in self._motions:
            self._motions[key] = self.place(pos[heavy])
        return self._motions[key]

    def motion_of(self, graph: MolGraph) -> Motion | None:
        """:meth:`motion` of ``graph`` (heavy atoms decide), None for a graph without heavy atoms."""
        heavy = (graph.atom_types != element_index("H")).numpy()
        return self.motion(graph.pos.double().numpy(), heavy) if heavy.any() else None

    def placed(self, graph: MolGraph) -> MolGraph:
        """``graph`` moved rigidly to its best pose (hydrogens move with their heavy atoms), with the
        ``pocket_fit_energy`` and ``pocket_min_distance`` properties."""
        motion = self.motion_of(graph)
        if motion is None:
            return graph
        props = {**graph.props, "pocket_fit_energy": round(motion.energy, 3),
                 "pocket_min_distance": round(motion.min_distance, 2)}
        moved = motion.apply(graph.pos.double().numpy())
        return replace(graph, pos=torch.as_tensor(moved, dtype=graph.pos.dtype), props=props)


@dataclass(frozen=True)
class Motion:
    """A rigid motion x -> (x - source) R^T + target (``rot`` R [3, 3]), the fit ``energy`` of the pose it
    makes and that pose's smallest distance (A) from a heavy atom to a protein heavy atom."""

    rot: np.ndarray
    source: np.ndarray
    target: np.ndarray
    energy: float
    min_distance: float

    def apply(self, pos: np.ndarray) -> np.ndarray:
        """[n, 3] ``pos`` [n, 3] moved."""
        return (pos - self.source) @ self.rot.T + self.target


class ClashNudge:
    """A sampler step hook: after a guided jump t -> s, each molecule's atoms in x_s are moved by
    -``rate`` x the fit energy's gradient at its clean estimate's best pose (turned back into the model's frame:
    gradient R for a pose (x - m) R^T + c), each atom at most ``max_move`` A, the molecule's centre kept.
    Reconstruction guidance (the Jacobian of x̂0 by x_s taken as the identity) on the pose's fit; the last
    jumps (s below ``stop`` x T) are left to the model, so the written molecule is the model's own."""

    def __init__(self, placement: PocketPlacement, settings: Guidance, num_steps: int, rate: float = 0.5,
                 max_move: float = 1.0, stop: float = 0.1):
        self.placement, self.settings, self.num_steps = placement, settings, num_steps
        self.rate, self.max_move, self.stop = rate, max_move, stop
        self._jumps = 0

    def __call__(self, context: StepContext) -> None:
        self._jumps += 1
        if context.s < self.stop * self.num_steps or (self._jumps - 1) % self.settings.every:
            return
        x0, state = context.x0, context.state
        heavy = (x0.atom_types != element_index("H")).numpy()
        pos0, move = x0.pos.double().numpy(), np.zeros(tuple(state.pos.shape))
        for g in range(x0.num_graphs):
            a, b = int(x0.ptr[g]), int(x0.ptr[g + 1])
            if not heavy[a:b].any():
                continue
            motion = self.placement.motion(pos0[a:b], heavy[a:b])
            grad = self.placement.exact(motion.apply(pos0[a:b]), grad=True)[2] @ motion.rot  # [n, 3], model frame
            step = -self.rate * grad * heavy[a:b, None]
            norm = np.linalg.norm(step, axis=1, keepdims=True)
            step = step * np.minimum(1.0, self.max_move / np.maximum(norm, 1e-12))
            move[a:b] = step - step.mean(0)
        context.state = replace(state, pos=state.pos + torch.as_tensor(move, dtype=state.pos.dtype))


class FitScorer:
    """``fit``: minus the fit energy of each molecule's best pose in the pocket (higher = better); NaN where
    RDKit cannot sanitise the molecule or it has several fragments, so guidance never copies a molecule
    that would be written invalid."""

    name = "fit"
    temperature = 2.0

    def __init__(self, placement: PocketPlacement, implicit_hydrogens: bool | None = None):
        self.placement, self.implicit_hydrogens = placement, implicit_hydrogens

    def score(self, graphs: Sequence[MolGraph]) -> np.ndarray:
        from molgen.generate.scorers import graph_to_mol

        out = np.full(len(graphs), np.nan)
        for k, graph in enumerate(graphs):
            if graph_to_mol(graph, self.implicit_hydrogens) is not None:
                out[k] = -round(self.placement.motion_of(graph).energy, 3)  # as pocket_fit_energy is written
        return out


class PlacedScorer:
    """Another scorer (e.g. ``vina``) of each molecule at its best pose in the pocket."""

    def __init__(self, inner, placement: PocketPlacement):
        self.inner, self.placement = inner, placement
        self.name, self.temperature = inner.name, getattr(inner, "temperature", 1.0)

    def score(self, graphs: Sequence[MolGraph]) -> np.ndarray:
        return self.inner.score([self.placement.placed(g) for g in graphs])
