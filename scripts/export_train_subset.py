"""Export a trimmed copy of a processed dataset's training split, small enough to travel with the repository.

The copy is an ordinary processed dataset (``<root>/processed/<out_name>/``) that ``dataset.name=<out_name>``
trains on: ``train/`` written molecule by molecule with the project's own :class:`~molgen.data.store.StoreWriter`
(``--limit`` training molecules, every one by default; their ``props``, e.g. QM9's regression
targets, are dropped: training never reads them), ``statistics.json`` recomputed for exactly these molecules
with :func:`~molgen.data.stats.compute_statistics` (the marginals the model is trained with), and
``export.json`` (source, counts, what was dropped, size). No ``val``/``test`` split: training reads only
``train``. Written in a hidden staging folder and renamed into place, so a copy either exists whole or not at
all; it is refused before the rename if it is larger than ``--max-mb``.

Which molecules: ``--pick random`` (default) takes ``--limit`` of them uniformly at random (``--seed``), kept
in store order; ``--pick first`` the first ones. Processed splits keep the raw file's order, and QM9's is by
size (its first 5,000 molecules have at most 9 heavy atoms, a few of them 9, against 83% of the split), so
a prefix is not a sample of the dataset.

    python scripts/export_train_subset.py --name qm9_noh --out-name qm9_noh_gpu          # all ~100k, ~30 MB
    python scripts/export_train_subset.py --name qm9_noh --out-name qm9_noh_10k --limit 10000 --drop-features

``--drop-features`` also drops the optional atom features (aromatic, ring, hybridization), which only a
model with ``model.extra_atom_features`` > 0 reads. The last line printed is ``export.json`` as one JSON line.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import uuid
from pathlib import Path

import numpy as np

from molgen.data.stats import compute_statistics
from molgen.data.store import MolStore, StoreWriter
from molgen.data.template import ProcessedDataset, processed_dir
from molgen.safe_write import replace_dir, write_text_atomic


def folder_bytes(folder: Path) -> int:
    """Total size of the files under ``folder``."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def pick_indices(total: int, limit: int | None, pick: str, seed: int) -> np.ndarray:
    """Sorted indices of the molecules to export: all, the first ``limit``, or ``limit`` drawn at random."""
    if pick not in ("random", "first"):
        raise ValueError(f"--pick must be random or first, got {pick!r}")
    if limit is None or limit >= total:
        return np.arange(total)
    if pick == "first":
        return np.arange(limit)
    return np.sort(np.random.default_rng(seed).choice(total, size=limit, replace=False))


def export_train_subset(root: str | Path | None, name: str, out_name: str, *, limit: int | None = None,
                        pick: str = "random", seed: int = 0, drop_features: bool = False,
                        max_mb: float | None = None, force: bool = False,
                        out_root: str | Path | None = None) -> dict:
    """Write ``<out_root or root>/processed/<out_name>/`` from ``limit`` training molecules of ``name``.

    Returns what ``export.json`` holds. Raises ``FileExistsError`` if the output exists (unless ``force``),
    ``ValueError`` for a bad ``limit``/``out_name`` or a copy over ``max_mb`` (nothing is left behind then).
    """
    source = ProcessedDataset(root, name, "train")  # FileNotFoundError naming the folder when it is missing
    if limit is not None and limit < 1:
        raise ValueError(f"--limit must be >= 1, got {limit}")
    out = processed_dir(out_name, out_root if out_root is not None else root)
    if out.resolve() == source.folder.resolve():
        raise ValueError(f"--out-name {out_name!r} would overwrite the source dataset {source.folder}")
    if out.exists() and not force:
        raise FileExistsError(f"{out} already exists (pass --force to replace it)")
    store = source.store
    indices = pick_indices(len(store), limit, pick, seed)
    features = () if drop_features else store.features
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out_name}.tmp-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        with StoreWriter(staging / "train", features=features) as writer:
            for i in indices.tolist():
                graph = store[i]
                graph.props = {}
                for key in set(store.features) - set(features):
                    setattr(graph, key, None)
                writer.append(graph)
        compute_statistics(MolStore(staging / "train")).save(staging / "statistics.json")
        size = folder_bytes(staging)
        count = len(indices)
        info = {"source": str(source.folder), "source_train_molecules": len(store), "molecules": count,
                "pick": pick if count < len(store) else "all", "seed": seed,
                "features": list(features), "dropped": ["props", *sorted(set(store.features) - set(features))],
                "splits": ["train"], "bytes": size, "mb": round(size / 1e6, 2)}
        if max_mb is not None and size > max_mb * 1e6:
            raise ValueError(f"the export of {count} molecules is {size / 1e6:.1f} MB > --max-mb {max_mb}; "
                             "pass a smaller --limit or --drop-features")
        write_text_atomic(staging / "export.json", json.dumps(info, indent=1) + "\n")
        replace_dir(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return {**info, "path": str(out)}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", default=None, help="data root of the source (default $MOLGEN_DATA or ./data)")
    p.add_argument("--name", default="qm9_noh", help="processed dataset to copy from (default qm9_noh)")
    p.add_argument("--out-name", required=True, help="name of the copy (folder under <root>/processed/)")
    p.add_argument("--out-root", default=None, help="data root of the copy (default: the source's)")
    p.add_argument("--limit", type=int, default=None, help="N training molecules (default: all)")
    p.add_argument("--pick", choices=("random", "first"), default="random",
                   help="which N: uniformly at random (default) or the first N")
    p.add_argument("--seed", type=int, default=0, help="seed of --pick random (default 0)")
    p.add_argument("--drop-features", action="store_true", help="drop the optional atom features too")
    p.add_argument("--max-mb", type=float, default=40.0, help="refuse a copy larger than this (default 40)")
    p.add_argument("--force", action="store_true", help="replace an existing copy")
    args = p.parse_args(argv)
    try:
        info = export_train_subset(args.root, args.name, args.out_name, limit=args.limit, pick=args.pick,
                                   seed=args.seed, drop_features=args.drop_features, max_mb=args.max_mb,
                                   force=args.force, out_root=args.out_root)
    except (FileNotFoundError, FileExistsError, ValueError) as exc:
        print(f"export_train_subset: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    print(f"exported {info['molecules']} of {info['source_train_molecules']} training molecules of {args.name} "
          f"-> {info['path']} ({info['mb']} MB)")
    print(json.dumps(info))
    return info


if __name__ == "__main__":
    main()
