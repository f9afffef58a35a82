"""Preprocessing throughput (molecules/s on one core) and peak memory of each large-dataset loader.

For every dataset the full pipeline (``builder.process(workers=1)``: sharding, featurisation,
stores, merge, statistics, report) is compared with a named baseline measured in the same
run: the *bare featurisation loop*, i.e. the same raw parsing and ``featurize_mol`` calls in a
plain Python loop that keeps nothing (no shards, no store, no statistics). The ratio
pipeline/baseline is the cost of everything the pipeline adds. Each measurement runs in a
fresh subprocess, so peak RSS (``ru_maxrss``) is per measurement; "peak MB" is the growth
over the process's RSS after imports. Memory scaling: the GEOM pipeline on N and 4N molecules
with 50-molecule shards (speed runs use the default 500-molecule shards).

Inputs are generated official-schema fixtures of drug-like molecules (tests/data/fixtures_*.py)
and, for CrossDocked, the real sample in ../shared/data when present.

    python bench/data.py            # GEOM 50 / 200 / 40 (msgpack) molecules x 5 conformers, PubChem 600
    python bench/data.py --quick    # smaller inputs

Last line: one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT / "tests" / "data"))  # the fixture generators


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _baseline(dataset: str, path: Path) -> int:
    from rdkit import Chem

    from molgen.chem.featurize import featurize_mol

    count = 0
    if dataset in ("geom_rdkit", "geom_rdkit_4x"):
        from molgen.data.geom_raw import iter_summary, read_rdkit_pickle, resolve_pickle_path
        for smiles, entry in iter_summary(path / "summary_drugs.json"):
            for conf in read_rdkit_pickle(resolve_pickle_path(path, entry["pickle_path"]), smiles, 5).conformers:
                featurize_mol(Chem.Mol(conf.rd_mol))
                count += 1
    elif dataset == "geom_msgpack":
        from molgen.chem.perceive import perceive_bonds
        from molgen.data.geom_raw import iter_msgpack_chunks, msgpack_molecule
        table = Chem.GetPeriodicTable()
        for chunk in iter_msgpack_chunks(path):
            for smiles, entry in chunk.items():
                for conf in msgpack_molecule(smiles, entry, 5, str(path)).conformers:
                    symbols = [table.GetElementSymbol(int(z)) for z in conf.numbers]
                    featurize_mol(perceive_bonds(symbols, conf.pos, 0, reference_smiles=[smiles]).mol)
                    count += 1
    elif dataset == "pubchem3d":
        from molgen.chem.sdf import read_sdf
        for file in sorted(path.glob("*.sdf.gz")):
            count += sum(1 for _ in read_sdf(file))
    elif dataset == "crossdocked":
        from molgen.chem.sdf_records import iter_sdf_blocks, mol_from_sdf_block
        from molgen.data.crossdocked_raw import load_index
        from molgen.data.pocket import parse_pdb, pocket_graph, select_pocket
        for entry in load_index(path / "index.pkl"):
            ligand_file = str(path / entry.ligand_fn)
            _, block = next(iter(iter_sdf_blocks(ligand_file)))
            graph = featurize_mol(mol_from_sdf_block(block, ligand_file, 0), add_hs=True)
            pocket_graph(select_pocket(parse_pdb(path / entry.pocket_fn, hydrogens=False), graph.pos.numpy()))
            count += 1
    return count


def _pipeline(dataset: str, path: Path, out: Path, shard_size: int = 500) -> int:
    if dataset.startswith("geom"):
        from molgen.data.geom import GeomDrugs
        builder = GeomDrugs(path, shard_size=shard_size)
    elif dataset == "pubchem3d":
        from molgen.data.pubchem3d import PubChem3D
        builder = PubChem3D(path)
    else:
        from molgen.data.crossdocked import CrossDocked
        builder = CrossDocked(path)
    return builder.process(out, progress=False, log=None).total_kept


def child(dataset: str, mode: str, path: str, repeats: int) -> None:
    """One measurement in this (fresh) process; prints a JSON line.

    ``mode == "memory"``: one pipeline run, RSS growth over the post-import level.
    ``mode == "speed"``: baseline and pipeline alternated ``repeats`` times after a warm-up, medians.
    """
    import molgen.data.crossdocked  # noqa: F401 - imports before the RSS reference point
    import molgen.data.geom  # noqa: F401
    import molgen.data.pubchem3d  # noqa: F401

    def timed(fn) -> tuple[int, float]:
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            count = fn(Path(out))
            return count, time.perf_counter() - start

    run_base = lambda out: _baseline(dataset, Path(path))  # noqa: E731
    run_pipe = lambda out: _pipeline(dataset, Path(path), out)  # noqa: E731
    if mode == "memory":  # GEOM: 50-molecule shards, so the 4x input spans 4x the shards
        before = _rss_mb()
        count, _ = timed(lambda out: _pipeline(dataset, Path(path), out, shard_size=50))
        print(json.dumps({"molecules": count, "peak_mb": _rss_mb() - before}))
        return
    timed(run_base)  # warm-up: RDKit/torch first-call costs
    base, pipe = [], []
    for _ in range(repeats):
        base.append(timed(run_base))
        pipe.append(timed(run_pipe))
    rate = lambda runs: statistics.median(n / t for n, t in runs)  # noqa: E731
    print(json.dumps({"molecules": pipe[0][0], "baseline_mol_per_s": rate(base), "pipeline_mol_per_s": rate(pipe)}))


def _measure(dataset: str, mode: str, path: Path, repeats: int) -> dict:
    cmd = [sys.executable, __file__, "--child", dataset, mode, str(path), "--repeats", str(repeats)]
    env = {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def make_inputs(tmp: Path, quick: bool) -> dict[str, Path]:
    from fixtures_geom import make_drugs_msgpack, make_rdkit_folder
    from fixtures_mols import drug_like_smiles
    from fixtures_pubchem import make_pubchem_sdf_gz, pubchem_file_name

    n_geom = 40 if quick else 200
    smiles = drug_like_smiles(200)
    inputs = {
        "geom_rdkit": make_rdkit_folder(tmp / "geom_small", smiles[:n_geom // 4], 7),
        "geom_rdkit_4x": make_rdkit_folder(tmp / "geom_large", smiles[:n_geom // 4 * 4], 7),
        "geom_msgpack": make_drugs_msgpack(tmp / "drugs_crude.msgpack", smiles[:n_geom // 5], 7),
    }
    per_file = 50 if quick else 150
    for k in range(4):
        first = 1 + 25000 * k
        make_pubchem_sdf_gz(tmp / "pubchem" / pubchem_file_name(first), smiles[k * 50:k * 50 + per_file][:per_file],
                            first_cid=first)
    inputs["pubchem3d"] = tmp / "pubchem"
    if (SHARED / "crossdocked" / "crossdocked_pocket10").is_dir():
        inputs["crossdocked"] = SHARED / "crossdocked" / "crossdocked_pocket10"
    return inputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3, help="alternating baseline/pipeline runs (medians)")
    parser.add_argument("--child", nargs=3, metavar=("DATASET", "MODE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child, repeats=args.repeats)
        return
    figures: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        inputs = make_inputs(Path(tmp), args.quick)
        print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs (shared), one process per measurement; "
              f"baseline = bare featurisation loop; medians of {args.repeats} alternating runs")
        print(f"{'dataset':<15}{'baseline mol/s':>15}{'pipeline mol/s':>15}{'ratio':>7}{'peak MB':>9}{'mols':>6}")
        for dataset, path in inputs.items():
            speed = _measure(dataset, "speed", path, args.repeats)
            memory = _measure(dataset, "memory", path, 1)
            rate_b, rate_p = speed["baseline_mol_per_s"], speed["pipeline_mol_per_s"]
            figures[dataset] = {"baseline_mol_per_s": round(rate_b, 1), "pipeline_mol_per_s": round(rate_p, 1),
                                "ratio_vs_bare_loop": round(rate_p / rate_b, 3),
                                "pipeline_peak_mb": round(memory["peak_mb"], 1), "molecules": speed["molecules"]}
            print(f"{dataset:<15}{rate_b:>15.1f}{rate_p:>15.1f}{rate_p / rate_b:>7.2f}{memory['peak_mb']:>9.1f}"
                  f"{speed['molecules']:>6d}")
    small, large = figures["geom_rdkit"], figures["geom_rdkit_4x"]
    figures["geom_memory_scaling"] = {"molecules_ratio": round(large["molecules"] / small["molecules"], 2),
                                      "peak_mb_small": small["pipeline_peak_mb"],
                                      "peak_mb_large": large["pipeline_peak_mb"]}
    print(f"GEOM pipeline peak memory: {small['pipeline_peak_mb']:.1f} MB for {small['molecules']} conformers, "
          f"{large['pipeline_peak_mb']:.1f} MB for {large['molecules']}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
