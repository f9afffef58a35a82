"""``molgen data DATASET [options]``: prepare a dataset (thin wrapper over each dataset's library function).

Each dataset in :data:`DATASETS` has here a function adding its own options to the parser and
one calling its library function (``molgen.data.<dataset>``) with the parsed arguments; the
library modules hold no argparse or print code. The options every dataset shares (``--root``,
``--force``, ``--workers``, ``--strict``, ``--no-progress``) are added by :func:`_parser`.
A dataset's library module is imported only when that dataset is prepared.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from molgen.cli import INPUT_ERRORS, OneLineParser, input_error


def _qm9_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", choices=("auto", "tg", "xyz", "qm9pack"), default="auto",
                        help="raw form to read (auto: raw folder contents first, then the qm9pack package)")
    parser.add_argument("--raw-dir", default=None, help="folder with the raw files (default <root>/raw/qm9)")
    parser.add_argument("--download", action="store_true",
                        help="download the official XYZ tarball + uncharacterized.txt (MD5-checked) if absent")
    parser.add_argument("--limit", type=int, default=None, help="process only the first N raw records")
    parser.add_argument("--aromatic", action="store_true",
                        help="keep RDKit's aromatic bond class (default: Kekulé bonds, as EQGAT-diff)")
    parser.add_argument("--remove-hs", action="store_true",
                        help="heavy atoms only, as processed/qm9_noh (hydrogens are added back when sampling)")


def _qm9_run(args: argparse.Namespace) -> None:
    from molgen.data.qm9 import prepare_qm9

    prepare_qm9(args.source, args.raw_dir, root=args.root, force=args.force, workers=args.workers,
                limit=args.limit, download=args.download, strict=args.strict, progress=not args.no_progress,
                kekulize=not args.aromatic, remove_hs=args.remove_hs)


def _geom_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--raw", required=True, help="rdkit_folder directory or drugs_crude.msgpack file")
    parser.add_argument("--conformers", type=int, default=5, help="lowest-energy conformers per molecule (0: all)")
    parser.add_argument("--split-file", help="JSON {split: [SMILES, ...]} replacing the hashed 80/10/10 split")
    parser.add_argument("--seed", type=int, default=0, help="seed of the hashed split")
    parser.add_argument("--max-atoms", type=int, help="drop conformers with more atoms")
    parser.add_argument("--shard-size", type=int, default=500, help="molecules per resumable shard")
    parser.add_argument("--summary", default="summary_drugs.json", help="summary file name inside rdkit_folder")
    parser.add_argument("--remove-hs", action="store_true",
                        help="heavy atoms only, as processed/geom_drugs_noh (configs/geom_drugs.yaml; with --kekulize)")
    parser.add_argument("--kekulize", action="store_true", help="Kekulé bonds instead of the aromatic bond class")


def _geom_run(args: argparse.Namespace) -> None:
    from molgen.data.geom import GeomDrugs

    builder = GeomDrugs(args.raw, conformers=args.conformers, split_file=args.split_file, seed=args.seed,
                        max_atoms=args.max_atoms, shard_size=args.shard_size, summary_name=args.summary,
                        remove_hs=args.remove_hs, kekulize=args.kekulize)
    builder.process(args.root, force=args.force, workers=args.workers, strict=args.strict,
                    progress=not args.no_progress)


def _pubchem3d_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--raw", help="folder with Compound_3D *.sdf.gz files (or one file)")
    parser.add_argument("--remove-hs", action="store_true", help="drop hydrogen atoms (heavy-atom pretraining)")
    parser.add_argument("--shard", help="process only slice i/n of the input files (e.g. 0/8), one per machine")
    parser.add_argument("--merge", type=int, metavar="N", help="merge the N finished parts into processed/pubchem3d")
    parser.add_argument("--max-atoms", type=int, help="drop molecules with more atoms")
    parser.add_argument("--seed", type=int, default=0, help="seed of the hashed split by CID")


def _pubchem3d_run(args: argparse.Namespace) -> None:
    from molgen.data.pubchem3d import PubChem3D, merge_parts, parse_slice
    from molgen.errors import MolgenInputError

    if args.merge:
        given = (("--raw", args.raw), ("--shard", args.shard), ("--max-atoms", args.max_atoms),
                 ("--remove-hs", args.remove_hs))
        unused = [flag for flag, value in given if value]
        if unused:  # the parts were built with their own settings: these would be silently ignored
            raise MolgenInputError(f"molgen data pubchem3d --merge only joins finished parts; {', '.join(unused)} "
                                   "belong to the runs that built them")
        print(merge_parts(args.merge, args.root).summary())
        return
    if not args.raw:
        raise MolgenInputError("molgen data pubchem3d needs --raw DIR (or --merge N)")
    shard = parse_slice(args.shard) if args.shard else None
    builder = PubChem3D(args.raw, remove_hs=args.remove_hs, shard=shard, max_atoms=args.max_atoms, seed=args.seed)
    builder.process(args.root, force=args.force, workers=args.workers, strict=args.strict,
                    progress=not args.no_progress)


def _crossdocked_options(parser: argparse.ArgumentParser) -> None:
    from molgen.data.pocket import DEFAULT_POCKET_CUTOFF

    parser.add_argument("--raw", required=True, help="crossdocked_pocket10 folder (with index.pkl)")
    parser.add_argument("--split-file", help="split_by_name.pt (or a Protein/Ligand TSV)")
    parser.add_argument("--pose-split", help="TargetDiff crossdocked_pocket10_pose_split.pt")
    parser.add_argument("--pocket-cutoff", type=float, default=DEFAULT_POCKET_CUTOFF, help="pocket radius in A")
    parser.add_argument("--ligand-hs", action="store_true", help="keep ligand hydrogens (default: heavy atoms)")
    parser.add_argument("--max-atoms", type=int, help="drop pairs whose ligand has more atoms")


def _crossdocked_run(args: argparse.Namespace) -> None:
    from molgen.data.crossdocked import CrossDocked

    builder = CrossDocked(args.raw, split_file=args.split_file, pose_split=args.pose_split,
                          pocket_cutoff=args.pocket_cutoff, ligand_hs=args.ligand_hs, max_atoms=args.max_atoms)
    builder.process(args.root, force=args.force, workers=args.workers, strict=args.strict,
                    progress=not args.no_progress)


def _custom_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sdf", required=True, help="an .sdf/.sdf.gz file or a folder of them")
    parser.add_argument("--name", required=True, help="dataset name (folder under processed/)")
    parser.add_argument("--max-atoms", type=int, help="reject molecules with more atoms")
    parser.add_argument("--reject-disconnected", action="store_true", help="reject multi-fragment molecules")
    parser.add_argument("--add-hs", action="store_true", help="add missing hydrogens instead of rejecting")
    parser.add_argument("--kekulize", action="store_true", help="Kekulé bonds instead of the aromatic bond class")
    parser.add_argument("--remove-hs", action="store_true",
                        help="heavy atoms only (hydrogens are added back, in 3D, when a model trained on it samples)")


def _custom_run(args: argparse.Namespace) -> None:
    from molgen.data.custom import build_custom, rejections_pointer
    from molgen.data.template import processed_dir

    report = build_custom(args.sdf, args.name, args.root, force=args.force, workers=args.workers,
                          strict=args.strict, progress=not args.no_progress, max_atoms=args.max_atoms,
                          reject_disconnected=args.reject_disconnected, add_hs=args.add_hs, kekulize=args.kekulize,
                          remove_hs=args.remove_hs)
    print(rejections_pointer(report, processed_dir(args.name, args.root) / "rejected.tsv", "record"))


def _conformer_options(parser: argparse.ArgumentParser) -> None:
    """Options of the SMILES -> 3D conformer builders (``smiles``, ``moses``)."""
    parser.add_argument("--conformers", type=int, default=1, help="ETKDGv3 + MMFF conformers per molecule")
    parser.add_argument("--remove-hs", action="store_true",
                        help="heavy atoms only (hydrogens are added back, in 3D, when a model trained on it samples)")
    parser.add_argument("--aromatic", action="store_true", help="keep the aromatic bond class (default: Kekulé)")
    parser.add_argument("--limit", type=int, help="only the first N input rows")
    parser.add_argument("--seed", type=int, default=0, help="conformer seed (hashed with each SMILES) and split seed")
    parser.add_argument("--max-atoms", type=int, help="reject molecules with more stored atoms")
    parser.add_argument("--largest-fragment", action="store_true",
                        help="keep the largest fragment of salts/mixtures instead of rejecting them")
    parser.add_argument("--shard-size", type=int, default=100, help="input rows per resumable shard")


def _smiles_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--smi", help="a .smi/.csv/.tsv file (optionally .gz) or a folder of them")
    parser.add_argument("--source", choices=("file", "moses"), default="file",
                        help="moses: the installed molsets package's SMILES (see 'molgen data moses')")
    parser.add_argument("--split", choices=("train", "test", "test_scaffolds"), default=None,
                        help="MOSES split with --source moses (default train)")
    parser.add_argument("--name", help="dataset name (folder under processed/; default with --source moses: moses...)")
    _conformer_options(parser)


def _moses_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--split", choices=("train", "test", "test_scaffolds"), default="train", help="MOSES split")
    parser.add_argument("--name", help="dataset name (default moses, moses_test, ...; _noh with --remove-hs)")
    parser.set_defaults(source="moses", smi=None)
    _conformer_options(parser)


def _smiles_run(args: argparse.Namespace) -> None:
    from molgen.data.custom import rejections_pointer
    from molgen.data.moses import build_moses
    from molgen.data.smiles import build_smiles
    from molgen.data.template import processed_dir
    from molgen.errors import MolgenInputError

    common = dict(force=args.force, workers=args.workers, strict=args.strict, progress=not args.no_progress,
                  conformers=args.conformers, remove_hs=args.remove_hs, kekulize=not args.aromatic,
                  limit=args.limit, seed=args.seed, max_atoms=args.max_atoms,
                  largest_fragment=args.largest_fragment, shard_size=args.shard_size)
    if args.source == "moses" and args.smi is not None:
        raise MolgenInputError("--smi has no effect with --source moses (it reads the molsets package's SMILES)")
    if args.source == "moses":
        report = build_moses(args.split or "train", args.root, name=args.name, **common)
    elif args.split is not None:
        raise MolgenInputError("--split picks a MOSES split: it has no effect without --source moses")
    elif not (args.smi and args.name):
        raise MolgenInputError("molgen data smiles needs --smi FILE|DIR and --name NAME (or --source moses)")
    else:
        report = build_smiles(args.smi, args.name, args.root, **common)
    print(rejections_pointer(report, processed_dir(report.name, args.root) / "failures.tsv", "line"))


@dataclass(frozen=True)
class DatasetCommand:
    """One ``molgen data`` dataset: its help line, its own options, and the call of its library function."""

    description: str
    options: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], None]


DATASETS: dict[str, DatasetCommand] = {
    "qm9": DatasetCommand("QM9 (torch_geometric raw, official XYZ tarball, or the qm9pack package)",
                          _qm9_options, _qm9_run),
    "geom": DatasetCommand("GEOM-Drugs conformers", _geom_options, _geom_run),
    "pubchem3d": DatasetCommand("PubChem3D Compound_3D SDF files", _pubchem3d_options, _pubchem3d_run),
    "crossdocked": DatasetCommand("CrossDocked2020 pocket10 protein-ligand pairs", _crossdocked_options,
                                  _crossdocked_run),
    "custom": DatasetCommand("your own SDF files", _custom_options, _custom_run),
    "smiles": DatasetCommand("SMILES files -> 3D conformers (RDKit ETKDGv3 + MMFF)", _smiles_options, _smiles_run),
    "moses": DatasetCommand("MOSES drug-like SMILES (molsets package) -> 3D conformers", _moses_options, _smiles_run),
}


def _parser(name: str) -> argparse.ArgumentParser:
    parser = OneLineParser(prog=f"molgen data {name}", description=DATASETS[name].description)
    parser.add_argument("--root", default=None, help="data root (default $MOLGEN_DATA or ./data)")
    parser.add_argument("--force", action="store_true", help="rebuild even if processed output exists")
    parser.add_argument("--workers", type=int, default=1, help="worker processes for featurisation")
    parser.add_argument("--strict", action="store_true", help="stop at the first bad record instead of skipping it")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    DATASETS[name].options(parser)
    return parser


def _check_arguments(args: argparse.Namespace) -> None:
    """Ranges of the numeric options any dataset has, once, before anything is read or written."""
    from molgen.cli.guards import MAX_WORKERS, check_number, check_seed
    from molgen.errors import MolgenInputError, check_positive

    check_positive("--workers", args.workers, MAX_WORKERS)
    for option in ("limit", "max_atoms", "shard_size", "merge"):
        check_positive(f"--{option.replace('_', '-')}", getattr(args, option, None))
    if getattr(args, "conformers", None) is not None and args.conformers < 0:
        raise MolgenInputError(f"--conformers must be >= 0 (0: all), got {args.conformers}")
    check_seed(getattr(args, "seed", None))
    check_number("--pocket-cutoff", getattr(args, "pocket_cutoff", None), 0.0, 50.0)


def _usage() -> str:
    lines = ["usage: molgen data DATASET [options]", "", "datasets:"]
    lines += [f"  {name:<12} {command.description}" for name, command in DATASETS.items()]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0
    name = argv[0]
    if name not in DATASETS:
        print(f"molgen data: unknown dataset {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    args = _parser(name).parse_args(argv[1:])
    from molgen.data.template import data_root

    root = data_root(args.root)
    folders = [root, root / "processed", root / "raw"]
    made = [folder for folder in folders if not folder.exists()]
    try:
        _check_arguments(args)
        DATASETS[name].run(args)
    except INPUT_ERRORS as exc:
        _remove_empty(made)
        return input_error(f"molgen data {name}", exc)
    return 0


def _remove_empty(folders: list[Path]) -> None:
    """Remove the folders of ``folders`` (made by this run) that are still empty, deepest first: a refused
    build leaves no empty ``processed/`` behind. A folder holding anything stays."""
    for folder in sorted(folders, key=lambda f: len(f.parts), reverse=True):
        try:
            folder.rmdir()
        except OSError:  # absent, not empty, or not ours to remove
            continue
