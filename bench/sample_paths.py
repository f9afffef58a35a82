"""Sampling throughput of the denoiser's paths from one checkpoint, baseline = the edge-list reference.

``num`` molecules at ``steps`` reverse jumps (sizes drawn from the training histogram, seed 0), on the
reference path (``path="reference"``, baseline) and the dense path, each at batch size ``--batch`` and
the dense path also at ``--big-batch`` (fewer, larger operations per jump), all in the same run. The
core's sgemm rate is measured before and after and throughput reported per GFLOP/s of it. Quality
(``basic`` metrics on the model's own bonds) is printed per arm: the paths compute the same network, so
validity must agree within sampling noise.

    OMP_NUM_THREADS=1 python bench/sample_paths.py --ckpt checkpoints/qm9_noh_gaunt_cpu.ckpt [--num 1000]

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sample import quality  # noqa: E402  (bench/sample.py: basic metrics of generated graphs)
from train import sgemm_gflop_s  # noqa: E402  (bench/train.py: this core's sgemm rate)

from molgen.generate import SampleOptions, load  # noqa: E402


def arm(model, path: str, num: int, steps: int, batch: int) -> dict:
    """Seconds (CPU and wall) and quality of one sampling job on ``path``."""
    model.denoiser.set_path(path)
    options = SampleOptions(num=num, steps=steps, seed=0, batch_size=batch, progress=False, hydrogens=False)
    cpu, wall = time.process_time(), time.perf_counter()
    graphs = model.sample(options)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"path": path, "batch": batch, "cpu_seconds": round(cpu, 2), "wall_seconds": round(wall, 2),
            "mol_per_cpu_s": round(num / cpu, 3), **quality(graphs)}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ckpt", required=True)
    p.add_argument("--num", type=int, default=1000)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--batch", type=int, default=64, help="molgen sample's default batch size")
    p.add_argument("--big-batch", type=int, default=256)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    model = load(args.ckpt)
    sgemm = sgemm_gflop_s()
    arms = [arm(model, "reference", args.num, args.steps, args.batch),
            arm(model, "dense", args.num, args.steps, args.batch),
            arm(model, "dense", args.num, args.steps, args.big_batch)]
    sgemm = (sgemm + sgemm_gflop_s()) / 2
    base = arms[0]["mol_per_cpu_s"]
    for a in arms:
        a["speedup_vs_reference"] = round(a["mol_per_cpu_s"] / base, 3)
        a["mol_per_cpu_s_per_sgemm_gflop_s"] = round(a["mol_per_cpu_s"] / sgemm, 5)
        print(f"{a['path']:>9} batch {a['batch']:>4}: {a['cpu_seconds']:8.1f} CPU s  {a['mol_per_cpu_s']:7.2f} mol/s  "
              f"{a['speedup_vs_reference']:.2f}x  valid {a.get('validity/valid', float('nan')):.3f}  "
              f"valid&connected {a.get('validity/valid_and_connected', float('nan')):.3f}")
    figures = {"bench": "sample_paths", "baseline": "reference path", "ckpt": args.ckpt, "num": args.num,
               "steps": args.steps, "threads": 1, "sgemm_gflop_s": round(sgemm, 1), "arms": arms}
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
