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
    python bench/pocket.py prior --ckpt checkpoints/druglike_noh_gaunt_cpu.ckpt --num 100 --pockets 3rfm,4yhj,1iep \
        [--baseline 1iep=DOCK_OUT/docking.csv,...]

``prior``: a model that never saw a pocket (the drug-like one), its molecules placed in each pocket
(:mod:`molgen.generate.placement`), plain and ``--guide fit``: valid & connected, the fraction of valid
ligands inside the pocket (heavy-atom centroid within 4 A of the reference ligand's, no heavy atom within
2 A of a receptor heavy atom), Vina score / min, beside MOSES molecules docked into the same box
(``molgen dock`` outputs given by ``--baseline``: their mean Vina score).

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


def sample_pocket(model, name: str, args: argparse.Namespace, guide: str | None = None) -> tuple[list, float]:
    """``args.num`` ligands of ``model`` in pocket ``name`` and the seconds they took."""
    pdb, ref = (SHARED / p for p in POCKETS[name])
    context = PocketContext.from_pdb(pdb, ref_ligand=ref)
    start = time.perf_counter()
    graphs = model.sample(SampleOptions(num=args.num, steps=args.steps, seed=args.seed, batch_size=args.batch_size,
                                        pocket=context, guidance=Guidance(guide=guide, every=args.guide_every)))
    return graphs, time.perf_counter() - start


def run_pocket(model, name: str, args: argparse.Namespace, guide: str | None = None, graphs: list | None = None,
               seconds: float | None = None) -> dict:
    """The figures of ``graphs`` (default: :func:`sample_pocket`) in pocket ``name``."""
    pdb, ref = (SHARED / p for p in POCKETS[name])
    if graphs is None:
        graphs, seconds = sample_pocket(model, name, args, guide)
    sizes = [g.heavy_atoms().num_atoms for g in graphs]
    return {"pocket": name, "pocket_atoms": PocketContext.from_pdb(pdb, ref_ligand=ref).graph.num_atoms,
            "num": args.num, "steps": args.steps, "guide": guide, "sample_seconds": round(seconds, 1),
            "mean_atoms": round(statistics.mean(sizes), 1), **quality(graphs, pdb, ref)}


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


def inside(graphs: list, receptor: Path, reference: Path) -> dict:
    """Of the valid & connected ligands: the fraction inside the pocket (centroid within 4 A of the reference
    ligand's, no heavy atom within 2 A of a receptor heavy atom), and the median closest distance."""
    import numpy as np

    from molgen.data.pocket import parse_pdb
    from molgen.generate.scorers import graph_to_mol

    protein = parse_pdb(receptor, hetero=False, hydrogens=False).pos
    centre = Chem.MolFromMolFile(str(reference)).GetConformer().GetPositions().mean(0)
    closest, ok = [], 0
    for graph in graphs:
        if graph_to_mol(graph, implicit_hydrogens=False) is None:
            continue
        heavy = graph.heavy_atoms().pos.double().numpy()
        near = float(np.linalg.norm(heavy[:, None] - protein[None], axis=-1).min())
        closest.append(near)
        ok += near >= 2.0 and float(np.linalg.norm(heavy.mean(0) - centre)) <= 4.0
    return {"inside_fraction": round(ok / len(closest), 3) if closest else None,
            "closest_median": round(statistics.median(closest), 2) if closest else None}


def baseline_scores(spec: str) -> dict[str, dict]:
    """``name=docking.csv,...`` -> per pocket the mean and n of the docked molecules' Vina scores."""
    import csv

    out = {}
    for item in filter(None, spec.split(",")):
        name, path = item.split("=", 1)
        with open(path, newline="") as handle:
            scores = [float(r["vina_score"]) for r in csv.DictReader(handle) if r["status"] == "ok"]
        out[name] = {"moses_docked_mean": round(statistics.mean(scores), 3) if scores else None, "moses_n": len(scores)}
    return out


def prior(args: argparse.Namespace) -> dict:
    """The drug-like prior placed in pockets it never saw: plain and ``--guide fit``, beside docked MOSES."""
    model, base = load(args.ckpt), baseline_scores(args.baseline)
    per = {}
    for name in args.pockets.split(","):
        pdb, ref = (SHARED / p for p in POCKETS[name])
        for guide in (None, "fit"):
            graphs, seconds = sample_pocket(model, name, args, guide)
            row = run_pocket(model, name, args, guide, graphs, seconds)
            row.update(inside(graphs, pdb, ref), **base.get(name, {}))
            print(json.dumps(row))
            per[f"{name}/{guide or 'plain'}"] = {k: row.get(k) for k in (
                "valid_and_connected", "uniqueness", "inside_fraction", "vina_score_mean", "vina_min_mean",
                "moses_docked_mean", "reference_vina_score", "sample_seconds")}
    return {"benchmark": "pocket/prior", "checkpoint": args.ckpt, "num": args.num, "steps": args.steps,
            "per_pocket": per}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["sample", "guide", "prior"])
    parser.add_argument("--ckpt", default=str(ROOT / "checkpoints" / "crossdocked_pocket_cpu.ckpt"))
    parser.add_argument("--num", type=int, default=100)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--pockets", default=",".join(POCKETS))
    parser.add_argument("--guide-every", type=int, default=10, help="guide every k-th jump (guide, prior)")
    parser.add_argument("--baseline", default="", help="prior: name=docking.csv,... of MOSES molecules docked "
                        "into each pocket's box by molgen dock")
    args = parser.parse_args()
    if not SHARED.is_dir():
        raise SystemExit(f"the shared samples are needed: {SHARED} not found")
    result = {"sample": sample, "guide": guide, "prior": prior}[args.command](args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
