"""MMFF strain of what users get, hydrogens and heavy-atom skeleton apart, under relax none | h | mmff.

Sets (each optional; the baseline is the data's own geometry):

* ``model``: an SDF written by ``molgen sample`` (``--samples``), or sampled here from ``--ckpt``
  (``--num`` molecules, ``--steps`` reverse jumps, ``--seed``) into ``--out``;
* ``qm9_dft``: the first ``--qm9-n`` records of QM9's ``gdb9.sdf`` (DFT geometries, their own hydrogens);
* ``qm9_dft_placed_h``: the same heavy atoms with the hydrogens RDKit places when a heavy-atom model
  writes (``Chem.AddHs(addCoords=True)``): what placement alone costs on a perfect skeleton;
* ``--set NAME=SDF`` (repeatable; a glob of SDF files too): any other SDF, e.g. the pocket model's
  ligands and CrossDocked's own ligand poses (hydrogens a file lacks are placed as above);
* ``moses3d_placed_h``: the first ``--moses-n`` molecules of a heavy-atom MOSES-3D store
  (``molgen data moses --remove-hs``) with hydrogens placed as the model writes them
  (:func:`molgen.chem.hydrogens.add_hydrogens`). With their own MMFF hydrogens these conformers are
  MMFF minima (strain 0 by construction, ``tests/data/test_smiles.py``).

For each set and mode: :func:`molgen.chem.relax.relax`, then :func:`molgen.chem.strain.mmff_strain`
of the result; medians of total / hydrogens / skeleton (kcal/mol), the number measured and not
(unreadable or untypable molecules, by reason), and for ``mmff`` the median heavy-atom RMSD moved.

    python bench/strain.py --ckpt checkpoints/qm9_noh_gaunt_cpu.ckpt --num 200 --steps 100 \\
        --moses-root /tmp/moses_bench [--samples X.sdf] [--qm9 ../shared/data/qm9/gdb9_first100/gdb9.sdf] \\
        [--set pocket_model=P.sdf --set 'crossdocked_ligands=../shared/data/crossdocked/crossdocked_pocket10/*/*.sdf']

The last line printed is one JSON object with every figure and the settings.
"""

from __future__ import annotations

import argparse
import glob
import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from rdkit import Chem, rdBase

from molgen.chem.featurize import reconstruct_mol
from molgen.chem.hydrogens import add_hydrogens
from molgen.chem.records import RecordError
from molgen.chem.relax import RELAX_MODES, relax
from molgen.chem.sdf_records import iter_sdf_mols
from molgen.chem.strain import mmff_strain
from molgen.data.store import MolStore
from molgen.data.template import processed_dir

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_QM9 = ROOT.parent / "shared" / "data" / "qm9" / "gdb9_first100" / "gdb9.sdf"


def measure(mols: Iterable[Chem.Mol | str]) -> dict:
    """Per relax mode: medians of the strain parts of the relaxed molecules; a ``str`` item is a failure reason."""
    items = list(mols)
    out = {}
    for mode in RELAX_MODES:
        start = time.perf_counter()
        values, rmsd, failed = [], [], Counter(x for x in items if isinstance(x, str))
        for mol in (x for x in items if not isinstance(x, str)):
            result = relax(mol, mode)
            strain = mmff_strain(result.mol)
            if not strain.ok or (mode != "none" and not result.relaxed):
                failed[strain.reason or result.reason] += 1
                continue
            values.append((strain.total, strain.hydrogens, strain.skeleton))
            rmsd.append(result.heavy_rmsd)
        arr = np.asarray(values).reshape(-1, 3)
        row = {"measured": len(values), "failed": dict(failed), "seconds": round(time.perf_counter() - start, 2)}
        if len(values):
            row.update({k: round(float(np.median(arr[:, c])), 3) for c, k in enumerate(("total", "hydrogens",
                                                                                         "skeleton"))})
            row["total_mean"] = round(float(arr[:, 0].mean()), 3)
            if mode == "mmff":
                row["heavy_rmsd_median"] = round(float(np.median(rmsd)), 4)
        out[mode] = row
    return out


def sdf_mols(path: Path, limit: int | None = None) -> list[Chem.Mol | str]:
    out: list[Chem.Mol | str] = []
    with rdBase.BlockLogs():
        for index, item in iter_sdf_mols(path):
            if limit is not None and index >= limit:
                break
            out.append(item.reason if isinstance(item, RecordError) else item)
    return out


def placed_hydrogens(mols: list[Chem.Mol | str]) -> list[Chem.Mol | str]:
    """The heavy atoms of each molecule with RDKit-placed hydrogens (as heavy-atom models write them)."""
    out: list[Chem.Mol | str] = []
    for mol in mols:
        out.append(mol if isinstance(mol, str) else Chem.AddHs(Chem.RemoveHs(mol), addCoords=True))
    return out


def store_mols(folder: Path, limit: int) -> list[Chem.Mol | str]:
    out: list[Chem.Mol | str] = []
    graphs = [g for split in ("train", "val", "test") if (folder / split).is_dir() for g in MolStore(folder / split)]
    for graph in graphs[:limit]:
        full, error = add_hydrogens(graph)
        out.append(error if error else reconstruct_mol(full).mol)
    return out


def sample(ckpt: str, num: int, steps: int, seed: int, out: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "molgen", "sample", "--ckpt", ckpt, "--num", str(num), "--steps",
                    str(steps), "--seed", str(seed), "--out", str(out), "--no-progress"], check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", help="SDF written by molgen sample (skips sampling)")
    parser.add_argument("--ckpt", default=str(ROOT / "checkpoints" / "qm9_noh_gaunt_cpu.ckpt"))
    parser.add_argument("--num", type=int, default=200)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/strain/samples.sdf", help="where sampled molecules are written")
    parser.add_argument("--qm9", default=str(DEFAULT_QM9))
    parser.add_argument("--qm9-n", type=int, default=100)
    parser.add_argument("--moses-root", help="data root holding processed/<moses-name> (heavy atoms)")
    parser.add_argument("--moses-name", default="moses_noh")
    parser.add_argument("--moses-n", type=int, default=200)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=SDF",
                        help="another SDF (or glob of SDFs) to measure, as NAME")
    args = parser.parse_args()
    settings = vars(args).copy()
    results: dict = {}
    samples = Path(args.samples) if args.samples else Path(args.out)
    if not args.samples:
        settings["sample_seconds"] = round(sample(args.ckpt, args.num, args.steps, args.seed, samples), 1)
    results["model"] = measure(sdf_mols(samples))
    if Path(args.qm9).is_file():
        qm9 = sdf_mols(Path(args.qm9), args.qm9_n)
        results["qm9_dft"] = measure(qm9)
        results["qm9_dft_placed_h"] = measure(placed_hydrogens(qm9))
    if args.moses_root:
        results["moses3d_placed_h"] = measure(store_mols(processed_dir(args.moses_name, args.moses_root),
                                                         args.moses_n))
    for item in args.set:
        name, _, pattern = item.partition("=")
        files = sorted(Path(f) for f in glob.glob(pattern)) or [Path(pattern)]
        results[name] = measure([m for f in files for m in sdf_mols(f)])
    for name, rows in results.items():
        for mode, row in rows.items():
            print(f"{name:<18} relax={mode:<5} " + " ".join(f"{k}={v}" for k, v in row.items()))
    print(json.dumps({"benchmark": "strain", "baseline": "qm9_dft", "settings": settings, "results": results}))


if __name__ == "__main__":
    main()
