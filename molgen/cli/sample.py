"""``molgen sample --ckpt CKPT --num 1000 --out samples.sdf ...``: flags -> one ``SampleOptions`` -> ``generate``.

``--pocket PROTEIN.pdb (--ref-ligand LIG.sdf | --center X Y Z)`` writes ligands in the receptor's frame,
ready for ``molgen dock``: a pocket-conditioned checkpoint generates them there; any other (e.g. the
drug-like model) has each molecule placed in its best-fitting pose, steered away from clashes while it
is sampled, and ``--guide fit`` keeps the molecules that fit (:mod:`molgen.generate.placement`). Every value is
checked by :class:`molgen.generate.options.SampleOptions` before the checkpoint is read.
"""

from __future__ import annotations

import argparse
import sys

from molgen.cli import OneLineParser
from molgen.generate.options import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_CENTER_RADIUS,
    DEFAULT_GUIDE_EVERY,
    DEFAULT_RESAMPLINGS,
    DEFAULT_STEPS,
)


def parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="molgen sample", description="Sample molecules from a checkpoint to SDF.")
    p.add_argument("--ckpt", required=True, help="training checkpoint (EMA weights are used)")
    p.add_argument("--num", type=int, default=1000, help="number of molecules (default 1000)")
    p.add_argument("--out", required=True, help="output SDF (.sdf or .sdf.gz), written atomically")
    p.add_argument("--steps", type=int, default=None,
                   help=f"reverse jumps, 1 to the trained number T (default {DEFAULT_STEPS}, or T if smaller); "
                        "more is slower and usually better")
    p.add_argument("--atoms", type=int, default=None, help="atoms per molecule (default: training histogram)")
    p.add_argument("--seed", type=int, default=0, help="random seed; same seed and batch size, same molecules")
    p.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
                   help=f"molecules sampled together (default {DEFAULT_BATCH_SIZE})")
    p.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda:0")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    pocket = p.add_argument_group("pockets (a pocket-conditioned model generates in it; any other model's "
                                  "molecules are placed in it and steered away from clashes; --guide fit)")
    pocket.add_argument("--pocket", metavar="PROTEIN.pdb", help="receptor PDB to generate ligands into")
    pocket.add_argument("--ref-ligand", metavar="LIG.sdf", help="pocket = residues within 7 A of this ligand")
    pocket.add_argument("--center", type=float, nargs=3, metavar=("X", "Y", "Z"),
                        help="pocket = residues within --radius of this point (A, receptor frame)")
    pocket.add_argument("--radius", type=float, default=None,
                        help=f"pocket radius around --center (default {DEFAULT_CENTER_RADIUS:g} A)")
    fix = p.add_argument_group("fragment inpainting")
    fix.add_argument("--fix", metavar="FRAGMENT.sdf", help="keep this fragment's atoms and bonds (first record, "
                     "in the output frame) and generate the rest around it")
    fix.add_argument("--resamplings", type=int, default=None, help="RePaint passes per reverse jump with --fix "
                     f"(default {DEFAULT_RESAMPLINGS}; cost grows with it, quality too)")
    steer = p.add_argument_group("guidance, scores and filtering")
    steer.add_argument("--guide", metavar="qed|sa|vina|fit", help="importance-sampling guidance by this score "
                       "(vina: Vina score-only in the --pocket receptor; fit: how well a placed molecule fits the "
                       "--pocket, for models that never saw one)")
    steer.add_argument("--guide-temperature", type=float, default=None,
                       help="guidance temperature in score units (default: qed/sa 0.05, vina 1 kcal/mol, fit 2)")
    steer.add_argument("--guide-every", type=int, default=None,
                       help=f"guide every k-th reverse jump (default {DEFAULT_GUIDE_EVERY})")
    steer.add_argument("--score", metavar="qed|sa|vina|fit", help="write this score as SD property score_<name> "
                       "(default: the --guide score)")
    steer.add_argument("--keep-top", type=float, metavar="F", help="write only the best fraction F by the score")
    p.add_argument("--relax", choices=("none", "h", "mmff"), default="none",
                   help="also write a force-field-relaxed copy beside --out as <out>.relax_<mode>.sdf (h: hydrogens "
                        "only, heavy atoms fixed; mmff: all atoms, heavy atoms restrained); --out keeps the raw output")
    return p


def options_from_args(args: argparse.Namespace):
    """The :class:`~molgen.generate.options.SampleOptions` of parsed ``molgen sample`` flags (pocket cut here)."""
    from molgen.errors import MolgenInputError
    from molgen.generate.options import Fragment, Guidance, PocketContext, SampleOptions

    unused = [(flag, needs) for flag, value, needs, given in (
        ("--guide-temperature", args.guide_temperature, "--guide NAME", args.guide),
        ("--guide-every", args.guide_every, "--guide NAME", args.guide),
        ("--resamplings", args.resamplings, "--fix FRAGMENT.sdf", args.fix),
        ("--radius", args.radius, "--center X Y Z", args.center)) if value is not None and given is None]
    if unused:  # a flag that changes nothing is a mistake the user should hear about, not a silent default
        flag, needs = unused[0]
        raise MolgenInputError(f"{flag} has no effect without {needs}")
    guidance = Guidance(guide=args.guide, temperature=args.guide_temperature,
                        every=DEFAULT_GUIDE_EVERY if args.guide_every is None else args.guide_every, score=args.score,
                        keep_top=args.keep_top)
    resamplings = DEFAULT_RESAMPLINGS if args.resamplings is None else args.resamplings
    fragment = None if args.fix is None else Fragment(args.fix, resamplings)
    pocket = None
    if args.pocket is not None:
        radius = DEFAULT_CENTER_RADIUS if args.radius is None else args.radius
        pocket = PocketContext.from_pdb(args.pocket, args.ref_ligand, args.center, radius=radius)
    elif args.ref_ligand is not None or args.center is not None:
        raise MolgenInputError("--ref-ligand and --center place a pocket: give the receptor with --pocket")
    return SampleOptions(num=args.num, steps=args.steps, atoms=args.atoms, seed=args.seed,
                         batch_size=args.batch_size, progress=not args.no_progress, pocket=pocket,
                         fragment=fragment, guidance=guidance)


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    from molgen.cli.guards import guard_sample

    guard_sample(args)  # output path (never an input, a user's file or a device) and value ranges
    from molgen.generate import load, write_samples

    options = options_from_args(args)  # before the checkpoint is read: bad arguments cost nothing
    molecules = load(args.ckpt, args.device).sample(options)
    counts = write_samples(molecules, args.out)
    print(f"wrote {counts['written']} molecules to {args.out} ({counts['sanitized']} sanitise in RDKit, "
          f"{counts['distinct']} distinct)")
    if args.guide is not None and counts["distinct"] < counts["sanitized"] / 2:
        print(f"NOTE: --guide {args.guide} copied its best molecules: {counts['distinct']} distinct of "
              f"{counts['sanitized']}; a larger --num or --guide-temperature keeps more diversity", file=sys.stderr)
    if args.relax != "none":
        from molgen.chem.relax import relax_sdf

        print(relax_sdf(args.out, args.relax).summary())
    return 0
