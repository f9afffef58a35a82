"""The joint ligand + pocket graph of the pocket-conditioned denoiser (PILOT-style fixed context).

Nodes: the N ligand atoms of the batch first, then the M pocket atoms. Positions are expressed
relative to each complex's pocket centre (so the model is translation invariant, and rotation
equivariant about that centre). Edges, directed (src, dst):

* ligand -> ligand: every ordered pair within a molecule (E_L edges, listed first, exactly
  ``MolBatch.fully_connected_edges``), as in the unconditional model;
* pocket -> ligand: pairs of the same complex closer than ``cutoff + margin`` at the input
  positions (E_X edges); messages along them fade out smoothly at ``cutoff``
  (:func:`molgen.nn.geometry.polynomial_envelope`), so atoms that move inside the margin during
  the layers' coordinate updates enter and leave continuously.

Pocket atoms never move (``mobile`` is 0 for them) and receive no message: their features are
their embedding (element, residue, backbone, time) refined by the node updates only. This keeps
the cost at about that of the ligand alone plus one message per nearby pocket atom; on CPU,
messages into the pocket (ligand -> pocket, pocket -> pocket) tripled the cost of a step.
Normalisation statistics are pooled per *segment*: segment g is ligand g, segment G + g is pocket g.
Shapes: N ligand atoms, M pocket atoms, G complexes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from molgen.chem.molgraph import MolBatch
from molgen.nn.aggregate import GraphIndex


@dataclass
class JointGraph:
    """pos [N + M, 3] relative to ``origin``; origin [G, 3] pocket centres; edge_index [2, E_L + E_X];
    num_ligand_edges E_L; segments: :class:`GraphIndex` over the 2G segments (sparse sums);
    mobile [N + M] 1.0 for ligand atoms, 0.0 for pocket atoms; num_ligand_atoms N."""

    pos: Tensor
    origin: Tensor
    edge_index: Tensor
    num_ligand_edges: int
    segments: GraphIndex
    mobile: Tensor
    num_ligand_atoms: int


def cross_edges(lig_pos: Tensor, lig_graph: Tensor, pocket_pos: Tensor, pocket_graph: Tensor,
                radius: float) -> Tensor:
    """[2, K] (ligand i, pocket j) pairs of the same complex within ``radius``; indices local to each set."""
    same = lig_graph[:, None] == pocket_graph[None, :]  # [N, M]
    close = torch.cdist(lig_pos, pocket_pos) < radius  # [N, M]
    return torch.nonzero(same & close).T


def joint_graph(batch: MolBatch, cutoff: float, margin: float = 1.0) -> JointGraph:
    """Build the joint graph of ``batch`` (which must carry ``batch.pocket``)."""
    pocket = batch.pocket
    if pocket is None:
        raise ValueError("this denoiser is pocket-conditioned (model.pocket_cutoff is set): the batch needs a pocket")
    g, n = batch.num_graphs, batch.pos.shape[0]
    if pocket.num_graphs != g:
        raise ValueError(f"batch has {g} molecules but {pocket.num_graphs} pockets")
    origin = pocket.centres().to(batch.pos.dtype)  # [G, 3]
    lig = batch.pos - origin[batch.batch]  # [N, 3]
    poc = pocket.pos.to(batch.pos.dtype) - origin[pocket.batch]  # [M, 3]
    ligand_edges = batch.fully_connected_edges()  # [2, E_L]
    lp = cross_edges(lig, batch.batch, poc, pocket.batch, cutoff + margin)  # [2, K]
    lig_idx, poc_idx = lp[0], lp[1] + n
    edge_index = torch.cat([ligand_edges, torch.stack([poc_idx, lig_idx])], dim=1)  # [2, E_L + E_X]
    segment = torch.cat([batch.batch, pocket.batch + g])  # [N + M], sorted
    ptr = torch.cat([batch.ptr, pocket.ptr[1:] + n])  # [2G + 1]
    mobile = torch.cat([lig.new_ones(n), lig.new_zeros(poc.shape[0])])
    return JointGraph(pos=torch.cat([lig, poc]), origin=origin, edge_index=edge_index,
                      num_ligand_edges=ligand_edges.shape[1],
                      segments=GraphIndex.from_batch(segment, ptr, dense=False), mobile=mobile, num_ligand_atoms=n)
