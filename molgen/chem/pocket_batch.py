"""Protein pockets as fixed context of G complexes, batched beside the ligands (``MolBatch.pocket``).

A pocket is a bond-less :class:`MolGraph` made by :func:`molgen.data.pocket.pocket_graph`
(element types in the shared vocabulary; residue type and backbone flag per atom in ``props``).
:class:`PocketBatch` concatenates G of them along the atom axis, M pocket atoms in all; pocket
``g`` is the context of ligand ``g`` of the MolBatch that carries it. Nothing here is diffused.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import torch
from torch import Tensor

from molgen.chem.molgraph import MolGraph, offsets

#: Residue classes of pocket atoms: the 20 amino acids and "other" (:data:`molgen.data.pocket.AMINO_ACIDS`).
NUM_RESIDUE_TYPES = 21


@dataclass
class PocketBatch:
    """G pockets. pos [M, 3] Angstrom; atom_types [M] (vocabulary index); residue_types [M] in
    0..NUM_RESIDUE_TYPES-1; backbone [M] bool; batch [M] pocket (= complex) index; ptr [G + 1]."""

    pos: Tensor
    atom_types: Tensor
    residue_types: Tensor
    backbone: Tensor
    batch: Tensor
    ptr: Tensor

    @property
    def num_graphs(self) -> int:
        return int(self.ptr.shape[0] - 1)

    @property
    def num_atoms(self) -> Tensor:
        """[G] pocket atoms per complex."""
        return self.ptr[1:] - self.ptr[:-1]

    @classmethod
    def from_graphs(cls, pockets: list[MolGraph]) -> PocketBatch:
        """Batch pocket graphs (each needs ``props['residue_type']`` and ``props['is_backbone']``)."""
        if not pockets:
            raise ValueError("cannot batch an empty list of pockets")
        for p in pockets:
            for key in ("residue_type", "is_backbone"):
                if len(p.props.get(key, ())) != p.num_atoms:
                    raise ValueError(f"pocket {p.name!r}: props[{key!r}] must list one value per atom "
                                     f"({p.num_atoms}); build pockets with molgen.data.pocket.pocket_graph")
        counts = torch.tensor([p.num_atoms for p in pockets], dtype=torch.long)
        ptr = offsets(counts)
        residues = torch.cat([torch.as_tensor(p.props["residue_type"], dtype=torch.long) for p in pockets])
        return cls(
            pos=torch.cat([p.pos for p in pockets]),
            atom_types=torch.cat([p.atom_types for p in pockets]),
            residue_types=residues.clamp(0, NUM_RESIDUE_TYPES - 1),
            backbone=torch.cat([torch.as_tensor(p.props["is_backbone"], dtype=torch.bool) for p in pockets]),
            batch=torch.repeat_interleave(torch.arange(len(pockets)), counts),
            ptr=ptr,
        )

    @classmethod
    def repeat(cls, pocket: MolGraph, times: int) -> PocketBatch:
        """The same pocket as context of ``times`` complexes (sampling many ligands for one pocket)."""
        return cls.from_graphs([pocket] * times)

    def to(self, device: torch.device | str) -> PocketBatch:
        return replace(self, **{f.name: getattr(self, f.name).to(device) for f in fields(self)})

    def select(self, index: list[int]) -> PocketBatch:
        """Pockets ``index`` [G'] in that order (repeats allowed)."""
        parts = [torch.arange(int(self.ptr[k]), int(self.ptr[k + 1]), device=self.ptr.device) for k in index]
        atoms = torch.cat(parts) if parts else self.ptr.new_zeros(0)
        counts = torch.tensor([p.numel() for p in parts], dtype=torch.long, device=self.ptr.device)
        ptr = offsets(counts)
        return PocketBatch(pos=self.pos[atoms], atom_types=self.atom_types[atoms],
                           residue_types=self.residue_types[atoms], backbone=self.backbone[atoms],
                           batch=torch.repeat_interleave(torch.arange(len(index), device=self.ptr.device), counts),
                           ptr=ptr)

    def centres(self) -> Tensor:
        """[G, 3] (unweighted) centre of each pocket: the origin of the complex's diffusion frame."""
        total = torch.zeros(self.num_graphs, 3, dtype=self.pos.dtype, device=self.pos.device)
        total.index_add_(0, self.batch, self.pos)
        return total / self.num_atoms.clamp(min=1).to(self.pos.dtype)[:, None]
