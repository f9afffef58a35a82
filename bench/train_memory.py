"""Peak memory of one training step by denoiser path, drug-like heavy atoms at batch 128 (issue 16's bound).

Each path runs in a fresh process (so one path's allocator cache cannot hide another's peak): load the
``configs/demo.yaml`` model and a real batch of ``--batch`` MOSES-3D molecules (``data/processed/moses_noh``,
seed 0, as ``bench/train.py``); the process's resident set is read before the first step and its peak
(``ru_maxrss``) after ``--steps`` steps (loss, backward, AdamW; the first also makes the optimizer's state
and, compiled, the graphs). Reported: the steps' peak above the resident set before them (activations,
gradients, optimizer state), per path, and each path over the reference (baseline).

    OMP_NUM_THREADS=1 python bench/train_memory.py [--batch 128] [--paths reference,dense,compiled]

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _rss_mib() -> float:
    """The process's resident set now, MiB (Linux /proc)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def one_path(path: str, batch_size: int, steps: int, data_root: Path) -> dict:
    """In this process: the peak MiB of ``steps`` training steps of ``path`` above the resident set before."""
    import torch

    sys.path.insert(0, str(ROOT / "bench"))
    from train import real_batch

    from molgen.config.load import load_config
    from molgen.model import build_denoiser, build_diffusion

    torch.set_num_threads(1)
    batch, marginals = real_batch(data_root / "processed" / "moses_noh", batch_size)
    config = load_config(ROOT / "configs" / "demo.yaml")
    torch.manual_seed(0)
    model = build_denoiser(config).train()
    model.set_path(path)
    diffusion = build_diffusion(config, marginals)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        diffusion.training_loss(model, batch, generator=torch.Generator().manual_seed(1))["loss"].backward()
        opt.step()

    before = _rss_mib()
    for _ in range(steps):
        step()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {"path": path, "rss_before_mib": round(before, 1), "peak_mib": round(peak, 1),
            "step_peak_mib": round(peak - before, 1), "mean_atoms": round(float(batch.num_atoms.float().mean()), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--paths", default="reference,dense,compiled")
    parser.add_argument("--data-root", type=Path, default=ROOT / "data")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one path in this process
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_path(args.one, args.batch, args.steps, args.data_root)))
        return
    rows = {}
    for path in args.paths.split(","):
        done = subprocess.run([sys.executable, __file__, "--one", path, "--batch", str(args.batch), "--steps",
                               str(args.steps), "--data-root", str(args.data_root)],
                              capture_output=True, text=True, check=True)
        rows[path] = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"{path:>9}: step peak {rows[path]['step_peak_mib']:8.1f} MiB above {rows[path]['rss_before_mib']:.0f}")
    base = rows.get("reference", {}).get("step_peak_mib")
    print(json.dumps({"bench": "train_memory", "batch": args.batch, "baseline": "reference path", "paths": rows,
                      **{f"{p}_over_reference": round(r["step_peak_mib"] / base, 3)
                         for p, r in rows.items() if base}}))


if __name__ == "__main__":
    main()
