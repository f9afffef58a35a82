"""Training throughput of the denoiser's dense path against its edge-list reference, sgemm-normalised.

One step = diffusion training loss (noise, forward, MSE + cross-entropies) + backward + AdamW, the
``configs/demo.yaml`` model (Gaunt L = 2), on real batches: QM9 heavy atoms (``data/processed/qm9_noh``)
and drug-like heavy atoms (``data/processed/moses_noh``, ``molgen data moses --remove-hs``). Baseline:
the reference path (``path="reference"``) of the same model with the same weights, timed in the same run,
steps interleaved so every path sees the same machine load. Paths: reference, dense, and compiled (the
dense path with its edge stages through ``torch.compile``; compiled during the untimed warm-up). The
core's sgemm rate (512 x 512) is measured in the same run and throughput is reported per GFLOP/s of it.

    OMP_NUM_THREADS=1 python bench/train.py [--batch 32] [--steps 10] [--data-root data]

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from molgen.chem.molgraph import MolBatch
from molgen.config.load import load_config
from molgen.data.stats import compute_statistics
from molgen.data.store import MolStore
from molgen.model import build_denoiser, build_diffusion
from molgen.training.datamodule import marginals_from_statistics

ROOT = Path(__file__).resolve().parents[1]


def sgemm_gflop_s(size: int = 512, repeats: int = 20) -> float:
    """Best-of-three float32 matrix-multiply rate of this core, GFLOP/s."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        for _ in range(repeats):
            a @ b
        best = min(best, (time.process_time() - start) / repeats)
    return 2 * size**3 / best / 1e9


def real_batch(folder: Path, size: int) -> tuple[MolBatch, object]:
    """``size`` random training molecules (seed 0; QM9 is stored by size) and the marginals of the split."""
    store = MolStore(folder / "train")
    picks = torch.randperm(len(store), generator=torch.Generator().manual_seed(0))[:size]
    graphs = [store[int(i)] for i in picks]
    return MolBatch.from_graphs(graphs), marginals_from_statistics(compute_statistics(store))


def time_paths(batch: MolBatch, marginals, steps: int) -> dict[str, float]:
    """Median CPU seconds per training step of each path (same model, same weights, interleaved)."""
    config = load_config(ROOT / "configs" / "demo.yaml")
    torch.manual_seed(0)
    model = build_denoiser(config).train()
    diffusion = build_diffusion(config, marginals)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    times: dict[str, list[float]] = {"reference": [], "dense": [], "compiled": []}

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        diffusion.training_loss(model, batch, generator=torch.Generator().manual_seed(1))["loss"].backward()
        opt.step()

    for _ in range(2):  # warm-up of every path (the compiled one compiles here, not timed)
        for path in times:
            model.set_path(path)
            step()
    for _ in range(steps):
        for path in times:
            model.set_path(path)
            start = time.process_time()
            step()
            times[path].append(time.process_time() - start)
    return {path: statistics.median(t) for path, t in times.items()}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--data-root", type=Path, default=ROOT / "data")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    figures: dict = {"bench": "train", "batch": args.batch, "threads": 1, "baseline": "reference path"}
    for label, name in (("qm9", "qm9_noh"), ("druglike", "moses_noh")):
        folder = args.data_root / "processed" / name
        if not folder.is_dir():
            print(f"{label}: {folder} not found (molgen data ... --remove-hs), skipped")
            continue
        batch, marginals = real_batch(folder, args.batch)
        sgemm = sgemm_gflop_s()
        step_s = time_paths(batch, marginals, args.steps)
        sgemm = (sgemm + sgemm_gflop_s()) / 2  # before and after, as the load drifts
        atoms = float(batch.num_atoms.float().mean())
        for path, seconds in step_s.items():
            mol_s = args.batch / seconds
            figures[f"{label}_{path}_mol_per_s"] = round(mol_s, 2)
            figures[f"{label}_{path}_mol_per_s_per_sgemm_gflop_s"] = round(mol_s / sgemm, 4)
            print(f"{label} ({atoms:.1f} atoms) {path:>9}: {seconds * 1e3:7.1f} ms/step {mol_s:7.1f} mol/s")
        figures[f"{label}_sgemm_gflop_s"] = round(sgemm, 1)
        figures[f"{label}_mean_atoms"] = round(atoms, 2)
        for path in ("dense", "compiled"):
            figures[f"{label}_{path}_speedup"] = round(step_s["reference"] / step_s[path], 3)
        print(f"{label}: sgemm {sgemm:.1f} GFLOP/s, over reference: dense {figures[f'{label}_dense_speedup']:.2f}x, "
              f"compiled {figures[f'{label}_compiled_speedup']:.2f}x")
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
