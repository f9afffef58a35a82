"""Benchmark ``molgen evaluate`` on 1,000 RDKit-embedded molecules (an SDF written by another tool).

Molecules: the SMILES of the 100 QM9 records in ../shared/data/qm9/gdb9_first100/gdb9.sdf plus
the drug SMILES below, embedded with RDKit ETKDG (a few seeds each) until 1,000 are written.

Prints, per metric group, wall time with ``--workers`` processes against the serial baseline
(workers=1), the full CLI run, and Vendi timings against baselines (vendi-score's ``score_K`` on
the same kernel; RDKit ``BulkTanimotoSimilarity`` for the kernel). Last line: one JSON object.

Usage: ``OMP_NUM_THREADS=1 python bench/eval.py [--n 1000] [--workers 2] [--vendi-sizes 2000,5000,10000]``
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from rdkit import Chem, DataStructs, rdBase
from rdkit.Chem import AllChem, rdFingerprintGenerator

from molgen.cli.evaluate import main as cli_main
from molgen.eval import evaluate_sdf
from molgen.eval.diversity import fingerprint_bits, tanimoto_kernel, vendi_scores

ROOT = Path(__file__).resolve().parents[1]
QM9_SDF = ROOT.parent / "shared" / "data" / "qm9" / "gdb9_first100" / "gdb9.sdf"
DRUGS = [
    "CC(=O)Oc1ccccc1C(=O)O",
    "CC(C)Cc1ccc(cc1)C(C)C(=O)O",
    "CC(=O)Nc1ccc(O)cc1",
    "CN1C=NC2=C1C(=O)N(C(=O)N2C)C",
    "CN1CCC[C@H]1c1cccnc1",
    "COc1ccc2[nH]cc(CCNC(C)=O)c2c1",
    "CC(C)NCC(O)COc1cccc2ccccc12",
    "CN(C)CCCN1c2ccccc2CCc2ccccc21",
    "Clc1ccc2c(c1)C(=NCC(=O)N2C)c1ccccc1",
    "OC(=O)CCc1nc(c(o1)-c1ccccc1)-c1ccccc1",
    "CC(C)(C)NCC(O)c1ccc(O)c(CO)c1",
    "NC(=O)c1cccnc1",
    "O=C(O)c1ccccc1O",
    "CCN(CC)C(=O)C1CN(C)C2CC3=CNc4cccc(C2=C1)c34",
    "COC(=O)C1=C(C)NC(C)=C(C1c1cccc(c1)[N+]([O-])=O)C(=O)OC",
    "CC1=C(C(=O)N(N1C)c1ccccc1)N(C)C",
    "Cc1ccc(cc1)S(=O)(=O)NC(=O)NN1CCCCCC1",
    "CS(=O)(=O)c1ccc(cc1)C1=C(C(=O)OC1)c1ccccc1",
    "Cn1cnc2c1c(=O)[nH]c(=O)n2C",
    "OCC1OC(O)C(O)C(O)C1O",
    "CC(N)Cc1ccccc1",
    "c1ccc2c(c1)ccc1ccccc12",
    "O=C1NC(=O)C(N1)(c1ccccc1)c1ccccc1",
    "CCOC(=O)C1=C(COCCN)NC(C)=C(C1c1ccccc1Cl)C(=O)OC",
    "Fc1ccc(cc1)C(=O)CCCN1CCC(O)(CC1)c1ccc(Cl)cc1",
    "CC(C)C(=O)Nc1ccc(cc1)[N+]([O-])=O",
    "COc1cc2c(cc1OC)C(=O)C(CC1CCN(Cc3ccccc3)CC1)C2",
    "Nc1nc(N)c2nc(-c3ccccc3)c(N)nc2n1",
    "CC12CCC3C(CCc4cc(O)ccc34)C1CCC2O",
    "OC(c1ccccc1)(c1ccccc1)C1CCNCC1",
    "CNCCC(Oc1ccc(cc1)C(F)(F)F)c1ccccc1",
    "CC(=O)OCC(=O)C1(O)CCC2C3CCC4=CC(=O)CCC4(C)C3C(O)CC21C",
    "O=C(NCc1ccccc1)c1ccncc1",
    "Brc1ccc(cc1)C(=O)Nc1ccccn1",
    "Oc1ccc(cc1)/C=C/c1cc(O)cc(O)c1",
    "Cc1onc(c1C(=O)NC1C(=O)N2C1SC(C)(C)C2C(=O)O)-c1ccccc1",
    "CCCCc1oc2ccccc2c1C(=O)c1cc(I)c(OCCN(CC)CC)c(I)c1",
    "CN1C(=O)CN=C(c2ccccc2)c2cc(Cl)ccc12",
    "NS(=O)(=O)c1cc(C(=O)O)c(NCc2ccco2)cc1Cl",
    "CC(C)n1c(C)ccc1-c1ccc(F)cc1",
]
GROUPS = ("validity", "stability", "diversity", "druglike", "geometry", "strain", "posebusters")


def source_smiles() -> list[str]:
    qm9 = [Chem.MolToSmiles(m) for m in Chem.SDMolSupplier(str(QM9_SDF)) if m is not None] if QM9_SDF.is_file() else []
    return qm9 + DRUGS


def write_molecules(path: Path, n: int) -> int:
    """Embed SMILES (cycling seeds) until ``n`` molecules are written with RDKit's SDWriter; return count."""
    smiles, written, seed = source_smiles(), 0, 0
    with Chem.SDWriter(str(path)) as writer, rdBase.BlockLogs():
        while written < n:
            for s in smiles:
                mol = Chem.AddHs(Chem.MolFromSmiles(s))
                if AllChem.EmbedMolecule(mol, randomSeed=seed) != 0:
                    continue
                mol.SetProp("_Name", f"{s} seed={seed}")
                writer.write(mol)
                written += 1
                if written == n:
                    break
            seed += 1
    return written


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def bench_groups(sdf: Path, workers: int, n_posebusters: int) -> dict:
    results = {}
    small = sdf.with_name("posebusters_subset.sdf")
    write_molecules(small, n_posebusters)
    for group in GROUPS:
        path = small if group == "posebusters" else sdf
        reference = QM9_SDF if group in ("validity", "druglike", "geometry") and QM9_SDF.is_file() else None
        t_par, _ = timed(lambda g=group, p=path, r=reference: evaluate_sdf(p, g, r, workers=workers))
        t_ser, _ = timed(lambda g=group, p=path, r=reference: evaluate_sdf(p, g, r, workers=1))
        n_mols = n_posebusters if group == "posebusters" else None
        results[group] = {"workers_s": t_par, "serial_s": t_ser, "speedup_vs_serial": t_ser / t_par, "n": n_mols}
        print(f"{group:12s} workers={workers}: {t_par:7.2f} s  serial: {t_ser:7.2f} s  speedup x{t_ser / t_par:.2f}"
              + (f"  (on {n_mols} molecules)" if n_mols else ""))
    return results


def bench_vendi(sdf: Path, sizes: list[int]) -> dict:
    from vendi_score import vendi

    mols = [Chem.RemoveHs(m) for m in Chem.SDMolSupplier(str(sdf))]
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    fps = [generator.GetFingerprint(m) for m in mols]
    t_rdkit, _ = timed(lambda: np.array([DataStructs.BulkTanimotoSimilarity(f, fps) for f in fps]))
    bits = np.unpackbits(np.stack([fingerprint_bits(m) for m in mols]), axis=1)
    t_numpy, kernel = timed(lambda: tanimoto_kernel(bits))
    t_ours, ours = timed(lambda: vendi_scores(kernel, (1.0,))[1.0])
    t_pkg, pkg = timed(lambda: vendi.score_K(kernel.astype(np.float64), q=1))
    n = len(mols)
    print(f"kernel n={n}: numpy {t_numpy:.3f} s vs RDKit BulkTanimoto {t_rdkit:.3f} s (x{t_rdkit / t_numpy:.1f})")
    print(f"vendi q=1 n={n}: ours {t_ours:.3f} s vs vendi-score score_K {t_pkg:.3f} s; values {ours:.4f} / {pkg:.4f}")
    out = {"kernel_numpy_s": t_numpy, "kernel_rdkit_s": t_rdkit, "vendi_ours_s": t_ours, "vendi_pkg_s": t_pkg,
           "vendi_q1_ours": ours, "vendi_q1_pkg": float(pkg), "scaling": {}}
    rng = np.random.default_rng(0)
    for n in sizes:  # distinct random fingerprints at Morgan-like bit density (no duplicates to merge)
        random_bits = (rng.random((n, 2048)) < 0.02).astype(np.uint8)
        t_k, k = timed(lambda b=random_bits: tanimoto_kernel(b))
        t_e, _ = timed(lambda k=k: vendi_scores(k))
        out["scaling"][n] = {"kernel_s": t_k, "all_orders_s": t_e}
        print(f"vendi all orders, n={n} distinct fingerprints: kernel {t_k:.2f} s + eigenvalues {t_e:.2f} s")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--posebusters-n", type=int, default=100)
    parser.add_argument("--vendi-sizes", default="2000,5000,10000")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sdf = Path(tmp) / "samples.sdf"
        t_write, n = timed(lambda: write_molecules(sdf, args.n))
        print(f"wrote {n} RDKit-embedded molecules in {t_write:.1f} s")
        groups = bench_groups(sdf, args.workers, args.posebusters_n)
        argv = [str(sdf), "--metrics", "standard", "--out", str(Path(tmp) / "out"), "--quiet"]
        t_cli, _ = timed(lambda: cli_main([*argv, "--workers", str(args.workers)]))
        print(f"molgen evaluate --metrics standard --workers {args.workers}: {t_cli:.1f} s for {n} molecules")
        vendi = bench_vendi(sdf, [int(s) for s in args.vendi_sizes.split(",") if s])
    print(json.dumps({"n_molecules": n, "workers": args.workers, "groups": groups, "cli_standard_s": t_cli,
                      "vendi": vendi, "machine": "2-core CPU sandbox, no GPU"}))


if __name__ == "__main__":
    main()
