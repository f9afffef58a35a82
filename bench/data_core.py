"""QM9 processing throughput and processed-store read speed (data-core), each against a named baseline.

A. Processing the first ``--rows`` molecules of qm9pack (bond perception + featurisation):
   baseline = the *bare conversion loop* (``builder.convert`` on every record in a plain loop,
   nothing kept); compared with the full pipeline ``process(workers=1)`` (stores, statistics,
   report: the ratio is the pipeline's overhead) and ``process(workers=2)`` (the speed-up).
   The pipeline times include its fixed costs (reading the 130,831 qm9pack ids for the
   split, forking workers), which weigh more on small ``--rows``.
B. Reading molecules in random order: baseline = a record store of pickled MolGraphs held
   in RAM (one ``pickle.loads`` per molecule, the access pattern of LMDB/pickle-per-record
   formats, minus their I/O); compared with ``MolStore[i]`` from the memory-mapped store.

    python bench/data_core.py [--rows 1500] [--reads 5000]

Last line: one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import random
import tempfile
import time
from pathlib import Path

from molgen.data.qm9 import QM9PackBuilder
from molgen.data.store import MolStore


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_processing(rows: int, root: Path) -> dict[str, float]:
    builder = QM9PackBuilder(limit=rows)
    records = list(builder.iter_raw())
    t_bare = timed(lambda: [builder.convert(r) for r in records])
    t_one = timed(lambda: QM9PackBuilder(limit=rows).process(root / "w1", progress=False, log=None))
    t_two = timed(lambda: QM9PackBuilder(limit=rows).process(root / "w2", workers=2, progress=False, log=None))
    return {
        "rows": rows,
        "bare_mol_per_s": rows / t_bare,
        "pipeline_w1_mol_per_s": rows / t_one,
        "pipeline_w2_mol_per_s": rows / t_two,
        "pipeline_w1_over_bare_time": t_one / t_bare,
        "speedup_w2_over_w1": t_one / t_two,
    }


def bench_reads(store_path: Path, reads: int) -> dict[str, float]:
    store = MolStore(store_path)
    blobs = [pickle.dumps(g) for g in store]
    rng = random.Random(0)
    order = [rng.randrange(len(store)) for _ in range(reads)]
    t_list = timed(lambda: [pickle.loads(blobs[i]) for i in order])
    t_store = timed(lambda: [store[i] for i in order])
    disk = sum(f.stat().st_size for f in store_path.iterdir())
    return {
        "reads": reads,
        "pickle_reads_per_s": reads / t_list,
        "store_reads_per_s": reads / t_store,
        "store_over_pickle_time": t_store / t_list,
        "store_bytes_per_molecule": disk / len(store),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1500)
    parser.add_argument("--reads", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        proc = bench_processing(args.rows, root)
        print(f"A. QM9 (qm9pack) first {args.rows} molecules, baseline = bare conversion loop "
              f"({proc['bare_mol_per_s']:.0f} mol/s)")
        print(f"   pipeline workers=1: {proc['pipeline_w1_mol_per_s']:.0f} mol/s, "
              f"time x{proc['pipeline_w1_over_bare_time']:.2f} of baseline")
        print(f"   pipeline workers=2: {proc['pipeline_w2_mol_per_s']:.0f} mol/s, "
              f"speed-up x{proc['speedup_w2_over_w1']:.2f} over workers=1")
        reads = bench_reads(root / "w1" / "processed" / "qm9" / "train", args.reads)
        print(f"B. random reads, baseline = pickled records in RAM ({reads['pickle_reads_per_s']:.0f} reads/s)")
        print(f"   MolStore[i]: {reads['store_reads_per_s']:.0f} reads/s, time x{reads['store_over_pickle_time']:.2f} "
              f"of baseline, {reads['store_bytes_per_molecule']:.0f} bytes/molecule on disk")
    figures = {"machine": f"{os.cpu_count()}-core CPU sandbox, no GPU", **proc, **reads}
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()}))


if __name__ == "__main__":
    main()
