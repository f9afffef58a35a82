"""Sampling groups molecules of similar size into its batches (less padding on the dense path) and still
returns them in the job's order: sample_k at place k with the k-th drawn atom count, same seed, same molecules."""

from __future__ import annotations

from pathlib import Path

import molgen.generate.generator as generator_module
from molgen.generate import SampleOptions, load
from molgen.generate.generator import _atom_counts

ROOT = Path(__file__).resolve().parents[2]
CKPT = ROOT / "checkpoints" / "qm9_noh_gaunt_cpu.ckpt"


def record_batches(monkeypatch) -> list[list[int]]:
    """The atom counts of every batch the sampler is given, in order (sampling itself unchanged)."""
    seen: list[list[int]] = []
    real = generator_module.sample_batch

    def spy(denoiser, diffusion, counts, **kwargs):
        seen.append(counts.tolist())
        return real(denoiser, diffusion, counts, **kwargs)

    monkeypatch.setattr(generator_module, "sample_batch", spy)
    return seen


def test_batches_hold_similar_sizes_and_output_keeps_the_job_order(monkeypatch) -> None:
    model = load(CKPT)
    options = SampleOptions(num=24, batch_size=5, steps=3, seed=7, progress=False, hydrogens=False)
    drawn = _atom_counts(model.diffusion, options, None).tolist()
    assert len(set(drawn)) > 2, "the test needs several sizes"
    seen = record_batches(monkeypatch)
    graphs = model.sample(options)
    assert [len(c) for c in seen] == [5, 5, 5, 5, 4]
    flat = [n for chunk in seen for n in chunk]
    assert flat == sorted(drawn), "batches are not grouped by size"
    assert [g.name for g in graphs] == [f"sample_{k}" for k in range(24)]
    assert [g.num_atoms for g in graphs] == drawn
    again = model.sample(options)
    assert all(a.atom_types.tolist() == b.atom_types.tolist() for a, b in zip(graphs, again, strict=True))


def test_reference_path_keeps_the_drawn_order(monkeypatch) -> None:
    """Without padding (the edge-list path, pocket models) nothing is gained by grouping: batches in job order."""
    model = load(CKPT)
    model.denoiser.set_path("reference")
    options = SampleOptions(num=9, batch_size=4, steps=2, seed=7, progress=False, hydrogens=False)
    drawn = _atom_counts(model.diffusion, options, None).tolist()
    seen = record_batches(monkeypatch)
    graphs = model.sample(options)
    assert [n for chunk in seen for n in chunk] == drawn
    assert [g.num_atoms for g in graphs] == drawn
