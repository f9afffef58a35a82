"""Reference sets for novelty and distribution metrics: a processed dataset, an SDF or a SMILES file.

``--reference qm9`` (any name that is not a file) reads the training split of the
processed dataset ``<data root>/processed/<name>/train`` through
:class:`molgen.data.template.ProcessedDataset` and rebuilds RDKit molecules with
:func:`molgen.chem.featurize.reconstruct_mol`. All reference molecules give the SMILES
set for novelty; a seeded random sample of at most ``max_molecules`` gives the
per-molecule rows that distributions are compared against.

A dataset reference is built once and cached beside the processed data
(``<data root>/processed/<name>/reference-<key>.json``: SMILES and rows); the key covers the
groups, the sample size and seed, and the names, sizes and modification times of the split's
files, so rebuilding the dataset (or changing what is asked) builds the reference again. It is
plain JSON, read without running anything from the file.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from pathlib import Path

from rdkit import Chem

from molgen.chem.sanitize import canonical_smiles, sanitized_copy
from molgen.errors import MolgenInputError
from molgen.eval.group import EvalOptions, MetricGroup, ReferenceData
from molgen.eval.reading import read_molecules
from molgen.eval.runner import compute_rows
from molgen.safe_write import write_text_atomic

#: The command that builds each processed dataset a ``--reference NAME`` usually names (offline where it can be).
BUILD_COMMANDS = {
    "qm9": "molgen data qm9 --source qm9pack",
    "qm9_noh": "molgen data qm9 --source qm9pack --remove-hs",
    "moses": "molgen data moses",
    "moses_noh": "molgen data moses --remove-hs",
    "geom_drugs": "molgen data geom --raw rdkit_folder/ --kekulize",
    "geom_drugs_noh": "molgen data geom --raw rdkit_folder/ --remove-hs --kekulize",
}


def reference_molecules(spec: str | Path, root: str | Path | None = None) -> tuple[str, list[Chem.Mol], bool]:
    """``(name, molecules, has_geometry)`` for a file path or a processed dataset name."""
    path = Path(spec)
    if path.is_file():
        read = read_molecules(path)
        if not read.mols:
            raise MolgenInputError(f"reference {path}: no readable molecules ({len(read.bad)} bad records)")
        is_sdf = path.name.lower().removesuffix(".gz").endswith((".sdf", ".mol", ".sd"))
        return str(path), read.mols, is_sdf
    if path.suffix or "/" in str(spec):
        raise FileNotFoundError(f"reference file not found: {spec}")
    try:
        return str(spec), processed_dataset_molecules(str(spec), root), True
    except FileNotFoundError:
        from molgen.data.template import processed_dir

        build = BUILD_COMMANDS.get(str(spec), "molgen data DATASET ... (molgen data --help lists them)")
        raise FileNotFoundError(f"--reference {spec}: no processed training split at {processed_dir(str(spec), root)}; "
                               f"build it once with `{build}`, or pass an SDF or SMILES file") from None


def processed_dataset_molecules(name: str, root: str | Path | None = None, split: str = "train") -> list[Chem.Mol]:
    """RDKit molecules of a processed dataset split (``molgen data <name>`` must have run).

    A heavy-atom dataset (no H in its statistics, e.g. ``qm9_noh``) gets its implied hydrogens,
    so its SMILES are those of the real molecules, not of radicals.
    """
    from molgen.chem.featurize import reconstruct_mol
    from molgen.chem.hydrogens import has_hydrogens
    from molgen.data.template import ProcessedDataset

    dataset = ProcessedDataset(root, name, split)
    graphs = [dataset[i] for i in range(len(dataset))]
    implicit = not any(has_hydrogens(g) for g in graphs)  # a heavy-atom dataset: no H anywhere
    return [reconstruct_mol(g, sanitize=False, implicit_hydrogens=implicit).mol for g in graphs]


def build_reference(
    spec: str | Path | Sequence[Chem.Mol],
    groups: list[MetricGroup],
    options: EvalOptions | None = None,
    *,
    root: str | Path | None = None,
    max_molecules: int = 5000,
    workers: int = 1,
    seed: int = 0,
    progress: bool = False,
) -> ReferenceData:
    """Reference SMILES (all molecules) and rows of the ``groups`` that compare distributions (a sample).

    A processed dataset's reference is cached beside it (see the module docstring).
    """
    needed = [g for g in groups if g.uses_reference_rows]
    cache = _cache_path(spec, root, needed, max_molecules, seed)
    if cache is not None and cache.is_file():
        cached = _read_cache(cache)
        if cached is not None:
            return cached
    if isinstance(spec, str | Path):
        name, mols, has_geometry = reference_molecules(spec, root)
    else:
        name, mols, has_geometry = "molecules", list(spec), True
    smiles = set()
    for mol in mols:
        clean = sanitized_copy(mol)
        if clean is not None:
            smiles.add(canonical_smiles(clean))
    sample = mols if len(mols) <= max_molecules else random.Random(seed).sample(mols, max_molecules)
    rows: list[dict] = []
    if needed:
        rows, _ = compute_rows(sample, needed, options or EvalOptions(), workers, progress, "reference")
    reference = ReferenceData(name=name, smiles=frozenset(smiles), rows=rows, has_geometry=has_geometry)
    if cache is not None:
        document = {"name": name, "has_geometry": has_geometry, "smiles": sorted(smiles), "rows": rows}
        write_text_atomic(cache, json.dumps(document, default=_plain))
    return reference


#: Bumped when the cached content changes meaning.
CACHE_VERSION = 1


def _cache_path(spec, root, needed: list[MetricGroup], max_molecules: int, seed: int) -> Path | None:
    """``reference-<key>.json`` in the processed dataset named by ``spec`` (None for files and molecule lists)."""
    if not isinstance(spec, str | Path) or Path(spec).is_file() or Path(spec).suffix or "/" in str(spec):
        return None
    from molgen.data.template import processed_dir

    folder = processed_dir(str(spec), root)
    split = folder / "train"
    if not split.is_dir():
        return None  # reading the dataset will say what is missing
    files = sorted((p.relative_to(folder).as_posix(), p.stat().st_size, p.stat().st_mtime_ns)
                   for p in split.rglob("*") if p.is_file())
    key = json.dumps([CACHE_VERSION, sorted(g.name for g in needed), max_molecules, seed, files])
    return folder / f"reference-{hashlib.blake2b(key.encode(), digest_size=8).hexdigest()}.json"


def _plain(value):
    """numpy scalars and arrays as Python values (for ``json.dumps``)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot cache a {type(value).__name__} in a reference row")


def _read_cache(path: Path) -> ReferenceData | None:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        return ReferenceData(name=str(document["name"]), smiles=frozenset(document["smiles"]),
                             rows=list(document["rows"]), has_geometry=bool(document["has_geometry"]))
    except (OSError, json.JSONDecodeError, KeyError, TypeError):
        return None  # unreadable: built again and rewritten
