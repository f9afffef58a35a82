"""Does Gaunt pay? Sample quality at equal wall-clock training budgets; baseline = the L = 1 EQGAT-diff arm.

Each arm is ``--config`` (default configs/demo.yaml) with the model settings below (plus dotted
overrides), trained on a processed dataset (default ``qm9_noh``: QM9 heavy atoms, hydrogens implied at writing) for
``--minutes`` of wall clock, with snapshot checkpoints on the way. ``eval`` samples ``--num``
molecules at ``--steps`` jumps from a checkpoint and scores them with ``molgen.eval`` (basic).
Run the arms as concurrent processes so that they share the machine's load equally.

    python bench/quality_vs_time.py train --arm L1_small --minutes 15 --out runs/qvt [key=value ...]
    python bench/quality_vs_time.py train --arm L2_gaunt --config configs/moses.yaml --dataset moses_noh ...
    python bench/quality_vs_time.py train --arm L2_gaunt_wide ... --resume \
        --from checkpoints/druglike_noh_gaunt_cpu.ckpt
    python bench/quality_vs_time.py eval runs/qvt/L1_small/checkpoints/minutes=15.ckpt --num 500
    python bench/quality_vs_time.py plot runs/qvt_eval.jsonl --out bench/quality_vs_time.png

Each command prints, as its last line, one JSON object with its figures.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import torch

from molgen.config.load import load_config
from molgen.generate import load
from molgen.safe_load import load_checkpoint

ROOT = Path(__file__).resolve().parents[1]
ARMS: dict[str, list[str]] = {
    "L1_small": ["model.num_layers=3", "model.scalar_dim=48", "model.vector_dim=16", "model.edge_dim=8",
                 "model.lmax=1", "model.tensor_product=null"],
    "L1_wide": ["model.num_layers=4", "model.scalar_dim=96", "model.vector_dim=32", "model.edge_dim=32",
                "model.lmax=1", "model.tensor_product=null"],
    "L2_gaunt": ["model.num_layers=3", "model.scalar_dim=48", "model.vector_dim=16", "model.edge_dim=8",
                 "model.lmax=2", "model.tensor_product=gaunt"],
    "L2_gaunt_wide": ["model.num_layers=4", "model.scalar_dim=64", "model.vector_dim=16", "model.edge_dim=16",
                      "model.lmax=2", "model.tensor_product=gaunt"],
    "L3_gaunt": ["model.num_layers=3", "model.scalar_dim=48", "model.vector_dim=16", "model.edge_dim=8",
                 "model.lmax=3", "model.tensor_product=gaunt"],
}
KEYS = ("validity/valid", "validity/valid_and_connected", "stability/mol_stable_corrected",
        "stability/atom_stable_corrected", "validity/uniqueness")


def train_arm(args: argparse.Namespace) -> dict:
    from molgen.training.train import train

    out = Path(args.out) / args.arm
    snapshots = sorted({m for m in (15.0, 30.0, 60.0, 120.0, 240.0, 480.0) if m < args.minutes} | {args.minutes})
    config = load_config(ROOT / args.config, [
        f"dataset.root={args.root}", f"dataset.name={args.dataset}", f"trainer.output_dir={out}",
        f"optim.max_minutes={args.minutes}", f"trainer.snapshot_minutes={snapshots}", "optim.max_steps=10000000",
        "trainer.checkpoint_every=500", *ARMS[args.arm], *args.overrides])
    if not args.resume:
        shutil.rmtree(out, ignore_errors=True)
    elif args.start_from is not None:
        seed_run(out / "checkpoints", Path(args.start_from))
    start = time.perf_counter()
    last = train(config, resume=args.resume)
    step = int(load_checkpoint(last)["global_step"])
    params = sum(p.numel() for p in load(last).denoiser.parameters())
    return {"benchmark": "quality_vs_time/train", "arm": args.arm, "minutes": args.minutes, "steps": step,
            "params": params, "wall_minutes": round((time.perf_counter() - start) / 60, 2), "checkpoint": str(last),
            "overrides": ARMS[args.arm] + args.overrides}


def seed_run(checkpoints: Path, source: Path) -> None:
    """Start a resumed arm from ``source`` (a full Lightning checkpoint, e.g. the shipped campaign checkpoint)
    when the arm has no checkpoint of its own: ``runs/`` is not carried from one session to the next, the
    committed checkpoint is."""
    if any(checkpoints.glob("*.ckpt")):
        raise SystemExit(f"--from: {checkpoints} already holds checkpoints; resume it without --from")
    if "optimizer_states" not in load_checkpoint(source):
        raise SystemExit(f"--from: {source} has no optimizer state (weights only); it cannot be resumed")
    checkpoints.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, checkpoints / "last.ckpt")


def eval_checkpoint(args: argparse.Namespace) -> dict:
    from molgen.chem.featurize import reconstruct_mol
    from molgen.eval import evaluate_molecules

    start = time.perf_counter()
    graphs = load(args.ckpt).sample(args.num, steps=args.steps, seed=args.seed, batch_size=100)
    seconds = time.perf_counter() - start
    report = evaluate_molecules([reconstruct_mol(g, sanitize=False).mol for g in graphs], metrics="basic")
    figures = {k: round(float(report[k]), 4) for k in KEYS if k in report}
    return {"benchmark": "quality_vs_time/eval", "checkpoint": args.ckpt, "num": args.num, "steps": args.steps,
            "sample_seconds": round(seconds, 1), **figures}


def plot(args: argparse.Namespace) -> dict:
    """Valid & connected against training minutes, one line per arm, from ``eval`` JSON lines."""
    import re

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves: dict[str, list[tuple[float, float]]] = {}
    for line in Path(args.evals).read_text().splitlines():
        row = json.loads(line)
        found = re.search(r"([A-Za-z0-9_]+)/checkpoints/minutes=([0-9.]+)\.ckpt", row["checkpoint"])
        if found:
            curves.setdefault(found[1], []).append((float(found[2]), row["validity/valid_and_connected"]))
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for arm, points in sorted(curves.items()):
        points.sort()
        ax.plot(*zip(*points, strict=True), marker="o", label=arm)
    ax.set_xlabel("training minutes (wall clock, shared 2-core CPU)")
    ax.set_ylabel("valid & connected (100 steps)")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.savefig(args.out, dpi=100, bbox_inches="tight")
    return {"benchmark": "quality_vs_time/plot", "out": args.out,
            "curves": {arm: sorted(points) for arm, points in curves.items()}}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train")
    t.add_argument("--arm", choices=sorted(ARMS), required=True)
    t.add_argument("--minutes", type=float, default=15.0)
    t.add_argument("--config", default="configs/demo.yaml", help="base config the arm's settings override")
    t.add_argument("--root", default="data")
    t.add_argument("--dataset", default="qm9_noh")
    t.add_argument("--out", default="runs/quality_vs_time")
    t.add_argument("--resume", action="store_true", help="continue the arm's run (a longer --minutes)")
    t.add_argument("--from", dest="start_from", help="with --resume: continue from this full checkpoint when the "
                   "arm has none (the committed campaign checkpoint, e.g. checkpoints/druglike_noh_gaunt_cpu.ckpt)")
    t.add_argument("overrides", nargs="*")
    e = sub.add_parser("eval")
    e.add_argument("ckpt")
    e.add_argument("--num", type=int, default=500)
    e.add_argument("--steps", type=int, default=100)
    e.add_argument("--seed", type=int, default=0)
    g = sub.add_parser("plot")
    g.add_argument("evals", help="a file of `eval` JSON lines")
    g.add_argument("--out", default="bench/quality_vs_time.png")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    commands = {"train": train_arm, "eval": eval_checkpoint, "plot": plot}
    result = commands[args.command](args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
