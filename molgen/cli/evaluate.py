"""``molgen evaluate``: evaluate an SDF of molecules (a thin wrapper over :func:`molgen.eval.evaluate_sdf`)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from molgen.cli import INPUT_ERRORS, OneLineParser, input_error


def build_parser() -> argparse.ArgumentParser:
    from molgen.eval import available_groups
    from molgen.eval.registry import preset_costs

    parser = OneLineParser(
        prog="molgen evaluate",
        description="Evaluate the molecules of an SDF (.sdf or .sdf.gz) written by molgen or any other tool.",
    )
    parser.add_argument("sdf", type=Path, help="input SDF; unreadable records are listed, not fatal")
    parser.add_argument(
        "--reference",
        help="processed dataset name (e.g. qm9: its training split), or an SDF / SMILES file (novelty, distributions)",
    )
    parser.add_argument("--protein", type=Path,
                        help="protein PDB: the context of --metrics posebusters ('dock' checks) and docking; "
                        "it adds no metric group; its waters and non-metal hetero groups (a crystal ligand) are "
                        "left out of the pose checks and named in the summary, as in `molgen dock`")
    parser.add_argument(
        "--metrics",
        default="standard",
        help=f"preset ({preset_costs()}) or comma list of groups ({', '.join(available_groups())})",
    )
    parser.add_argument(
        "--time-limit", type=float, default=120.0,
        help="seconds each slow check (posebusters, strain, docking) may spend on one molecule before it is "
        "stopped and recorded as 'timeout' in molecules.csv (120)",
    )
    parser.add_argument(
        "--max-atoms", type=int, default=300,
        help="the slow checks (posebusters, strain, docking) skip a molecule with more atoms, hydrogens counted, "
        "recorded as 'skipped' (too large) in molecules.csv and counted as n_skipped (300; they take minutes "
        "on a few hundred atoms)",
    )
    parser.add_argument(
        "--reference-ligand", type=Path,
        help="docking: reference ligand SDF (Vina box around it, extent + 5 A; high-affinity fraction against it)",
    )
    parser.add_argument("--dock-exhaustiveness", type=int, default=16, help="docking: Vina exhaustiveness (16)")
    parser.add_argument("--out", type=Path, help="output folder (default: <sdf name>_eval next to the input)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="worker processes")
    parser.add_argument("--data-root", type=Path, help="data root for --reference NAME ($MOLGEN_DATA or ./data)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def main(argv: list[str]) -> int:
    from molgen.chatter import captured
    from molgen.eval import evaluate_sdf
    from molgen.eval.group import Share
    from molgen.eval.report import LIBRARY_LOG
    from molgen.eval.sanity import warnings_of as sanity_warnings
    from molgen.eval.stability import warnings_of as stability_warnings

    args = build_parser().parse_args(argv)
    out = args.out or args.sdf.with_name(args.sdf.name.split(".")[0] + "_eval")
    chatter = None
    try:
        check_arguments(args, out)
        with captured() as chatter:  # RDKit / PoseBusters / Vina lines go to a log, not the terminal
            result = evaluate_sdf(
                args.sdf, args.metrics, args.reference, protein=args.protein, out_dir=out,
                workers=max(1, args.workers), progress=not args.quiet, data_root=args.data_root,
                options=_options(args),
            )
    except INPUT_ERRORS as exc:
        _say(chatter and chatter.summary())  # the temporary log is kept when it says something: it may say why
        if chatter is not None:
            chatter.drop_if_empty()
        return input_error("molgen evaluate", exc)
    except Exception:
        _say(chatter and chatter.summary())
        raise
    except BaseException:  # interrupted: one line is said elsewhere; no log left in the temporary folder
        if chatter is not None:
            chatter.path.unlink(missing_ok=True)
        raise
    try:
        kept = chatter.keep(out / LIBRARY_LOG)
    except OSError as exc:  # the report is in place; only its log could not be written (a full disk)
        return input_error("molgen evaluate", exc)
    _say(chatter.summary(kept))
    for line in sanity_warnings(result.summary.get("sanity", {})):  # first and loud: impossible geometry
        print(line, file=sys.stderr)
    for line in stability_warnings(result.summary.get("stability", {})):  # judged with implicit hydrogens
        print(line, file=sys.stderr)
    for flag, value, users in (("--protein", args.protein, ("posebusters", "docking")),
                               ("--reference-ligand", args.reference_ligand, ("docking",))):
        if value is not None and not set(users) & set(result.groups):  # given, but no asked metric reads it
            print(f"NOTE: {flag} was not used: --metrics {args.metrics} has no {' or '.join(users)} group "
                  f"(add it, e.g. --metrics {args.metrics},{users[-1]})", file=sys.stderr)
    for key, value in result.flat().items():
        if not isinstance(value, dict):
            counted = f" ({value.counted()})" if isinstance(value, Share) else ""
            print(f"{key:45s} {value:.4g}{counted}" if isinstance(value, float) else f"{key:45s} {value}")
    skipped = {g: m["n_skipped"] for g, m in result.summary.items() if isinstance(m, dict) and m.get("n_skipped")}
    if skipped:
        print(f"{max(skipped.values())} molecule(s) with more than --max-atoms {args.max_atoms} atoms skipped by "
              f"{', '.join(skipped)} (too large; status 'skipped' in molecules.csv)", file=sys.stderr)
    if result.bad_records:
        print(f"{len(result.bad_records)} unreadable record(s) listed in {out / 'metrics.json'}", file=sys.stderr)
    print(f"wrote {out / 'metrics.json'}, {out / 'molecules.csv'}, {out / 'report.html'}")
    return 0


#: what PoseBusters reads as a protein here (anything else would be silently unused)
PROTEIN_SUFFIXES = (".pdb", ".ent")


def check_arguments(args: argparse.Namespace, out: Path) -> None:
    """Numeric ranges, the protein (a PDB with finite coordinates) and the output folder, before any work."""
    from molgen.cli.guards import MAX_TIME_LIMIT_S, MAX_WORKERS, check_number
    from molgen.errors import MolgenInputError, check_positive
    from molgen.eval.report import OUTPUT_FILES, partial_csv
    from molgen.outputs import check_output_dir, check_output_file, json_has, read_head

    check_positive("--workers", args.workers, MAX_WORKERS)
    check_positive("--dock-exhaustiveness", args.dock_exhaustiveness, 512)
    check_positive("--max-atoms", args.max_atoms)
    check_number("--time-limit", args.time_limit, 0.0, MAX_TIME_LIMIT_S)  # NaN, <= 0 or inf: no bound at all
    named = {part.strip() for part in str(args.metrics).split(",")}
    if args.protein is None and "docking" in named:  # a preset docks only with --protein; a named group must
        raise MolgenInputError("--metrics docking needs --protein PROTEIN.pdb (nothing would be docked)")
    if args.protein is None and args.reference_ligand is not None:
        raise MolgenInputError("--reference-ligand has no effect without --protein PROTEIN.pdb (docking)")
    if args.protein is not None:
        if not args.protein.exists():
            raise FileNotFoundError(f"protein PDB file not found: {args.protein}")
        if args.protein.suffix.lower() not in PROTEIN_SUFFIXES:
            raise MolgenInputError(f"{args.protein}: not a PDB file (--protein reads .pdb only; convert "
                                   f"{args.protein.suffix or 'this file'} to PDB first)")
        if args.protein.is_file() and args.protein.stat().st_size:
            from molgen.dock.receptor import check_receptor_atoms

            check_receptor_atoms(args.protein, args.protein.read_bytes())
    reference = args.reference if args.reference and Path(args.reference).exists() else None
    inputs = [args.sdf, args.protein, reference, args.reference_ligand]
    # the rows so far are kept beside the folder while the run goes (and removed at the end): never a user's file
    check_output_file(partial_csv(out), inputs, recognise=lambda path: read_head(path, 4096).startswith(b"record,name"),
                      what="molgen evaluate partial CSV", option="--out (its rows-so-far file)")
    check_output_dir(out, inputs, owned=OUTPUT_FILES,
                     marker=lambda folder: json_has(folder / "metrics.json", "molgen_version"),
                     what="molgen evaluate output folder")


def _say(line: str | None) -> None:
    if line:
        print(line, file=sys.stderr)


def _options(args: argparse.Namespace):
    from molgen.eval import EvalOptions

    if args.reference_ligand is not None and not args.reference_ligand.is_file():
        raise FileNotFoundError(f"reference ligand file not found: {args.reference_ligand}")
    ligand = None if args.reference_ligand is None else str(args.reference_ligand)
    return EvalOptions(reference_ligand_path=ligand, dock_exhaustiveness=args.dock_exhaustiveness,
                       time_limit_s=args.time_limit, max_atoms=args.max_atoms)
