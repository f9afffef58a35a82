"""Learnability gate: can the model memorise a small real set? Baseline = the training set itself.

Trains configs/learnability.yaml (plus dotted overrides) on the first 100 records of QM9's
``gdb9.sdf`` (all kept records go to the train split), samples ``--num`` molecules with
``--sample-steps`` reverse jumps and reports, per the learnability gate of issue 9:

* ``valid_and_connected``: RDKit sanitises the model's own bonds and charges, one fragment;
* ``reproduces_training``: the fraction of valid & connected molecules whose canonical heavy-atom
  SMILES is a training molecule (memorisation, the point of the gate);
* the same figures from ``molgen.eval`` (basic preset) as a cross-check.

    python bench/learnability.py [--sdf ../shared/data/qm9/gdb9_first100/gdb9.sdf] [--aromatic]
        [--num 200] [--sample-steps 100] [--out runs/learn] [key=value ...]

The last line printed is one JSON object with every figure and the settings.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import torch
from rdkit import Chem, rdBase

from molgen.chem.featurize import reconstruct_mol
from molgen.chem.sanitize import canonical_smiles
from molgen.config.load import load_config
from molgen.data.custom import build_custom
from molgen.data.template import ProcessedDataset
from molgen.generate import load
from molgen.training.train import train

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SDF = ROOT.parent / "shared" / "data" / "qm9" / "gdb9_first100" / "gdb9.sdf"


def learnability(graphs: list, training: set[str]) -> dict[str, float]:
    """Valid & connected fraction and, among those, the fraction that are training molecules."""
    good, memorised = 0, 0
    with rdBase.BlockLogs():
        for g in graphs:
            result = reconstruct_mol(g)
            if not result.sanitized or len(Chem.GetMolFrags(result.mol)) != 1:
                continue
            good += 1
            memorised += canonical_smiles(result.mol) in training
    return {"valid_and_connected": good / len(graphs), "reproduces_training": memorised / max(good, 1)}


def cross_check(graphs: list) -> dict[str, float]:
    from molgen.eval import evaluate_molecules

    report = evaluate_molecules([reconstruct_mol(g, sanitize=False).mol for g in graphs], metrics="basic")
    keys = ("validity/valid", "validity/valid_and_connected", "stability/mol_stable_corrected",
            "stability/atom_stable_corrected")
    return {k: round(float(report[k]), 4) for k in keys if k in report}


def run(sdf: str | Path, out: str | Path, overrides: list[str], *, heavy: bool = False, aromatic: bool = False,
        num: int = 200, sample_steps: int = 100, ckpt: str | None = None) -> dict:
    """Train configs/learnability.yaml (plus ``overrides``) on ``sdf`` from scratch, sample, score: the figures."""
    out = Path(out)
    name = ("learn_aromatic" if aromatic else "learn_kekule") + ("_heavy" if heavy else "")
    build_custom(sdf, name, out / "data", fractions={"train": 1.0}, kekulize=not aromatic, remove_hs=heavy,
                 progress=False, log=None)
    training = {g.smiles for g in ProcessedDataset(out / "data", name, "train")}
    config = load_config(ROOT / "configs" / "learnability.yaml",
                         [f"dataset.root={out / 'data'}", f"dataset.name={name}",
                          f"trainer.output_dir={out / 'run'}", *overrides])
    start = time.perf_counter()
    if ckpt is None:
        shutil.rmtree(out / "run", ignore_errors=True)  # every measurement trains from scratch
        ckpt = train(config)
    train_minutes = (time.perf_counter() - start) / 60
    start = time.perf_counter()
    graphs = load(ckpt).sample(num, steps=sample_steps, seed=0, batch_size=100)
    sample_seconds = time.perf_counter() - start
    figures = {k: round(v, 4) for k, v in learnability(graphs, training).items()}
    return {"benchmark": "learnability", "baseline": "the training set (1.0 / 1.0)",
            "training_molecules": len(training), "kekule": not aromatic, "heavy_atoms": heavy,
            "overrides": list(overrides), "max_steps": config.optim.max_steps, "train_minutes": round(train_minutes, 2),
            "sample_seconds": round(sample_seconds, 1), "sample_steps": sample_steps, "num": num, **figures,
            "molgen_eval": cross_check(graphs)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sdf", default=str(DEFAULT_SDF), help="the small real set (default: gdb9 first 100)")
    p.add_argument("--aromatic", action="store_true", help="aromatic bond class instead of Kekulé bonds")
    p.add_argument("--heavy", action="store_true", help="heavy atoms only (H implied, added in 3D at sampling)")
    p.add_argument("--num", type=int, default=200, help="molecules to sample")
    p.add_argument("--sample-steps", type=int, default=100)
    p.add_argument("--out", default="runs/learnability", help="working folder (data, run, samples)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--ckpt", default=None, help="evaluate this checkpoint of an earlier run instead of training")
    p.add_argument("overrides", nargs="*", help="dotted config overrides, e.g. optim.max_steps=3000")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    result = run(args.sdf, args.out, args.overrides, heavy=args.heavy, aromatic=args.aromatic, num=args.num,
                 sample_steps=args.sample_steps, ckpt=args.ckpt)
    print(f"{result['training_molecules']} training molecules; {result['max_steps']} steps in "
          f"{result['train_minutes']:.1f} min: valid & connected {result['valid_and_connected']:.3f}, "
          f"of which training molecules {result['reproduces_training']:.3f}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
