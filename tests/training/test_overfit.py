"""Overfitting one molecule with the real (tiny) denoiser: the loss falls and sampling gives it back."""

from __future__ import annotations

import pytest
import torch
from toydata import embedded

from molgen.chem.featurize import featurize_mol
from molgen.chem.molgraph import MolBatch
from molgen.config.load import load_config
from molgen.diffusion.marginals import Marginals
from molgen.diffusion.reverse import sample_batch, step_schedule
from molgen.model import build_denoiser, build_diffusion

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def test_overfitting_one_molecule_reduces_loss_and_sampling_reproduces_it() -> None:
    torch.manual_seed(0)
    water = featurize_mol(embedded("O"), features=False)
    config = load_config(None, ["model.num_layers=2", "model.scalar_dim=32", "model.vector_dim=8",
                                "model.edge_dim=8", "model.time_embedding_dim=4", "diffusion.num_steps=50"])
    counts = torch.zeros(4)
    counts[3] = 1.0
    atoms = torch.bincount(water.atom_types, minlength=16).double()
    marginals = Marginals(atom_types=atoms, charges=torch.tensor([0, 0, 1.0, 0, 0, 0]),
                          bonds=torch.tensor([1.0, 2.0, 0, 0, 0]), num_atoms=counts)
    model, diffusion = build_denoiser(config), build_diffusion(config, marginals)
    batch = MolBatch.from_graphs([water.centered()] * 16)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(0)
    losses = []
    for _ in range(150):
        loss = diffusion.training_loss(model, batch, gen)["loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss))
    assert sum(losses[-20:]) / 20 < 0.3 * sum(losses[:20]) / 20
    model.eval()
    out = sample_batch(model, diffusion, torch.full((8,), 3), grid=step_schedule(diffusion.num_steps, 50),
                       generator=torch.Generator().manual_seed(1))
    true_oh = float(torch.linalg.norm(water.pos[1:] - water.pos[0], dim=1).mean())  # RDKit: O first
    reproduced = 0
    for graph in out.to_graphs():
        same_atoms = sorted(graph.atom_types.tolist()) == sorted(water.atom_types.tolist())
        oxygen = int((graph.atom_types == 4).nonzero()[0]) if same_atoms else -1
        bonds = sorted(graph.bond_index.T.tolist())
        expected = sorted([sorted([oxygen, h]) for h in range(3) if h != oxygen])
        oh = torch.linalg.norm(graph.pos - graph.pos[oxygen], dim=1) if same_atoms else None
        geometry_ok = oh is not None and bool(((oh[oh > 0] - true_oh).abs() < 0.35).all())
        reproduced += int(same_atoms and bonds == expected and graph.bond_types.tolist() == [1, 1] and geometry_ok)
    assert reproduced >= 6
