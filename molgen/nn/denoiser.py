"""EQGAT-diff denoiser: noisy MolBatch and time t -> predicted clean molecule.

The network sees only the noisy molecule and the continuous time t in [0, 1] (0 = data,
1 = noise), never a noise schedule. lmax = 1 is the EQGAT-diff baseline (Cartesian vector
features); lmax = 2 or 3 carries irreps up to lmax built with Gaunt tensor products
(``tensor_product="e3nn"``: the same model with e3nn tensor products, for benchmarks only).

Shape symbols: N atoms, E directed edges (all ordered pairs within each molecule), G graphs.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import partial

import torch
from torch import Tensor, nn

from molgen.chem.molgraph import MolBatch
from molgen.chem.vocab import EXTRA_ATOM_FEATURE_DIM, EXTRA_ATOM_FEATURES, NUM_ATOM_TYPES, NUM_BOND_TYPES, NUM_CHARGES
from molgen.config.schema import DENOISER_PATHS, ModelConfig
from molgen.nn.aggregate import GraphIndex
from molgen.nn.context import joint_graph
from molgen.nn.dense import DenseGraph, dense_geometry
from molgen.nn.embedding import InputEmbedding, PocketEmbedding, atom_one_hots
from molgen.nn.eqgat import EQGATLayer
from molgen.nn.equivariant import EquivariantLayout
from molgen.nn.geometry import EdgeGeometry, edge_geometry, polynomial_envelope, reverse_edge_index
from molgen.nn.heads import DenoiserHeads
from molgen.nn.norm import MoleculeLayerNorm
from molgen.nn.scatter import segment_mean
from molgen.nn.so3 import spherical_harmonics

PATHS = DENOISER_PATHS  # implementations of the same network (:meth:`EQGATDenoiser.set_path`)


@dataclass
class DenoiserOutput:
    """Predicted clean molecule.

    Attributes:
        pos: [N, 3] coordinates, centre of mass (unweighted) removed per molecule.
        atom_logits: [N, num_atom_types]; charge_logits: [N, num_charges] (class order of CHARGES).
        edge_index: [2, E] all ordered pairs within each molecule (``MolBatch.fully_connected_edges``).
        bond_logits: [E, num_bond_types], identical for (i, j) and (j, i).
        extra_logits: name -> [N, classes] for the extra atom features (empty when disabled).
    """

    pos: Tensor
    atom_logits: Tensor
    charge_logits: Tensor
    edge_index: Tensor
    bond_logits: Tensor
    extra_logits: dict[str, Tensor] = field(default_factory=dict)


class EQGATDenoiser(nn.Module):
    """EQGAT-diff with equivariant features up to degree ``lmax``, built from the config's ``model`` section.

    Every key of :class:`molgen.config.schema.ModelConfig` is read here, by name:
        num_layers, scalar_dim, vector_dim, edge_dim: depth and widths (S, C, F).
        lmax: 1 = EQGAT-diff baseline (Cartesian vectors); 2 or 3 = irreps with Gaunt interactions.
        tensor_product: None/"gaunt" or "e3nn" (lmax >= 2 only; e3nn only for benchmarks).
        extra_atom_features: 0, or EXTRA_ATOM_FEATURE_DIM to use and predict aromatic/ring/hybridisation.
        time_embedding_dim: 1 (t itself, as EQGAT-diff) or an even number of sin/cos features.
        cutoff: None = every pair interacts; else messages fade out smoothly at this distance (Angstrom).
        use_cross_product: add the antisymmetric l = 1 message v_i x v_j.
        pocket_cutoff: None = unconditional; else the batch carries a pocket (fixed context, see
            :mod:`molgen.nn.context`) and protein-ligand messages fade out at this distance (Angstrom).
    The output classes are the vocabulary's (:mod:`molgen.chem.vocab`).

    Two implementations of the same maths share every parameter: the dense padded path
    (:mod:`molgen.nn.dense`, ``path="dense"``, the default wherever it applies: unconditional models
    with Gaunt or Cartesian messages) and the edge-list reference (``path="reference"``), which the
    dense one equals to rounding (float64 tests in tests/nn/test_dense.py). ``path="compiled"`` is the
    dense path with each layer's edge stage compiled (:func:`molgen.nn.eqgat.compiled_pair_stage`;
    equal to the dense path in float64, tests/nn/test_compiled.py): training's choice where the first
    call's compilation (about a minute on a CPU) pays. ``path=None`` picks dense when supported;
    :meth:`set_path` switches an existing model.
    """

    def __init__(self, config: ModelConfig, path: str | None = None) -> None:
        super().__init__()
        c = config
        num_layers, scalar_dim, vector_dim, edge_dim = c.num_layers, c.scalar_dim, c.vector_dim, c.edge_dim
        lmax, extra_atom_features, cutoff = c.lmax, c.extra_atom_features, c.cutoff
        tensor_product = c.tensor_product or "gaunt"
        num_atom_types, num_charges = NUM_ATOM_TYPES, NUM_CHARGES
        if extra_atom_features not in (0, EXTRA_ATOM_FEATURE_DIM):
            raise ValueError(f"extra_atom_features must be 0 or {EXTRA_ATOM_FEATURE_DIM} "
                             f"(one-hots of {', '.join(EXTRA_ATOM_FEATURES)}), got {extra_atom_features}")
        if tensor_product not in ("gaunt", "e3nn"):
            raise ValueError(f"tensor_product must be 'gaunt' or 'e3nn', got {tensor_product!r}")
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        self.layout = EquivariantLayout(lmax)
        self.num_atom_types, self.num_charges = num_atom_types, num_charges
        self.use_extra = extra_atom_features > 0
        self.vector_dim = vector_dim
        self.cutoff = cutoff
        self.sh_fn = None if self.layout.cartesian else partial(spherical_harmonics, lmax)
        self.pocket_cutoff = c.pocket_cutoff
        # pocket-ligand edges get one more edge class than the bond classes: "protein-ligand contact"
        self.embed = InputEmbedding(num_atom_types + num_charges + extra_atom_features,
                                    NUM_BOND_TYPES + int(c.pocket_cutoff is not None), scalar_dim, edge_dim,
                                    c.time_embedding_dim)
        self.pocket_embed = (None if c.pocket_cutoff is None
                             else PocketEmbedding(num_atom_types, scalar_dim, c.time_embedding_dim))
        self.norms = nn.ModuleList([MoleculeLayerNorm(scalar_dim) for _ in range(num_layers)])
        self.layers = nn.ModuleList([
            EQGATLayer(self.layout, scalar_dim, vector_dim, edge_dim, has_v_in=i > 0,
                       use_mlp_update=i < num_layers - 1, tensor_product=tensor_product,
                       use_cross_product=c.use_cross_product)
            for i in range(num_layers)
        ])
        atom_out = num_atom_types + num_charges + extra_atom_features
        self.heads = DenoiserHeads(self.layout, scalar_dim, vector_dim, edge_dim, atom_out, NUM_BOND_TYPES)
        self.dense_supported = (tensor_product == "gaunt" or self.layout.cartesian) and c.pocket_cutoff is None
        self.path = "reference"
        self.set_path(path)

    def set_path(self, path: str | None) -> EQGATDenoiser:
        """Choose the implementation: "dense", "compiled" (dense, its edge stage through ``torch.compile``),
        "reference", or None (dense where supported). Returns self."""
        if path is None:
            path = "dense" if self.dense_supported else "reference"
        if path not in PATHS:
            raise ValueError(f"path must be one of {', '.join(PATHS)}, got {path!r}")
        if path != "reference" and not self.dense_supported:
            raise ValueError("the dense path needs Gaunt or Cartesian (lmax = 1) messages and no pocket; e3nn "
                             "products and pocket-conditioned models run on the reference path")
        self.path = path
        return self

    def forward(self, batch: MolBatch, t: Tensor) -> DenoiserOutput:
        """Predict the clean molecule from the noisy ``batch`` at times ``t`` [G] in [0, 1].

        A pocket-conditioned model reads ``batch.pocket`` and predicts coordinates in the receptor's
        frame; an unconditional one works on per-molecule centred coordinates.
        """
        g = batch.num_graphs
        if t.shape != (g,):
            raise ValueError(f"t must have shape [G] = ({g},), got {tuple(t.shape)}")
        if (batch.pocket is not None) != (self.pocket_embed is not None):
            raise ValueError("a pocket-conditioned denoiser needs batch.pocket, an unconditional one takes none")
        t = t.to(batch.pos.dtype)
        atoms = atom_one_hots(batch, self.num_atom_types, self.num_charges, self.use_extra)
        if self.path != "reference" and self.pocket_embed is None:
            return self._forward_dense(batch, t, atoms)
        return self._forward_reference(batch, t, atoms)

    def _forward_dense(self, batch: MolBatch, t: Tensor, atoms: Tensor) -> DenoiserOutput:
        """The fast path: every molecule padded to the largest, fully connected edges as [G, n, n] blocks."""
        graph = DenseGraph.from_ptr(batch.ptr, batch.batch, batch.pos.dtype)
        pos = graph.nodes(batch.pos)  # [G, n, 3]
        pos = graph.mask_nodes(pos - graph.graph_mean(pos))
        s, e = self.embed.forward_dense(graph.nodes(atoms), graph.bond_types(batch.bond_index, batch.bond_types), t)
        coords, atom_out, bonds = self._dense_core(s, e, pos, graph)
        atom_logits, charge_logits, extra_logits = self._split_atom_outputs(graph.flat(atom_out))
        return DenoiserOutput(pos=graph.flat(coords), atom_logits=atom_logits, charge_logits=charge_logits,
                              edge_index=batch.fully_connected_edges(), bond_logits=graph.edges_to_sparse(bonds),
                              extra_logits=extra_logits)

    def _dense_core(self, s: Tensor, e: Tensor, pos: Tensor, graph: DenseGraph) -> tuple[Tensor, Tensor, Tensor]:
        """Layers and heads on the padded tensors: s [G, n, S], e [G, n, n, B], pos [G, n, 3] ->
        (coords [G, n, 3], atom outputs [G, n, A], bond logits [G, n, n, K])."""
        v = pos.new_zeros(*pos.shape[:2], self.vector_dim, self.layout.dim)  # [G, n, C, D]
        for norm, layer in zip(self.norms, self.layers, strict=True):
            geom = dense_geometry(pos, graph, self.cutoff, self.sh_fn)  # recomputed from updated pos
            s, v = norm.forward_dense(s, v, graph)
            s, v, pos, e = layer.forward_dense(s, v, pos, e, geom, graph, compiled=self.path == "compiled")
        return self.heads.forward_dense(s, v, pos, e, graph)

    def _forward_reference(self, batch: MolBatch, t: Tensor, atoms: Tensor) -> DenoiserOutput:
        """The edge-list reference implementation (gathers and scatters over [E] edges)."""
        g, n = batch.num_graphs, batch.pos.shape[0]
        if self.pocket_embed is None:
            pos = batch.pos - segment_mean(batch.pos, batch.batch, g)[batch.batch]  # [N, 3]
            edge_index = batch.fully_connected_edges()  # [2, E]
            num_ligand_edges, graph, mobile, origin = edge_index.shape[1], GraphIndex.from_batch(
                batch.batch, batch.ptr), None, None
            s, e = self.embed(atoms, batch.edge_bond_types(edge_index), t, batch.batch, batch.batch[edge_index[0]])
        else:
            joint = joint_graph(batch, self.pocket_cutoff)
            pos, edge_index, graph, mobile, origin = (joint.pos, joint.edge_index, joint.segments, joint.mobile,
                                                      joint.origin)  # pos [N + M, 3], edge_index [2, E_L + E_X]
            num_ligand_edges = joint.num_ligand_edges
            ligand_edges = edge_index[:, :num_ligand_edges]
            bonds = torch.cat([batch.edge_bond_types(ligand_edges),  # cross edges: the extra "contact" class
                               edge_index.new_full((edge_index.shape[1] - num_ligand_edges,), NUM_BOND_TYPES)])
            complex_of = torch.cat([batch.batch, batch.pocket.batch])  # [N + M]
            s, e = self.embed(atoms, bonds, t, batch.batch, complex_of[edge_index[1]])
            s = torch.cat([s, self.pocket_embed(batch.pocket, t)])  # [N + M, S]
        v = pos.new_zeros(pos.shape[0], self.vector_dim, self.layout.dim)  # [N (+ M), C, D]
        for norm, layer in zip(self.norms, self.layers, strict=True):
            geom = self._geometry(pos, edge_index, num_ligand_edges)  # recomputed from updated pos
            s, v = norm(s, v, graph.batch, graph.num_graphs)
            s, v, pos, e = layer(s, v, pos, e, edge_index, geom, graph, mobile)
        ligand_edges = edge_index[:, :num_ligand_edges]
        reverse = reverse_edge_index(ligand_edges, n)  # [E_L]
        coords, atom_out, bond_logits = self.heads(s[:n], v[:n], pos[:n], e[:num_ligand_edges], ligand_edges,
                                                   reverse, batch.batch, g, center=origin is None)
        if origin is not None:
            coords = coords + origin[batch.batch]  # back to the receptor's frame
        atom_logits, charge_logits, extra_logits = self._split_atom_outputs(atom_out)
        return DenoiserOutput(pos=coords, atom_logits=atom_logits, charge_logits=charge_logits,
                              edge_index=ligand_edges, bond_logits=bond_logits, extra_logits=extra_logits)

    def _geometry(self, pos: Tensor, edge_index: Tensor, num_ligand_edges: int) -> EdgeGeometry:
        """Edge geometry; protein-ligand edges (after the first ``num_ligand_edges``) fade out at pocket_cutoff."""
        geom = edge_geometry(pos, edge_index, self.cutoff, self.sh_fn)
        if self.pocket_cutoff is None:
            return geom
        cross = polynomial_envelope(geom.dist[num_ligand_edges:], self.pocket_cutoff)
        return replace(geom, envelope=torch.cat([geom.envelope[:num_ligand_edges], cross]))

    def _split_atom_outputs(self, atom_out: Tensor) -> tuple[Tensor, Tensor, dict[str, Tensor]]:
        """[N, types + charges + extra] -> atom logits [N, types], charge logits [N, charges], extra heads."""
        sizes = [self.num_atom_types, self.num_charges, *(EXTRA_ATOM_FEATURES.values() if self.use_extra else [])]
        atom_logits, charge_logits, *extra = atom_out.split(sizes, dim=-1)
        return atom_logits, charge_logits, dict(zip(EXTRA_ATOM_FEATURES, extra, strict=True)) if extra else {}
