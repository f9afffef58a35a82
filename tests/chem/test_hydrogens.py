"""Heavy-atom graphs are written as complete molecules: implied hydrogens, placed in 3D."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from rdkit import Chem
from rdkit.Chem import Descriptors

from molgen.chem.featurize import reconstruct_mol
from molgen.chem.hydrogens import add_hydrogens, has_hydrogens
from molgen.chem.molgraph import MolBatch
from molgen.chem.sanitize import canonical_smiles
from molgen.chem.sdf import read_sdf
from molgen.chem.vocab import NUM_ATOM_TYPES, NUM_BOND_TYPES, NUM_CHARGES, charge_to_index, element_index
from molgen.config.schema import DiffusionConfig, ExperimentConfig
from molgen.diffusion.marginals import Marginals
from molgen.diffusion.process import MolecularDiffusion
from molgen.generate import MoleculeGenerator, write_samples

C, O, H = element_index("C"), element_index("O"), element_index("H")


def test_qm9_heavy_atom_graphs_get_back_their_hydrogens(shared_data):
    """Every closed-shell molecule of QM9's first 100: strip H, add them back: same molecule, same H count.

    (gdb_23's record in gdb9.sdf is a biradical, [CH]C#C[CH]; implied hydrogens cannot reproduce a radical.)
    """
    graphs = [g for g in read_sdf(shared_data / "qm9" / "gdb9_first100" / "gdb9.sdf", kekulize=True)
              if Descriptors.NumRadicalElectrons(Chem.MolFromSmiles(g.smiles)) == 0]
    assert len(graphs) >= 90
    for graph in graphs:
        heavy = graph.heavy_atoms()
        assert not has_hydrogens(heavy)
        full, error = add_hydrogens(heavy)
        assert error is None, (graph.name, error)
        assert full.num_atoms == graph.num_atoms and has_hydrogens(full) == has_hydrogens(graph)
        assert torch.equal(full.pos[: heavy.num_atoms], heavy.pos)  # heavy atoms keep order and coordinates
        assert canonical_smiles(reconstruct_mol(full).mol) == graph.smiles
        i, j = full.bond_index
        to_h = (full.atom_types[i] == H) | (full.atom_types[j] == H)
        lengths = (full.pos[i] - full.pos[j]).norm(dim=1)[to_h]
        assert bool(((lengths > 0.9) & (lengths < 1.2)).all()), (graph.name, lengths.tolist())


def test_an_unsanitisable_heavy_graph_is_returned_with_the_reason():
    graph = next(iter([_ethanol_heavy()]))
    graph.bond_types = torch.tensor([3, 3])  # C#C#O: carbon with 6 bonds
    same, error = add_hydrogens(graph)
    assert same is graph and "valence" in error.lower()


@dataclass
class _Out:
    pos: torch.Tensor
    atom_logits: torch.Tensor
    charge_logits: torch.Tensor
    edge_index: torch.Tensor
    bond_logits: torch.Tensor
    extra_logits: dict


def _ethanol_heavy():
    from molgen.chem.molgraph import MolGraph

    pos = torch.tensor([[-1.2, 0.3, 0.1], [0.1, -0.4, -0.1], [1.2, 0.5, 0.05]])
    return MolGraph(pos=pos, atom_types=torch.tensor([C, C, O]), charges=torch.zeros(3, dtype=torch.long),
                    bond_index=torch.tensor([[0, 1], [1, 2]]), bond_types=torch.tensor([1, 1]))


class _EthanolOracle(torch.nn.Module):
    """Always predicts heavy-atom ethanol (C-C-O) as the clean molecule: what a perfect heavy-atom model does."""

    def forward(self, batch: MolBatch, t: torch.Tensor) -> _Out:
        target = _ethanol_heavy()
        g = batch.num_graphs
        edges = batch.fully_connected_edges()
        local = edges - batch.ptr[batch.batch[edges[0]]]  # [2, E] atom indices within each molecule
        bond = torch.zeros(3, 3, dtype=torch.long)
        bond[0, 1] = bond[1, 0] = bond[1, 2] = bond[2, 1] = 1
        big = 30.0
        return _Out(pos=(target.pos - target.pos.mean(0)).repeat(g, 1).to(batch.pos.dtype),
                    atom_logits=big * torch.nn.functional.one_hot(target.atom_types.repeat(g), NUM_ATOM_TYPES),
                    charge_logits=big * torch.nn.functional.one_hot(
                        charge_to_index(torch.zeros(3 * g, dtype=torch.long)), NUM_CHARGES),
                    edge_index=edges,
                    bond_logits=big * torch.nn.functional.one_hot(bond[local[0], local[1]], NUM_BOND_TYPES),
                    extra_logits={})


def test_a_heavy_atom_model_writes_complete_molecules_with_3d_hydrogens(tmp_path):
    atom_types = torch.zeros(NUM_ATOM_TYPES)
    atom_types[C], atom_types[O] = 2.0, 1.0  # heavy-atom training data: no H at all
    marginals = Marginals(atom_types=atom_types, charges=torch.tensor([0, 0, 1.0, 0, 0, 0]),
                          bonds=torch.tensor([1.0, 2.0, 0, 0, 0]), num_atoms=torch.tensor([0, 0, 0, 1.0]))
    assert not marginals.has_hydrogens
    diffusion = MolecularDiffusion(DiffusionConfig(num_steps=20), marginals)
    graphs = MoleculeGenerator(_EthanolOracle(), diffusion, ExperimentConfig(), torch.device("cpu")).sample(4, steps=10)
    assert all(g.num_atoms == 9 and g.props["hydrogens"].startswith("implied") for g in graphs)
    out = tmp_path / "ethanol.sdf"
    write_samples(graphs, out)
    mols = list(Chem.SDMolSupplier(str(out), removeHs=False))
    assert len(mols) == 4
    for mol in mols:
        assert Chem.MolToSmiles(Chem.RemoveHs(mol)) == "CCO" and mol.GetNumAtoms() == 9
        assert sum(a.GetNumRadicalElectrons() for a in mol.GetAtoms()) == 0
        pos = mol.GetConformer().GetPositions()
        for bond in mol.GetBonds():
            if "H" in (bond.GetBeginAtom().GetSymbol(), bond.GetEndAtom().GetSymbol()):
                length = float(((pos[bond.GetBeginAtomIdx()] - pos[bond.GetEndAtomIdx()]) ** 2).sum() ** 0.5)
                assert length > 0.9 and length < 1.2
