"""``molgen dock``: score, minimise or dock an SDF of ligands with AutoDock Vina (a thin wrapper over
:func:`molgen.dock.dock_sdf`)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from molgen.cli import INPUT_ERRORS, OneLineParser, input_error


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="molgen dock",
        description="Score, minimise or dock the molecules of an SDF into a protein with AutoDock Vina "
        "(receptor and ligands prepared in-process; resumable: rerun the same command after a kill).",
    )
    parser.add_argument("ligands", type=Path, help="input SDF, coordinates in the receptor's frame")
    parser.add_argument("--receptor", type=Path, required=True, help="protein PDB (hydrogens are added)")
    parser.add_argument("--mode", choices=("score", "minimize", "dock"), default="dock",
                        help="Vina score of the input pose, local minimisation, or docking (default: dock)")
    box = parser.add_argument_group("box (default: each ligand's own box, extent + 5 A, as TargetDiff)")
    box.add_argument("--box-from", type=Path, metavar="REF.sdf",
                     help="centre on this reference ligand; size its extent + 5 A per axis unless --size")
    box.add_argument("--center", type=float, nargs=3, metavar=("X", "Y", "Z"), help="box centre (Angstrom)")
    box.add_argument("--size", type=float, nargs=3, metavar=("SX", "SY", "SZ"), help="box edge lengths (Angstrom)")
    box.add_argument("--box-file", type=Path, help="Vina config file with center_x ... size_z")
    parser.add_argument("--exhaustiveness", type=int, default=None,
                        help=f"Vina exhaustiveness in dock mode ({DEFAULT_EXHAUSTIVENESS})")
    parser.add_argument("--poses", type=int, default=None,
                        help=f"poses kept per molecule in dock mode ({DEFAULT_POSES})")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="worker processes (one core each)")
    parser.add_argument("--seed", type=int, default=42, help="Vina random seed (0: random; default 42)")
    parser.add_argument("--cache-dir", type=Path, help="prepared receptor cache (default $MOLGEN_CACHE/receptors)")
    parser.add_argument("--out", type=Path, required=True,
                        help="output folder: docked.sdf, docking.csv, docking.json; library.log: what RDKit, meeko "
                        "and Vina printed")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress bar (library messages still go to --out/library.log)")
    return parser


def resolve_box(args: argparse.Namespace):
    """The :class:`~molgen.dock.Box` the options ask for (None: a box per ligand)."""
    from molgen.dock import Box, DockingInputError, box_from_ligand_file, read_box_file

    sources = [name for name in ("box_from", "center", "box_file") if getattr(args, name) is not None]
    if len(sources) > 1:
        raise DockingInputError(f"give one of --box-from, --center, --box-file (got {', '.join(sources)})")
    if args.box_file is not None:
        return read_box_file(args.box_file)
    if args.center is not None:
        if args.size is None:
            raise DockingInputError("--center needs --size SX SY SZ")
        return Box(tuple(args.center), tuple(args.size))
    if args.box_from is not None:
        ref = box_from_ligand_file(args.box_from)
        return ref if args.size is None else Box(ref.center, tuple(args.size))
    if args.size is not None:
        raise DockingInputError("--size needs --center or --box-from")
    return None


#: Vina's own limits are far above what a run can use; beyond these the run never ends.
MAX_EXHAUSTIVENESS = 512
DEFAULT_EXHAUSTIVENESS = 16
DEFAULT_POSES = 1
MAX_POSES = 100
#: Vina takes a signed 32-bit seed.
MAX_VINA_SEED = 2**31 - 1


def check_arguments(args: argparse.Namespace) -> None:
    """Ranges of the numeric options and the output folder policy (:mod:`molgen.outputs`), before any work."""
    from molgen.cli.guards import MAX_WORKERS, check_coordinates, check_seed
    from molgen.errors import MolgenInputError, check_positive
    from molgen.outputs import check_output_dir, json_has

    given = [flag for flag, value in (("--exhaustiveness", args.exhaustiveness), ("--poses", args.poses))
             if value is not None]
    if given and args.mode != "dock":  # accepted and ignored would be a silent no-op
        raise MolgenInputError(f"{given[0]} has no effect with --mode {args.mode} (dock mode only)")
    args.exhaustiveness = DEFAULT_EXHAUSTIVENESS if args.exhaustiveness is None else args.exhaustiveness
    args.poses = DEFAULT_POSES if args.poses is None else args.poses
    if args.cache_dir is not None and args.cache_dir.exists() and not args.cache_dir.is_dir():
        raise MolgenInputError(f"--cache-dir {args.cache_dir} exists and is not a folder; choose another path")
    check_positive("--exhaustiveness", args.exhaustiveness, MAX_EXHAUSTIVENESS)
    check_positive("--poses", args.poses, MAX_POSES)
    check_positive("--workers", args.workers, MAX_WORKERS)
    check_seed(args.seed, maximum=MAX_VINA_SEED)
    check_coordinates("--center", args.center)
    from molgen.dock.results import CSV, JSON, LOG, SDF

    # library.log is appended to: a user's file of that name is theirs as much as a docked.sdf
    check_output_dir(args.out, [args.ligands, args.receptor, args.box_from, args.box_file],
                     owned=(SDF, CSV, JSON, LOG),
                     marker=lambda folder: json_has(folder / JSON, "run"), what="molgen dock output folder")


def main(argv: list[str]) -> int:
    from molgen.chatter import captured
    from molgen.dock import DockSettings, dock_sdf

    args = build_parser().parse_args(argv)
    chatter = None
    try:
        check_arguments(args)
        # RDKit / meeko / Vina / Open Babel lines go to a log; the progress bar writes to the terminal
        with captured() as chatter:
            settings = DockSettings(args.mode, args.exhaustiveness, args.poses, args.seed, resolve_box(args))
            run = dock_sdf(args.ligands, args.receptor, args.out, settings, workers=args.workers,
                           progress=not args.quiet, cache_dir=args.cache_dir)
    except INPUT_ERRORS as exc:  # DockingInputError included: names the file and the problem
        _say(_keep_log(chatter, args.out))  # the log may say why
        return input_error("molgen dock", exc)
    except BaseException:  # a bug or an interrupt: results so far are in --out, and so is their log
        _say(_keep_log(chatter, args.out))
        raise
    _say(_keep_log(chatter, args.out))
    print(f"{run.n_ok} of {run.n_records} molecules {args.mode} ok, {run.n_failed} failed "
          f"({run.n_skipped} done by an earlier run); {run.seconds:.1f} s")
    print(f"wrote {run.sdf}, {run.csv}")
    return 0


def _keep_log(chatter, out: Path) -> str | None:
    """Append what libraries printed to ``out/library.log`` (when the run made ``out``; else leave the
    temporary log where it is): the one line naming it, or None when nothing was printed."""
    from molgen.dock.results import LOG

    if chatter is None or not chatter.lines:
        if chatter is not None:
            chatter.path.unlink(missing_ok=True)
        return None
    kept = chatter.keep(out / LOG, append=True) if out.is_dir() else chatter.path
    return chatter.summary(kept)


def _say(line: str | None) -> None:
    if line:
        print(line, file=sys.stderr)
