"""Benchmark ``molgen dock``: molecules per second per worker for each mode on AutoDock Vina's 1iep example.

Workload: the crystal imatinib pose of ``../shared/data/docking/vina_1iep`` written ``--n`` times
to one SDF (``--dock-n`` times for dock mode), Vina's own box (20 A cube), one worker process
(Vina ``cpu=1``), receptor prepared from ``1iep_receptorH.pdb`` (cached after the first call).
Timed end to end through :func:`molgen.dock.dock_sdf`: worker start, grid maps, meeko
preparation, Vina, pose reconstruction and the atomic writes.

Baseline: bare ``vina`` on the example's own prepared files (``1iep_receptor.pdbqt``,
``1iep_ligand.pdbqt``), maps computed once, the same call per molecule: what molgen's in-process
preparation and bookkeeping cost on top of Vina itself.

Usage: ``OMP_NUM_THREADS=1 python bench/dock.py [--n 20] [--dock-n 1] [--exhaustiveness 16]``
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import tempfile
import time
from pathlib import Path

from rdkit import Chem

from molgen.dock import DockSettings, dock_sdf, read_box_file

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT.parent / "shared" / "data" / "docking" / "vina_1iep"


def write_copies(path: Path, n: int) -> None:
    mol = Chem.MolFromMolFile(str(EXAMPLE / "1iep_ligand.sdf"), removeHs=False)
    with Chem.SDWriter(str(path)) as writer:
        for i in range(n):
            mol.SetProp("_Name", f"imatinib_{i}")
            writer.write(mol)


def molgen_rate(mode: str, n: int, exhaustiveness: int, work: Path) -> tuple[float, list[float], float]:
    """Molecules per second of ``dock_sdf`` with one worker, the scores it wrote, median seconds per molecule.

    The median of the per-molecule times leaves out the one-off costs (worker start, grid maps)."""
    sdf = work / f"{mode}.sdf"
    write_copies(sdf, n)
    settings = DockSettings(mode, exhaustiveness, 1, 42, read_box_file(EXAMPLE / "1iep_receptor.box.txt"))
    start = time.perf_counter()
    run = dock_sdf(sdf, EXAMPLE / "1iep_receptorH.pdb", work / f"out_{mode}", settings, workers=1,
                   cache_dir=work / "cache")
    seconds = time.perf_counter() - start
    if run.n_ok != n:
        raise RuntimeError(f"{mode}: {run.n_failed} of {n} molecules failed; see {run.csv}")
    scores = [p.GetDoubleProp("vina_score") for p in Chem.SDMolSupplier(str(run.sdf), removeHs=False)]
    with open(run.csv, newline="") as handle:
        per_mol = [float(row["seconds"]) for row in csv.DictReader(handle)]
    return n / seconds, scores, statistics.median(per_mol)


def vina_rate(mode: str, n: int, exhaustiveness: int) -> tuple[float, float]:
    """Molecules per second of bare Vina on the example's prepared PDBQT files (maps included once)."""
    from vina import Vina

    box = read_box_file(EXAMPLE / "1iep_receptor.box.txt")
    start = time.perf_counter()
    vina = Vina(sf_name="vina", cpu=1, seed=42, verbosity=0)
    vina.set_receptor(str(EXAMPLE / "1iep_receptor.pdbqt"))
    vina.compute_vina_maps(center=list(box.center), box_size=list(box.size))
    score = float("nan")
    for _ in range(n):
        vina.set_ligand_from_file(str(EXAMPLE / "1iep_ligand.pdbqt"))
        if mode == "score":
            score = vina.score()[0]
        elif mode == "minimize":
            score = vina.optimize()[0]
        else:
            vina.dock(exhaustiveness=exhaustiveness, n_poses=1)
            score = vina.energies(n_poses=1)[0][0]
    return n / (time.perf_counter() - start), float(score)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20, help="molecules for score and minimize modes")
    parser.add_argument("--dock-n", type=int, default=1, help="molecules for dock mode")
    parser.add_argument("--exhaustiveness", type=int, default=16, help="Vina exhaustiveness in dock mode (16)")
    args = parser.parse_args()
    if not EXAMPLE.is_dir():
        raise SystemExit(f"the Vina 1iep example is needed: {EXAMPLE} not found")
    figures: dict = {"bench": "dock", "workers": 1, "exhaustiveness": args.exhaustiveness}
    with tempfile.TemporaryDirectory() as tmp:
        for mode, n in (("score", args.n), ("minimize", args.n), ("dock", args.dock_n)):
            ours, scores, median_s = molgen_rate(mode, n, args.exhaustiveness, Path(tmp))
            bare, bare_score = vina_rate(mode, n, args.exhaustiveness)
            figures |= {
                f"{mode}_mol_per_s_per_worker": round(ours, 4),
                f"{mode}_vina_baseline_mol_per_s": round(bare, 4),
                f"{mode}_ratio_to_vina": round(ours / bare, 3),
                f"{mode}_median_s_per_mol": round(median_s, 4),
                f"{mode}_score_median": round(statistics.median(scores), 3),
                f"{mode}_vina_baseline_score": round(bare_score, 3),
                f"{mode}_n": n,
            }
            print(f"{mode:9s} molgen {ours:8.3f} mol/s (median {median_s:.3f} s/mol)  bare vina {bare:8.3f} mol/s  "
                  f"ratio {ours / bare:.2f}  "
                  f"score {statistics.median(scores):.3f} (bare vina {bare_score:.3f}) kcal/mol", flush=True)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
