"""Placing molecules of a model that never saw a pocket: rigid best poses, the fit scorer, the clash nudge."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from molgen.chem.molgraph import MolGraph
from molgen.chem.vocab import element_index
from molgen.generate.options import Guidance, PocketContext, SampleOptions
from molgen.generate.placement import (
    R_CLASH,
    ClashNudge,
    FitScorer,
    PocketPlacement,
    atom_energy,
    uniform_rotations,
)

CENTRE = np.array([10.0, -4.0, 3.0])


def _cavity(radius: float = 7.0, count: int = 400) -> np.ndarray:
    """[P, 3] protein atoms on a sphere of ``radius`` around CENTRE, a cap left open (a pocket's mouth)."""
    points = np.random.default_rng(3).normal(size=(count * 2, 3))
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    return CENTRE + radius * points[points[:, 2] < 0.6][:count]


def _chain(count: int = 8, far: float = 40.0) -> MolGraph:
    """A zig-zag carbon chain, 1.5 A bonds, somewhere far from the pocket (a model's own frame)."""
    x = np.arange(count) * 1.25
    y = np.where(np.arange(count) % 2, 0.8, 0.0)
    pos = torch.tensor(np.stack([x, y, np.zeros(count)], 1) + far, dtype=torch.float32)
    bonds = torch.stack([torch.arange(count - 1), torch.arange(1, count)])
    c = element_index("C")
    return MolGraph(pos=pos, atom_types=torch.full((count,), c), charges=torch.zeros(count, dtype=torch.long),
                    bond_index=bonds, bond_types=torch.ones(count - 1, dtype=torch.long), name="chain")


@pytest.fixture(scope="module")
def placement() -> PocketPlacement:
    return PocketPlacement(_cavity(), CENTRE)


def test_rotations_are_proper_and_start_at_the_identity() -> None:
    rot = uniform_rotations(50)
    assert np.allclose(rot[0], np.eye(3))
    assert np.allclose(rot @ rot.transpose(0, 2, 1), np.eye(3), atol=1e-12)
    assert np.allclose(np.linalg.det(rot), 1.0)


def test_the_grid_reads_the_exact_field(placement: PocketPlacement) -> None:
    points = CENTRE + np.random.default_rng(0).uniform(-2, 2, size=(200, 3))  # 5-7 A from the wall: smooth
    exact = atom_energy(torch.cdist(torch.from_numpy(points), torch.from_numpy(placement.pocket))).numpy()
    assert np.abs(placement.grid_energy(points) - exact).max() < 0.25  # trilinear on a 0.5 A grid (of ~-1..-5)
    on_grid = placement.origin + placement.spacing * np.array([[20, 30, 25], [28, 28, 28]])
    truth = atom_energy(torch.cdist(torch.from_numpy(on_grid), torch.from_numpy(placement.pocket))).numpy()
    assert np.allclose(placement.grid_energy(on_grid), truth, atol=1e-9)
    assert np.allclose(placement.grid_energy(on_grid, nearest=True), truth, atol=1e-9)
    assert np.isinf(placement.grid_energy(CENTRE + 100.0))


def test_a_molecule_is_moved_rigidly_into_the_pocket_without_clashes(placement: PocketPlacement) -> None:
    graph = _chain()
    placed = placement.placed(graph)
    before, after = graph.pos.double(), placed.pos.double()
    assert torch.allclose(torch.cdist(before, before), torch.cdist(after, after), atol=1e-4)  # rigid
    assert float((after.mean(0) - torch.from_numpy(CENTRE)).norm()) <= 2.0 + 1e-6
    nearest = float(torch.cdist(after, torch.from_numpy(placement.pocket)).min())
    assert nearest >= 2.0 and placed.props["pocket_min_distance"] == pytest.approx(nearest, abs=0.01)
    # the best pose is better than the molecule's own orientation set down at the centre
    own = (before - before.mean(0)).numpy() + CENTRE
    assert placed.props["pocket_fit_energy"] <= placement.exact(own)[0]
    assert placement.placed(graph).pos.equal(placed.pos)  # the same molecule, the same pose


def test_hydrogens_move_with_their_heavy_atoms(placement: PocketPlacement) -> None:
    graph = _chain(6)
    h = element_index("H")
    pos = torch.cat([graph.pos, graph.pos[:1] + torch.tensor([0.0, -1.0, 0.0])])
    with_h = MolGraph(pos=pos, atom_types=torch.cat([graph.atom_types, torch.tensor([h])]),
                      charges=torch.zeros(7, dtype=torch.long), bond_index=graph.bond_index,
                      bond_types=graph.bond_types)
    placed = placement.placed(with_h)
    assert torch.allclose(placed.pos[:6], placement.placed(graph).pos, atol=1e-5)  # heavy atoms decide
    assert float((placed.pos[6] - placed.pos[0]).norm()) == pytest.approx(1.0, abs=1e-5)


def test_the_nudge_moves_atoms_down_the_fit_energy_and_keeps_the_centre() -> None:
    from molgen.chem.molgraph import MolBatch
    from molgen.diffusion.reverse import StepContext

    tight = PocketPlacement(_cavity(radius=4.0), CENTRE)  # a 9 A chain cannot fit without clashes
    graph = _chain(8, far=0.0)
    batch = MolBatch.from_graphs([graph])
    motion = tight.motion(graph.pos.double().numpy(), np.ones(8, dtype=bool))
    energy_before = tight.exact(motion.apply(graph.pos.double().numpy()))[0]
    assert motion.min_distance < R_CLASH
    hook = ClashNudge(tight, Guidance(every=1), num_steps=100, rate=0.02, stop=0.0)
    context = StepContext(batch, batch, t=50, s=49, model=None, diffusion=None)
    hook(context)
    moved = context.state.pos.double()
    assert not moved.equal(graph.pos.double())
    assert torch.allclose(moved.mean(0), graph.pos.double().mean(0), atol=1e-5)  # the centre stays
    assert tight.exact(motion.apply(moved.numpy()))[0] < energy_before  # the same pose fits better
    big = ClashNudge(tight, Guidance(every=1), num_steps=100, rate=100.0, max_move=0.7, stop=0.0)
    context = StepContext(batch, batch, t=50, s=49, model=None, diffusion=None)
    big(context)
    shift = (context.state.pos.double() - graph.pos.double()).norm(dim=1)
    assert float(shift.max()) <= 2 * 0.7 + 1e-5  # at most max_move per atom, plus the centre's correction


def test_the_last_jumps_are_left_to_the_model(placement: PocketPlacement) -> None:
    from molgen.chem.molgraph import MolBatch
    from molgen.diffusion.reverse import StepContext

    batch = MolBatch.from_graphs([_chain(6, far=0.0)])
    context = StepContext(batch, batch, t=5, s=4, model=None, diffusion=None)
    ClashNudge(placement, Guidance(every=1), num_steps=100, stop=0.1)(context)
    assert context.state.pos.equal(batch.pos)


def test_fit_scores_only_molecules_rdkit_can_write(placement: PocketPlacement) -> None:
    good = _chain(6)
    broken = _chain(6)
    broken.bond_types = torch.full((5,), 3, dtype=torch.long)  # carbons with two triple bonds: valence 6
    scores = FitScorer(placement, implicit_hydrogens=True).score([good, broken])
    assert np.isfinite(scores[0]) and np.isnan(scores[1])
    assert scores[0] == pytest.approx(-placement.placed(good).props["pocket_fit_energy"])


def test_fit_needs_a_pocket() -> None:
    from molgen.errors import MolgenInputError

    with pytest.raises(MolgenInputError, match="fit scores poses in a pocket"):
        SampleOptions(num=2, guidance=Guidance(guide="fit"))
    pocket = PocketContext(_chain(3), center=(0.0, 0.0, 0.0))
    assert SampleOptions(num=2, pocket=pocket, guidance=Guidance(guide="fit")).pocket.middle == (0.0, 0.0, 0.0)


def test_which_models_take_a_pocket_and_how() -> None:
    from types import SimpleNamespace

    from molgen.errors import MolgenInputError

    pocket = PocketContext(_chain(3))
    unconditional = SimpleNamespace(diffusion=SimpleNamespace(num_steps=500), pocket_conditioned=False)
    conditioned = SimpleNamespace(diffusion=SimpleNamespace(num_steps=500), pocket_conditioned=True)
    assert SampleOptions(num=2, pocket=pocket).jumps(unconditional) == 100  # placed in the pocket
    assert SampleOptions(num=2, pocket=pocket, guidance=Guidance(guide="fit")).jumps(unconditional) == 100
    with pytest.raises(MolgenInputError, match="fit scores the placement.*pocket-conditioned"):
        SampleOptions(num=2, pocket=pocket, guidance=Guidance(guide="fit")).jumps(conditioned)
    with pytest.raises(MolgenInputError, match="--fix with --pocket needs a pocket-conditioned"):
        SampleOptions(num=2, pocket=pocket, fragment=_chain(2)).jumps(unconditional)
    with pytest.raises(MolgenInputError, match="pocket-conditioned: give --pocket"):
        SampleOptions(num=2).jumps(conditioned)


def test_other_scores_see_each_molecule_at_its_pose(placement: PocketPlacement) -> None:
    from molgen.generate.placement import PlacedScorer

    class Centroid:
        name, temperature = "centroid", 3.0

        def score(self, graphs):
            return np.array([float(g.pos.double().mean(0)[0]) for g in graphs])

    graph = _chain(6)
    scorer = PlacedScorer(Centroid(), placement)
    assert (scorer.name, scorer.temperature) == ("centroid", 3.0)
    placed_x = float(placement.placed(graph).pos.double().mean(0)[0])
    assert scorer.score([graph])[0] == pytest.approx(placed_x) and abs(placed_x - CENTRE[0]) <= 2.0 + 1e-6
