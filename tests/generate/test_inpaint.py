"""Fragment inpainting: the fragment is kept exactly (elements, charges, bonds, input coordinates), the rest is
generated around it; bad fragments are one-line errors naming the file."""

from __future__ import annotations

import functools
import math
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from rdkit import Chem
from rdkit.Chem import AllChem

from molgen.chem.featurize import reconstruct_mol
from molgen.chem.molgraph import MolBatch, MolGraph
from molgen.chem.pocket_batch import PocketBatch
from molgen.chem.sdf import read_sdf
from molgen.diffusion.reverse import StepContext, sample_batch, step_schedule
from molgen.errors import MolgenInputError
from molgen.generate import load
from molgen.generate.inpaint import FixedFragment, Inpainter, fragment_atom_counts

CHECKPOINTS = Path(__file__).resolve().parents[2] / "checkpoints"
HEAVY = CHECKPOINTS / "qm9_noh_gaunt_cpu.ckpt"  # QM9 heavy atoms C, N, O, F; Kekulé bonds
EXPLICIT_H = CHECKPOINTS / "qm9_small_cpu.ckpt"  # QM9 with hydrogens; aromatic bonds


@pytest.fixture(scope="module")
def heavy():
    return load(HEAVY)


def write_sdf(path: Path, smiles: str, seed: int = 7) -> Path:
    """``smiles`` with hydrogens, embedded in 3D by ETKDG, as a one-record SDF file."""
    mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
    assert AllChem.EmbedMolecule(mol, randomSeed=seed) == 0
    with Chem.SDWriter(str(path)) as writer:
        writer.write(mol)
    return path


@pytest.fixture(scope="module")
def benzene_sdf(tmp_path_factory) -> Path:
    return write_sdf(tmp_path_factory.mktemp("fragments") / "benzene.sdf", "c1ccccc1")


def sample(model, fragment: FixedFragment, num: int, steps: int = 50, seed: int = 0, resamplings: int = 1) -> MolBatch:
    """``num`` molecules holding ``fragment``: the sampler with the inpainter as its only hook."""
    generator = torch.Generator().manual_seed(seed)
    counts = fragment_atom_counts(model.diffusion, fragment, num, generator=generator)  # [G]
    inpainter = Inpainter(model.diffusion, fragment, resamplings)
    return sample_batch(model.denoiser, model.diffusion, counts, step_schedule(model.diffusion.num_steps, steps),
                        generator=generator, hooks=[inpainter],
                        initial=functools.partial(inpainter.initial, generator=generator))


def jump(hook: Inpainter, state: MolBatch, t: int, s: int, generator=None, x0: MolBatch | None = None) -> StepContext:
    """The context ``hook`` leaves after the jump t -> s that produced ``state`` (estimate ``x0``, default state)."""
    context = StepContext(state, state if x0 is None else x0, t, s, model=None, diffusion=hook.diffusion,
                          generator=generator)
    hook(context)
    return context


def assert_fragment_kept(batch: MolBatch, fragment: FixedFragment) -> None:
    """Atoms 0..F-1 of every molecule are the fragment: elements, charges, bonds among them, coordinates."""
    frag, f = fragment.graph, fragment.num_atoms
    for graph in batch.to_graphs():
        assert torch.equal(graph.atom_types[:f], frag.atom_types), graph.name
        assert torch.equal(graph.charges[:f], frag.charges), graph.name
        inner = graph.subgraph(torch.arange(graph.num_atoms) < f)
        assert torch.equal(inner.dense_bonds(), frag.dense_bonds()), graph.name
        error = float((graph.pos[:f] - frag.pos).abs().max())
        assert error < 1e-4, f"{graph.name}: fragment moved by {error} A"


def assert_not_collapsed(batch: MolBatch, f: int) -> None:
    """No two atoms closer than 0.5 A; every bond from the fragment to a generated atom is 0.9-2.0 A long."""
    for graph in batch.to_graphs():
        dist = torch.cdist(graph.pos.double(), graph.pos.double()) + 1e3 * torch.eye(graph.num_atoms)
        assert float(dist.min()) >= 0.5, f"{graph.name}: atoms {float(dist.min()):.3f} A apart"
        for i, j in graph.bond_index.T.tolist():
            if (i < f) != (j < f):
                assert 0.9 <= float(dist[i, j]) <= 2.0, f"{graph.name}: bond {i}-{j} is {float(dist[i, j]):.2f} A"


def valid_with_fragment(batch: MolBatch, query: Chem.Mol) -> float:
    """Fraction of molecules that RDKit sanitises, are one fragment and contain ``query``."""
    hits = 0
    for graph in batch.to_graphs():
        result = reconstruct_mol(graph, implicit_hydrogens=True)
        one_piece = len(Chem.GetMolFrags(result.mol)) == 1
        hits += bool(result.sanitized and one_piece and result.mol.HasSubstructMatch(query))
    return hits / batch.num_graphs


# ------------------------------------------------------------------------------------------- sampling
def test_benzene_is_kept_and_the_rest_is_generated(heavy, benzene_sdf):
    fragment = FixedFragment.from_sdf(benzene_sdf, heavy.diffusion)
    assert fragment.num_atoms == 6  # hydrogens dropped for the heavy-atom model
    assert sorted(fragment.graph.bond_types.tolist()) == [1, 1, 1, 2, 2, 2]  # kekulised: the model is Kekulé
    batch = sample(heavy, fragment, 8, resamplings=3)  # with u = 1, 1 of 128 molecules has a pair 0.4 A apart
    assert_fragment_kept(batch, fragment)
    assert_not_collapsed(batch, fragment.num_atoms)
    assert bool((batch.num_atoms > 6).all())


def test_most_molecules_are_valid_and_contain_the_fragment(heavy, benzene_sdf):
    """Measured on 256 molecules (50 jumps, u = 3 resamplings): 0.79 (0.55 with u = 1, 0.95 with u = 10);
    for 32 molecules the standard error is 0.07 and the floor is 3 of them under."""
    fragment = FixedFragment.from_sdf(benzene_sdf, heavy.diffusion)
    batch = sample(heavy, fragment, 32, seed=1, resamplings=3)
    assert_fragment_kept(batch, fragment)
    fraction = valid_with_fragment(batch, Chem.MolFromSmiles("c1ccccc1"))
    assert fraction >= 0.58, f"valid, connected and containing benzene: {fraction:.2f}"


def test_qm9_fragment_is_kept(heavy, shared_data):
    sdf = shared_data / "qm9" / "gdb9_first100" / "gdb9.sdf"
    molecule = next(g for g in read_sdf(sdf, kekulize=True) if g.name == "gdb_91")  # O=C1CCN1, 5 heavy atoms
    fragment = FixedFragment.from_graph(molecule, heavy.diffusion, source=f"{sdf}:gdb_91")
    assert fragment.num_atoms == 5
    batch = sample(heavy, fragment, 8, seed=2, resamplings=3)
    assert_fragment_kept(batch, fragment)
    assert_not_collapsed(batch, fragment.num_atoms)


def test_explicit_hydrogen_model_keeps_hydrogens_and_aromatic_bonds(benzene_sdf):
    model = load(EXPLICIT_H)
    fragment = FixedFragment.from_sdf(benzene_sdf, model.diffusion)
    assert fragment.num_atoms == 12
    assert sorted(fragment.graph.bond_types.tolist()) == [1] * 6 + [4] * 6
    batch = sample(model, fragment, 3, steps=10)
    assert_fragment_kept(batch, fragment)


def test_same_seed_same_molecules(heavy, benzene_sdf):
    fragment = FixedFragment.from_sdf(benzene_sdf, heavy.diffusion)
    first, again = (sample(heavy, fragment, 2, steps=5, seed=4, resamplings=2) for _ in range(2))
    other = sample(heavy, fragment, 2, steps=5, seed=5, resamplings=2)
    assert torch.equal(first.pos, again.pos) and torch.equal(first.bond_index, again.bond_index)
    assert not (first.pos.shape == other.pos.shape and torch.equal(first.pos, other.pos))


# ------------------------------------------------------------------------------------------- one replacement
def prior(diffusion, num: int, atoms: int, seed: int = 0) -> MolBatch:
    return diffusion.prior(torch.full((num,), atoms), generator=torch.Generator().manual_seed(seed))


def test_centred_step_keeps_the_centre_and_the_generated_bonds(heavy, benzene_sdf):
    d = heavy.diffusion
    fragment = FixedFragment.from_sdf(benzene_sdf, d)
    hook = Inpainter(d, fragment)
    state = prior(d, 64, 9)
    out = jump(hook, state, 2, 1, torch.Generator().manual_seed(0)).state
    fixed = (torch.arange(state.pos.shape[0]) - state.ptr[state.batch]) < 6  # [N]
    assert float(out.pos.view(64, 9, 3).mean(1).abs().max()) < 1e-5  # still centred
    assert torch.allclose(out.pos[~fixed], state.pos[~fixed], atol=1e-5)  # fixed atoms' centre kept
    centred = out.pos.view(64, 9, 3)[:, :6] - out.pos.view(64, 9, 3)[:, :6].mean(1, keepdim=True)
    expected = fragment.graph.pos - fragment.graph.pos.mean(0)
    assert float((centred - expected).abs().max()) < 1e-3  # step 1: the fragment's shape, almost no noise
    assert _free_bonds(out, fixed) == _free_bonds(state, fixed)


def _free_bonds(batch: MolBatch, fixed) -> set[tuple[int, int, int]]:
    """Bonds with at least one generated atom, as (i, j, class)."""
    return {(i, j, b) for (i, j), b in zip(batch.bond_index.T.tolist(), batch.bond_types.tolist(), strict=True)
            if not (fixed[i] and fixed[j])}


def test_final_step_translates_the_molecule_onto_the_fragment(heavy, benzene_sdf):
    d = heavy.diffusion
    fragment = FixedFragment.from_sdf(benzene_sdf, d)
    state = prior(d, 4, 8)
    out = jump(Inpainter(d, fragment), state, 1, 0).state
    shift = out.pos - state.pos  # [N, 3]
    for g in range(4):
        lo = 8 * g
        assert torch.allclose(out.pos[lo:lo + 6], fragment.graph.pos, atol=0, rtol=0)
        assert torch.allclose(shift[lo + 6:lo + 8], shift[lo + 6].expand(2, 3), atol=1e-5)  # rigid translation
        assert torch.allclose(shift[lo + 6], fragment.graph.pos.mean(0) - state.pos[lo:lo + 6].mean(0), atol=1e-4)


def test_pocket_frame_is_absolute(heavy, benzene_sdf):
    d, g, k = heavy.diffusion, 256, 250
    fragment = FixedFragment.from_sdf(benzene_sdf, d)
    o = torch.tensor([10.0, -3.0, 4.0])
    m = 5 * g
    pocket = PocketBatch(pos=o + torch.randn(m, 3) * 0.1, atom_types=torch.zeros(m, dtype=torch.long),
                         residue_types=torch.zeros(m, dtype=torch.long), backbone=torch.zeros(m, dtype=torch.bool),
                         batch=torch.arange(g).repeat_interleave(5), ptr=torch.arange(0, m + 1, 5))
    o_g = torch.stack([pocket.pos[pocket.batch == i].mean(0) for i in range(g)])  # [G, 3]
    state = replace(prior(d, g, 9), pocket=pocket)
    state = replace(state, pos=state.pos + o)
    fixed = (torch.arange(state.pos.shape[0]) - state.ptr[state.batch]) < 6
    hook = Inpainter(d, fragment)
    out = jump(hook, state, k + 1, k, torch.Generator().manual_seed(3)).state
    assert torch.equal(out.pos[~fixed], state.pos[~fixed])
    a = float(d.coords.schedule.signal(torch.tensor([k]))[0])
    centre = o_g.repeat_interleave(6, 0)  # [G F, 3]
    eps = (out.pos[fixed] - centre - math.sqrt(a) * (fragment.graph.pos.repeat(g, 1) - centre)) / math.sqrt(1 - a)
    assert abs(float(eps.mean())) < 4 / math.sqrt(eps.numel()) and abs(float(eps.std()) - 1) < 0.05
    final = jump(hook, state, 1, 0).state
    assert torch.equal(final.pos[fixed], fragment.graph.pos.repeat(g, 1))
    assert torch.equal(final.pos[~fixed], state.pos[~fixed])  # nothing else moves in the receptor frame


# ------------------------------------------------------------------------------------------- errors
def assert_one_line(excinfo, *words: str) -> None:
    message = str(excinfo.value)
    assert "\n" not in message
    for word in words:
        assert word in message, message


def test_element_the_model_cannot_generate(heavy, tmp_path):
    path = write_sdf(tmp_path / "bromobenzene.sdf", "Brc1ccccc1")
    with pytest.raises(MolgenInputError) as excinfo:
        FixedFragment.from_sdf(path, heavy.diffusion)
    assert_one_line(excinfo, str(path), "Br")


def test_fragment_too_large(heavy, benzene_sdf, tmp_path):
    fragment = FixedFragment.from_sdf(benzene_sdf, heavy.diffusion)
    with pytest.raises(MolgenInputError) as excinfo:
        fragment_atom_counts(heavy.diffusion, fragment, 4, atoms=6)
    assert_one_line(excinfo, str(benzene_sdf), "--atoms")
    with pytest.raises(MolgenInputError) as excinfo:
        Inpainter(heavy.diffusion, fragment).initial(prior(heavy.diffusion, 2, 6))
    assert_one_line(excinfo, str(benzene_sdf), "6 atoms")
    naphthalene = FixedFragment.from_sdf(write_sdf(tmp_path / "naphthalene.sdf", "c1ccc2ccccc2c1"), heavy.diffusion)
    with pytest.raises(MolgenInputError) as excinfo:  # 10 heavy atoms; QM9 has at most 9
        fragment_atom_counts(heavy.diffusion, naphthalene, 4)
    assert_one_line(excinfo, "naphthalene.sdf", "at most 9")
    assert bool((fragment_atom_counts(heavy.diffusion, fragment, 200) > 6).all())


@pytest.mark.parametrize("content", [None, "", "not an SDF\n"])
def test_missing_empty_or_bad_file(heavy, tmp_path, content):
    path = tmp_path / "fragment.sdf"
    if content is not None:
        path.write_text(content)
    with pytest.raises(MolgenInputError) as excinfo:
        FixedFragment.from_sdf(path, heavy.diffusion)
    assert_one_line(excinfo, str(path))


def test_graph_without_heavy_atoms(heavy):
    hydrogen = MolGraph(pos=torch.zeros(1, 3), atom_types=torch.zeros(1, dtype=torch.long),
                        charges=torch.zeros(1, dtype=torch.long), bond_index=torch.zeros(2, 0, dtype=torch.long),
                        bond_types=torch.zeros(0, dtype=torch.long))
    with pytest.raises(MolgenInputError) as excinfo:
        FixedFragment.from_graph(hydrogen, heavy.diffusion, source="h.sdf")
    assert_one_line(excinfo, "h.sdf")


def test_cli_fix_writes_molecules_holding_the_fragment_in_place(benzene_sdf, tmp_path, capsys):
    """`molgen sample --fix`: what the user opens has the fragment's atoms first, at their input coordinates."""
    from molgen.cli import main as cli

    out = tmp_path / "fixed.sdf"
    ckpt = str(Path(__file__).resolve().parents[2] / "checkpoints" / "qm9_noh_gaunt_cpu.ckpt")
    assert cli(["sample", "--ckpt", ckpt, "--fix", str(benzene_sdf), "--num", "6", "--steps", "30",
                "--resamplings", "3", "--out", str(out), "--no-progress"]) == 0
    ref = Chem.MolFromMolFile(str(benzene_sdf)).GetConformer().GetPositions()
    mols = list(Chem.SDMolSupplier(str(out), sanitize=False, removeHs=False))
    assert len(mols) == 6
    for mol in mols:
        assert mol.GetIntProp("fixed_atoms") == 6 and mol.GetNumAtoms() > 6
        xyz = mol.GetConformer().GetPositions()
        assert abs(xyz[:6] - ref).max() < 1e-3  # the SDF keeps 4 decimals
        assert [a.GetSymbol() for a in mol.GetAtoms()][:6] == ["C"] * 6
    assert cli(["sample", "--ckpt", ckpt, "--fix", str(tmp_path / "none.sdf"), "--num", "2",
                "--out", str(tmp_path / "x.sdf")]) == 2
    assert "none.sdf" in capsys.readouterr().err and not (tmp_path / "x.sdf").exists()


def test_cli_fix_with_qed_guidance_keeps_the_fragment_and_writes_the_score(benzene_sdf, tmp_path):
    """`molgen sample --fix FRAGMENT --guide qed`: every molecule holds the fragment in place, carries the
    score it was guided by, and has its own title."""
    from molgen.cli import main as cli

    out = tmp_path / "fixed_guided.sdf"
    assert cli(["sample", "--ckpt", str(HEAVY), "--fix", str(benzene_sdf), "--guide", "qed", "--guide-every", "2",
                "--num", "6", "--batch-size", "3", "--steps", "12", "--resamplings", "2", "--out", str(out),
                "--no-progress"]) == 0
    ref = Chem.MolFromMolFile(str(benzene_sdf)).GetConformer().GetPositions()
    mols = list(Chem.SDMolSupplier(str(out), sanitize=False, removeHs=False))
    assert len(mols) == 6
    assert sorted(m.GetProp("_Name") for m in mols) == [f"sample_{k}" for k in range(6)]
    for mol in mols:
        assert mol.GetIntProp("fixed_atoms") == 6 and mol.HasProp("score_qed")
        assert abs(mol.GetConformer().GetPositions()[:6] - ref).max() < 1e-3


class RecordingScorer:
    """Scores every molecule 0 and keeps what it was given."""

    name, temperature = "recording", 1.0

    def __init__(self):
        self.seen: list[MolGraph] = []

    def score(self, graphs):
        self.seen.extend(graphs)
        return [0.0] * len(graphs)


@pytest.mark.parametrize("resamplings", [1, 2])
def test_the_guide_after_the_inpainter_scores_estimates_that_hold_the_fragment(heavy, benzene_sdf, resamplings):
    """The hooks share one step context: the inpainter merges the clean fragment into the estimate (after its
    last RePaint pass) and the guide, run next, scores exactly that."""
    from molgen.generate.guidance import ImportanceGuide
    from molgen.generate.options import Guidance

    fragment = FixedFragment.from_sdf(benzene_sdf, heavy.diffusion)
    scorer = RecordingScorer()
    guide = ImportanceGuide(scorer, Guidance(every=1), heavy.diffusion.num_steps)
    generator = torch.Generator().manual_seed(0)
    inpainter = Inpainter(heavy.diffusion, fragment, resamplings)
    sample_batch(heavy.denoiser, heavy.diffusion, torch.full((2,), 8), step_schedule(heavy.diffusion.num_steps, 4),
                 generator=generator, hooks=[inpainter, guide],
                 initial=functools.partial(inpainter.initial, generator=generator))
    assert len(scorer.seen) == 2 * 4
    for graph in scorer.seen:
        assert torch.equal(graph.atom_types[:6], fragment.graph.atom_types)
        inner = graph.subgraph(torch.arange(graph.num_atoms) < 6)
        assert torch.equal(inner.dense_bonds(), fragment.graph.dense_bonds())
        assert float((graph.pos[:6] - fragment.graph.pos).abs().max()) < 1e-4


def test_repaint_passes_renoise_and_step_through_the_diffusion(heavy, benzene_sdf):
    """With u = 2 the inpainter calls the network once more per jump and hands on that pass's estimate."""
    fragment = FixedFragment.from_sdf(benzene_sdf, heavy.diffusion)
    calls = []

    def counting(batch, t):
        calls.append(float(t[0]))
        return heavy.denoiser(batch, t)

    state = prior(heavy.diffusion, 2, 8)
    stale = replace(state, atom_types=torch.zeros_like(state.atom_types))  # an estimate the pass must replace
    context = StepContext(state, stale, 300, 250, counting, heavy.diffusion, torch.Generator().manual_seed(0))
    Inpainter(heavy.diffusion, fragment, resamplings=2)(context)
    assert calls == [pytest.approx(300 / heavy.diffusion.num_steps)]  # one extra jump, from t
    fixed = (torch.arange(16) - context.x0.ptr[context.x0.batch]) < 6
    assert torch.equal(context.x0.atom_types[fixed], fragment.graph.atom_types.repeat(2))
    assert bool((context.x0.atom_types[~fixed] != 0).any())  # the free atoms are the new pass's estimate
