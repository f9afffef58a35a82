"""Sampling throughput (molecules/s) at 500 / 100 / 50 reverse steps, baseline = 500 steps (same run).

Without ``--ckpt`` it times an untrained model with the architecture of configs/demo.yaml on
QM9-sized molecules (``--atoms``, default 18, the QM9 mean with hydrogens); with ``--ckpt`` it
samples from that checkpoint and also reports validity / connectivity / stability per step count.

    python bench/sample.py [--ckpt CKPT] [--num 32] [--atoms 18] [--threads 1]

The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from molgen.chem.featurize import reconstruct_mol
from molgen.config.load import load_config
from molgen.diffusion.marginals import Marginals
from molgen.generate import MoleculeGenerator, load
from molgen.model import build_denoiser, build_diffusion

STEPS = (500, 100, 50)
ROOT = Path(__file__).resolve().parents[1]


def untrained(atoms: int) -> MoleculeGenerator:
    config = load_config(ROOT / "configs" / "demo.yaml")
    hist = torch.zeros(atoms + 1)
    hist[atoms] = 1.0
    marginals = Marginals(atom_types=torch.ones(16), charges=torch.ones(6), bonds=torch.ones(5), num_atoms=hist)
    return MoleculeGenerator(build_denoiser(config).eval(), build_diffusion(config, marginals), config,
                             torch.device("cpu"))


def quality(graphs: list) -> dict[str, float]:
    from molgen.eval import evaluate_molecules

    report = evaluate_molecules([reconstruct_mol(g, sanitize=False).mol for g in graphs], metrics="basic")
    keys = ("validity/valid", "validity/valid_and_connected", "stability/mol_stable_corrected",
            "stability/atom_stable_corrected", "validity/uniqueness")
    return {k: float(report[k]) for k in keys if k in report}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ckpt", default=None)
    p.add_argument("--num", type=int, default=32)
    p.add_argument("--atoms", type=int, default=18)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    model, atoms = (load(args.ckpt), None) if args.ckpt else (untrained(args.atoms), args.atoms)
    results: dict[str, dict[str, float]] = {}
    for steps in STEPS:
        start = time.perf_counter()
        graphs = model.sample(args.num, steps=steps, atoms=atoms, seed=0, batch_size=args.num)
        seconds = time.perf_counter() - start
        results[str(steps)] = {"seconds": round(seconds, 3), "mol_per_s": round(args.num / seconds, 3)}
        if args.ckpt:
            results[str(steps)].update(quality(graphs))
    base = results["500"]["mol_per_s"]
    for steps in STEPS:
        r = results[str(steps)]
        r["speedup_vs_500"] = round(r["mol_per_s"] / base, 2)
        extra = "  ".join(f"{k}={v:.3f}" for k, v in r.items() if "/" in k)
        print(f"{steps:>4} steps: {r['mol_per_s']:8.3f} mol/s  ({r['speedup_vs_500']:.2f}x vs 500 steps)  {extra}")
    print(json.dumps({"benchmark": "sample_throughput", "baseline": "500 steps", "num_molecules": args.num,
                      "atoms": atoms, "ckpt": args.ckpt, "threads": args.threads, "results": results}))


if __name__ == "__main__":
    main()
