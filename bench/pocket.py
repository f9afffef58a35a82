"""Pocket-conditioned sampling on CPU: seconds per pocket for N ligands, their quality and Vina scores,
and guided (``--guide vina``) against unguided sampling from the same model.

Pockets (``../shared/data``): AutoDock Vina's 1iep example, DiffSBDD's 3rfm, Pocket2Mol's 4yhj,
TargetDiff's 1h36 CrossDocked test pocket, and one CrossDocked training pocket (1B57) for
contrast; each cut around its reference ligand exactly as ``molgen sample --pocket PDB
--ref-ligand LIG`` does. Quality: RDKit validity and connectivity of the written molecules
(hydrogens implied for heavy-atom models), Vina score of the generated pose and after local
minimisation (TargetDiff's "Vina Score" / "Vina Min", box around each ligand), the reference
ligand's own scores as the baseline, and the time per pocket.

    python bench/pocket.py sample --ckpt checkpoints/crossdocked_pocket_cpu.ckpt --num 100 --steps 100
    python bench/pocket.py guide --ckpt ... --num 32 --steps 100 [--pockets 1iep,3rfm]

Each command prints, as its last line, one JSON object with its figures.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from pathlib import Path

from rdkit import Chem

from molgen.chem.featurize import reconstruct_mol
from molgen.eval import evaluate_molecules
from molgen.eval.group import EvalOptions
from molgen.generate import Guidance, PocketContext, SampleOptions, load

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
POCKETS: dict[str, tuple[str, str]] = {  # name -> (receptor PDB, reference ligand), relative to SHARED
    "1iep": ("docking/vina_1iep/1iep_receptorH.pdb", "docking/vina_1iep/1iep_ligand.sdf"),
    "3rfm": ("docking/diffsbdd_examples/3rfm.pdb", "docking/diffsbdd_examples/3rfm_B_CFF.sdf"),
    "4yhj": ("docking/pocket2mol_example/4yhj.pdb", "docking/pocket2mol_example/4yhj_reference_ligand.sdf"),
    "1h36": ("crossdocked/targetdiff_examples/1h36_A_rec_1h36_r88_lig_tt_docked_0_pocket10.pdb",
             "crossdocked/targetdiff_examples/1h36_A_rec_1h36_r88_lig_tt_docked_0.sdf"),
    "1B57_train": ("crossdocked/crossdocked_pocket10/1B57_HUMAN_25_300_0/5u98_D_rec_5u98_1kx_lig_tt_min_0_pocket10.pdb",
                   "crossdocked/crossdocked_pocket10/1B57_HUMAN_25_300_0/5u98_D_rec_5u98_1kx_lig_tt_min_0.sdf"),
}
KEYS = ("validity/valid", "validity/valid_and_connected", "validity/uniqueness", "docking/vina_score_mean",
        "docking/vina_score_median", "docking/vina_score_n_ok", "docking/vina_min_mean", "docking/vina_min_median")


def vina(mols: list, receptor: Path) -> dict:
    """Validity and Vina score / min of ``mols`` in their poses, each boxed around itself (TargetDiff)."""
    options = EvalOptions(protein_path=str(receptor), dock_modes=("score", "minimize"))
    report = evaluate_molecules(mols, metrics=["validity", "docking"], options=options)
    finite = {k: float(report[k]) for k in KEYS if report.get(k) is not None and math.isfinite(float(report[k]))}
    return {k.split("/")[-1]: round(finite[k], 3) if k in finite else None for k in KEYS}  # None: nothing scored


def quality(graphs: list, receptor: Path, reference: Path) -> dict:
    """:func:`vina` of the generated molecules, and of the reference ligand under the same protocol."""
    ref = vina([Chem.MolFromMolFile(str(reference), removeHs=False)], receptor)
    return {**vina([reconstruct_mol(g, sanitize=False).mol for g in graphs], receptor),
            "reference_vina_score": ref.get("vina_score_mean"), "reference_vina_min": ref.get("vina_min_mean")}


def run_pocket(model, name: str, args: argparse.Namespace, guide: str | None = None) -> dict:
    pdb, ref = (SHARED / p for p in POCKETS[name])
    context = PocketContext.from_pdb(pdb, ref_ligand=ref)
    pocket = context.graph
    start = time.perf_counter()
    graphs = model.sample(SampleOptions(num=args.num, steps=args.steps, seed=args.seed, batch_size=args.batch_size,
                                        pocket=context, guidance=Guidance(guide=guide, every=args.guide_every)))
    seconds = time.perf_counter() - start
    sizes = [g.num_atoms for g in graphs]
    return {"pocket": name, "pocket_atoms": pocket.num_atoms, "num": args.num, "steps": args.steps,
            "guide": guide, "sample_seconds": round(seconds, 1), "mean_atoms": round(statistics.mean(sizes), 1),
            **quality(graphs, pdb, ref)}


def sample(args: argparse.Namespace) -> dict:
    model = load(args.ckpt)
    rows = [run_pocket(model, name, args) for name in args.pockets.split(",")]
    for row in rows:
        print(json.dumps(row))
    return {"benchmark": "pocket/sample", "checkpoint": args.ckpt, "num": args.num, "steps": args.steps,
            "seconds_per_pocket": round(statistics.mean(r["sample_seconds"] for r in rows), 1),
            "valid_and_connected": round(statistics.mean(r.get("valid_and_connected") or 0 for r in rows), 3),
            "per_pocket": {r["pocket"]: {k: r.get(k) for k in ("sample_seconds", "valid_and_connected",
                                                               "vina_score_mean", "vina_min_mean",
                                                               "reference_vina_score")} for r in rows}}


def guide(args: argparse.Namespace) -> dict:
    """Unguided and ``--guide vina`` sampling from the same model, seed and number of jumps, per pocket."""
    model = load(args.ckpt)
    rows = []
    for name in args.pockets.split(","):
        plain, guided = run_pocket(model, name, args), run_pocket(model, name, args, guide="vina")
        for row in (plain, guided):
            print(json.dumps(row))
        rows.append((name, plain, guided))

    def shift(key: str) -> float | None:
        pairs = [(g[key], p[key]) for _, p, g in rows if g.get(key) is not None and p.get(key) is not None]
        return round(statistics.mean(a - b for a, b in pairs), 3) if pairs else None

    return {"benchmark": "pocket/guide", "checkpoint": args.ckpt, "num": args.num, "steps": args.steps,
            "vina_score_mean_shift": shift("vina_score_mean"), "vina_min_mean_shift": shift("vina_min_mean"),
            "time_ratio_guided_vs_plain": round(statistics.mean(g["sample_seconds"] / p["sample_seconds"]
                                                                for _, p, g in rows), 2),
            "per_pocket": {n: {"plain": p.get("vina_score_mean"), "guided": g.get("vina_score_mean"),
                               "plain_min": p.get("vina_min_mean"), "guided_min": g.get("vina_min_mean"),
                               "plain_valid_connected": p.get("valid_and_connected"),
                               "guided_valid_connected": g.get("valid_and_connected")} for n, p, g in rows}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["sample", "guide"])
    parser.add_argument("--ckpt", default=str(ROOT / "checkpoints" / "crossdocked_pocket_cpu.ckpt"))
    parser.add_argument("--num", type=int, default=100)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--pockets", default=",".join(POCKETS))
    parser.add_argument("--guide-every", type=int, default=10, help="guide every k-th jump (guide command)")
    args = parser.parse_args()
    if not SHARED.is_dir():
        raise SystemExit(f"the shared samples are needed: {SHARED} not found")
    result = sample(args) if args.command == "sample" else guide(args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
