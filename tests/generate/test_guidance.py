"""Importance-sampling guidance: weights, systematic resampling, groups, schedule, and real sampling runs."""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from molgen.chem.molgraph import MolBatch, MolGraph
from molgen.diffusion.reverse import StepContext, fixed_or_sampled_atoms, sample_batch, step_schedule
from molgen.errors import MolgenInputError
from molgen.generate.guidance import (
    ImportanceGuide,
    context_groups,
    effective_sample_size,
    importance_weights,
    systematic_resample,
)
from molgen.generate.options import Guidance
from molgen.generate.scorers import QEDScorer

ROOT = Path(__file__).resolve().parents[2]


class TableScorer:
    """Fake scorer: the score of a molecule is ``table[props["id"]]``; counts its calls."""

    name = "table"
    temperature = 1.0

    def __init__(self, table: dict[int, float]):
        self.table, self.calls = table, 0

    def score(self, graphs: list[MolGraph]) -> np.ndarray:
        self.calls += 1
        return np.array([self.table[g.props["id"]] for g in graphs], dtype=np.float64)


def toy_batch(pockets: list[str | None]) -> MolBatch:
    """One molecule per entry, k + 1 carbon atoms for molecule k (so copies are visible in ``ptr``)."""
    graphs = []
    for k, pocket in enumerate(pockets):
        n = k + 1
        props = {"id": k} if pocket is None else {"id": k, "pocket": pocket}
        graphs.append(MolGraph(pos=torch.randn(n, 3), atom_types=torch.ones(n, dtype=torch.long),
                               charges=torch.zeros(n, dtype=torch.long), bond_index=torch.zeros(2, 0, dtype=torch.long),
                               bond_types=torch.zeros(0, dtype=torch.long), name=f"sample_{k}", props=props))
    return MolBatch.from_graphs(graphs)


def ids(batch: MolBatch) -> list[int]:
    return [p["id"] for p in batch.props]


def make_guide(scorer, num_steps: int = 10, **settings) -> ImportanceGuide:
    """A guide of one chunk with ``Guidance(**settings)`` (every jump by default) over T = ``num_steps``."""
    return ImportanceGuide(scorer, Guidance(**{"every": 1, **settings}), num_steps)


def jump(guide: ImportanceGuide, state: MolBatch, t: int, s: int, generator=None) -> MolBatch:
    """The state ``guide`` leaves after the jump t -> s (the clean estimate is the state itself)."""
    context = StepContext(state, state, t, s, model=None, diffusion=None, generator=generator)
    guide(context)
    return context.state


def test_importance_weights_handle_nan_infinity_and_temperature():
    w = importance_weights(np.array([0.0, 1.0, np.nan]), temperature=0.5)
    assert w[2] == 0.0 and w.sum() == pytest.approx(1.0)
    assert w[1] / w[0] == pytest.approx(math.exp(2.0))  # exp((1 - 0) / 0.5)
    assert importance_weights(np.array([np.nan, np.nan]), 1.0).tolist() == [0.5, 0.5]
    assert importance_weights(np.array([1e6, 3.0, -1e6]), 1.0).tolist() == [1.0, 0.0, 0.0]
    assert importance_weights(np.array([np.inf, 2.0, np.inf]), 1.0).tolist() == [0.5, 0.0, 0.5]
    assert importance_weights(np.array([-np.inf, 0.0]), 1.0).tolist() == [0.0, 1.0]


def test_effective_sample_size_spans_one_to_n():
    assert effective_sample_size(np.full(8, 1 / 8)) == pytest.approx(8.0)
    assert effective_sample_size(np.eye(8)[3]) == pytest.approx(1.0)
    assert effective_sample_size(np.array([0.5, 0.5, 0.0, 0.0])) == pytest.approx(2.0)


def test_systematic_resampling_gives_floor_or_ceil_copies_and_is_reproducible():
    rng = np.random.default_rng(0)
    for seed in range(20):
        w = rng.dirichlet(np.ones(7))
        index = systematic_resample(w, torch.Generator().manual_seed(seed))
        copies = np.bincount(index, minlength=7)
        assert copies.sum() == 7
        assert ((copies == np.floor(7 * w)) | (copies == np.ceil(7 * w))).all(), (w, copies)
        again = systematic_resample(w, torch.Generator().manual_seed(seed))
        assert index.tolist() == again.tolist()
    assert systematic_resample(np.full(5, 0.2), torch.Generator().manual_seed(1)).tolist() == [0, 1, 2, 3, 4]
    assert systematic_resample(np.array([0.0, 0.0, 1.0]), torch.Generator().manual_seed(1)).tolist() == [2, 2, 2]


def test_context_groups_by_pocket_in_first_seen_order():
    groups = context_groups([{"pocket": "b"}, {}, {"pocket": "a"}, {"pocket": "b"}, {}])
    assert [g.tolist() for g in groups] == [[0, 3], [1, 4], [2]]
    assert [g.tolist() for g in context_groups([{"pocket": [1, 2]}, {"pocket": [1, 2]}])] == [[0, 1]]


def test_a_dominant_molecule_takes_every_slot_of_its_group_only():
    state = toy_batch(["A", "B", "A", "B", "A", "B"])
    scores = {0: 0.0, 1: 5.0, 2: 1e6, 3: 0.0, 4: np.nan, 5: 0.0}
    guide = make_guide(TableScorer(scores), ess_threshold=1.0)
    out = jump(guide, state, 10, 9, torch.Generator().manual_seed(0))
    assert ids(out) == [2, 1, 2, 1, 2, 1]  # pocket A: molecule 2 everywhere; pocket B: molecule 1
    assert [p["pocket"] for p in out.props] == ["A", "B"] * 3  # groups never mix
    assert out.num_atoms.tolist() == [3, 2, 3, 2, 3, 2]  # whole molecules are copied
    assert out.names == state.names  # each slot keeps its name
    entry = guide.history[-1]
    assert entry["resampled"] and entry["scored_fraction"] == pytest.approx(5 / 6)
    assert entry["mean_score_after"] > entry["mean_score"]


def test_uniform_scores_keep_the_batch():
    state = toy_batch([None] * 5)
    always = make_guide(TableScorer(dict.fromkeys(range(5), 0.3)), ess_threshold=1.0)
    assert ids(jump(always, state, 10, 9, torch.Generator().manual_seed(3))) == [0, 1, 2, 3, 4]
    adaptive = make_guide(TableScorer(dict.fromkeys(range(5), 0.3)))  # ESS / G = 1 > 0.5: no resampling
    assert jump(adaptive, state, 10, 9) is state
    assert adaptive.history[-1]["ess_fraction"] == pytest.approx(1.0) and adaptive.num_resamplings == 0
    all_nan = make_guide(TableScorer(dict.fromkeys(range(5), math.nan)))
    assert jump(all_nan, state, 10, 9) is state  # nothing scorable: uniform weights


def test_resampling_follows_the_weights_and_the_generator():
    state = toy_batch([None] * 8)
    table = {k: float(k) for k in range(8)}
    runs = [ids(jump(make_guide(TableScorer(table), temperature=2.0, ess_threshold=1.0), state, 10, 9,
                     torch.Generator().manual_seed(seed))) for seed in (5, 5, 6)]
    assert runs[0] == runs[1]
    w = importance_weights(np.arange(8.0), 2.0)
    for run in runs:
        copies = np.bincount(run, minlength=8)
        assert ((copies == np.floor(8 * w)) | (copies == np.ceil(8 * w))).all()


def test_schedule_window_and_every_per_chunk():
    """Each chunk gets its own guide: the window and the every-th count start with it, whatever t did before."""
    scorer = TableScorer({0: 1.0, 1: 0.0})
    grid = step_schedule(100, 20)  # 100, 95, ..., 0
    guides = [ImportanceGuide(scorer, Guidance(every=2, start=0.5, stop=0.2), 100, run=chunk) for chunk in (0, 1)]
    for guide in guides:
        state = toy_batch([None, None])
        for t, s in zip(grid[:-1], grid[1:], strict=True):
            state = jump(guide, state, t, s, torch.Generator().manual_seed(t))
    guided = [(e["run"], e["t"]) for guide in guides for e in guide.history]
    assert guided == [(r, t) for r in (0, 1) for t in (50, 40, 30, 20)]
    assert scorer.calls == 8
    once = make_guide(scorer, num_steps=100)  # a guide never restarts by itself when t rises again
    for t in (50, 100, 50):
        jump(once, toy_batch([None, None]), t, t - 5)
    assert [e["run"] for e in once.history] == [0, 0, 0]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"temperature": 0.0}, "--guide-temperature must be > 0"),
    ({"temperature": math.nan}, "--guide-temperature must be > 0"),
    ({"every": 0}, "--guide-every must be an integer in 1.."),
    ({"every": 1.5}, "--guide-every must be an integer in 1.."),
    ({"start": 0.2, "stop": 0.5}, "0 <= stop <= start <= 1"),
    ({"start": 1.5}, "0 <= stop <= start <= 1"),
    ({"ess_threshold": 2.0}, r"Guidance\(ess_threshold\) must be in"),
])
def test_bad_settings_name_the_option(kwargs, message):
    with pytest.raises(MolgenInputError, match=message) as excinfo:
        Guidance(guide="qed", **kwargs)
    assert "--guide-start" not in str(excinfo.value) and "--guide-ess" not in str(excinfo.value)  # no such flags


def test_every_flag_a_message_names_exists():
    """The flags named by Guidance's messages are real `molgen sample` flags."""
    import re

    from molgen.cli.sample import parser

    flags = {option for action in parser()._actions for option in action.option_strings}
    messages = []
    for kwargs in ({"temperature": 0.0}, {"every": 0}, {"keep_top": 0.5}, {"score": "qed", "keep_top": 2.0},
                   {"guide": "logp"}, {"score": "logp"}, {"start": 0.1, "stop": 0.5}, {"ess_threshold": 3.0}):
        with pytest.raises(MolgenInputError) as excinfo:
            Guidance(**kwargs)
        messages.append(str(excinfo.value))
    named = {flag for message in messages for flag in re.findall(r"--[a-z][a-z-]*", message)}
    assert named and named <= flags, named - flags


def test_temperature_defaults_to_the_scorers():
    assert make_guide(QEDScorer()).temperature == QEDScorer.temperature
    assert make_guide(QEDScorer(), temperature=0.3).temperature == 0.3


# ---------------------------------------------------------------- real sampling with the shipped checkpoints


@functools.cache
def shipped(path: str):
    from molgen.generate import load

    return load(ROOT / "checkpoints" / path)


def sample(path: str, num: int, steps: int, seed: int, hooks=()) -> MolBatch:
    """``num`` molecules of the shipped checkpoint ``path`` in ``steps`` jumps, seeded (one chunk)."""
    model = shipped(path)
    diffusion = model.diffusion
    counts = fixed_or_sampled_atoms(diffusion, num, None, torch.Generator().manual_seed(seed))
    return sample_batch(model.denoiser, diffusion, counts, grid=step_schedule(diffusion.num_steps, steps),
                        generator=torch.Generator().manual_seed(seed), hooks=hooks)


def closest_pair(graph: MolGraph) -> float:
    d = torch.cdist(graph.pos, graph.pos) + torch.eye(graph.num_atoms) * 1e9
    return float(d.min())


@pytest.mark.parametrize("checkpoint", ["qm9_noh_gaunt_cpu.ckpt", "qm9_small_cpu.ckpt"])
def test_guided_sampling_runs_and_keeps_sane_geometry(checkpoint):
    guide = make_guide(QEDScorer(), 500, ess_threshold=1.0, every=3, start=0.8)
    batch = sample(checkpoint, 12, 30, seed=3, hooks=[guide])
    graphs = batch.to_graphs()
    assert len(graphs) == 12 and batch.names == [f"sample_{k}" for k in range(12)]
    assert guide.num_resamplings == len(guide.history) == 8  # jumps from t <= 400 of 500, every third
    assert all(torch.isfinite(g.pos).all() for g in graphs)
    shortest = min(closest_pair(g) for g in graphs if g.num_atoms > 1)
    assert shortest > 0.5, f"closest atom pair {shortest:.2f} A"
    assert np.isfinite(QEDScorer().score(graphs)).mean() >= 0.5


@pytest.mark.slow
def test_qed_guidance_raises_mean_qed():
    """Same seeds, 2 x 32 molecules, 50 jumps: guided mean QED ~0.55 vs ~0.46 unguided (measured)."""
    scorer = QEDScorer()
    plain, guided = [], []
    for seed in (0, 1):
        plain.append(scorer.score(sample("qm9_noh_gaunt_cpu.ckpt", 32, 50, seed).to_graphs()))
        guide = make_guide(scorer, 500)
        guided.append(scorer.score(sample("qm9_noh_gaunt_cpu.ckpt", 32, 50, seed, [guide]).to_graphs()))
        assert guide.num_resamplings >= 3
    gain = np.nanmean(np.concatenate(guided)) - np.nanmean(np.concatenate(plain))
    print(f"mean QED unguided {np.nanmean(np.concatenate(plain)):.3f}, guided {np.nanmean(np.concatenate(guided)):.3f}")
    assert gain > 0.04, f"guided minus unguided mean QED = {gain:.3f}"


def test_vina_guidance_in_a_crossdocked_pocket(shared_data: Path, tmp_path):
    """``--guide vina`` pieces: molecules placed at the pocket centre, scored in a fixed 20 A box (maps once)."""
    pytest.importorskip("vina", reason="the dock extra (vina, meeko) is not installed")
    pytest.importorskip("meeko", reason="the dock extra (vina, meeko) is not installed")
    from molgen.dock import Box, box_from_ligand_file
    from molgen.generate.scorers import VinaScorer

    stem = shared_data / "crossdocked" / "targetdiff_examples" / "1h36_A_rec_1h36_r88_lig_tt_docked_0"
    if not stem.with_suffix(".sdf").is_file():
        pytest.skip(f"TargetDiff CrossDocked example not found at {stem}.sdf")
    reference = box_from_ligand_file(stem.with_suffix(".sdf"))
    scorer = VinaScorer(f"{stem}_pocket10.pdb", box=Box(reference.center, (20.0, 20.0, 20.0)),
                        offset=reference.center, cache_dir=tmp_path)
    guide = make_guide(scorer, 500, every=5, start=0.5, ess_threshold=1.0)
    batch = sample("qm9_noh_gaunt_cpu.ckpt", 8, 20, seed=0, hooks=[guide])
    assert batch.num_graphs == 8
    assert [e["t"] for e in guide.history] == [250, 125] and guide.num_resamplings == 2
    assert all(e["scored_fraction"] > 0 for e in guide.history)
    final = scorer.score(batch.to_graphs())
    assert np.isfinite(final).mean() >= 0.5, scorer.failures
