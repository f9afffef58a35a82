"""``molgen sample --ckpt CKPT --num 1000 --out samples.sdf ...``: wraps :mod:`molgen.generate`.

Pocket-conditioned checkpoints: ``--pocket PROTEIN.pdb (--ref-ligand LIG.sdf | --center X Y Z)``
writes ligands in the receptor's frame, ready for ``molgen dock --mode score``.
"""

from __future__ import annotations

import argparse


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="molgen sample", description="Sample molecules from a checkpoint to SDF.")
    p.add_argument("--ckpt", required=True, help="training checkpoint (EMA weights are used)")
    p.add_argument("--num", type=int, default=1000, help="number of molecules (default 1000)")
    p.add_argument("--out", required=True, help="output SDF (.sdf or .sdf.gz), written atomically")
    p.add_argument("--steps", type=int, default=None, help="reverse jumps (default: the trained number, e.g. 500)")
    p.add_argument("--atoms", type=int, default=None, help="atoms per molecule (default: training histogram)")
    p.add_argument("--seed", type=int, default=0, help="random seed; same seed and batch size, same molecules")
    p.add_argument("--batch-size", type=int, default=64, help="molecules sampled together")
    p.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda:0")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    pocket = p.add_argument_group("pocket-conditioned models")
    pocket.add_argument("--pocket", metavar="PROTEIN.pdb", help="receptor PDB to generate ligands into")
    pocket.add_argument("--ref-ligand", metavar="LIG.sdf", help="pocket = residues within 7 A of this ligand")
    pocket.add_argument("--center", type=float, nargs=3, metavar=("X", "Y", "Z"),
                        help="pocket = residues within --radius of this point (A, receptor frame)")
    pocket.add_argument("--radius", type=float, default=10.0, help="pocket radius around --center (default 10 A)")
    fix = p.add_argument_group("fragment inpainting")
    fix.add_argument("--fix", metavar="FRAGMENT.sdf", help="keep this fragment's atoms and bonds (first record, "
                     "in the output frame) and generate the rest around it")
    fix.add_argument("--resamplings", type=int, default=10, help="RePaint passes per reverse jump with --fix "
                     "(default 10; cost grows with it, quality too)")
    steer = p.add_argument_group("guidance, scores and filtering")
    steer.add_argument("--guide", metavar="qed|sa|vina", help="importance-sampling guidance by this score "
                       "(vina: Vina score-only in the --pocket receptor)")
    steer.add_argument("--guide-temperature", type=float, default=None,
                       help="guidance temperature in score units (default: qed/sa 0.05, vina 1 kcal/mol)")
    steer.add_argument("--guide-every", type=int, default=10, help="guide every k-th reverse jump (default 10)")
    steer.add_argument("--score", metavar="qed|sa|vina", help="write this score as SD property score_<name> "
                       "(default: the --guide score)")
    steer.add_argument("--keep-top", type=float, metavar="F", help="write only the best fraction F by the score")
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    from molgen.cli.guards import guard_sample

    guard_sample(args)  # output path (never an input, a user's file or a device) and value ranges
    from molgen.errors import check_positive
    from molgen.generate import MAX_ATOMS, load, write_samples

    check_positive("--num", args.num)  # before the checkpoint is read: bad arguments cost nothing
    check_positive("--batch-size", args.batch_size)
    check_positive("--atoms", args.atoms, MAX_ATOMS)
    check_positive("--steps", args.steps)
    check_positive("--resamplings", args.resamplings)
    pocket = None
    if args.pocket is not None or args.ref_ligand is not None or args.center is not None:
        from molgen.errors import MolgenInputError
        from molgen.generate.pocket import pocket_from_pdb

        if args.pocket is None:
            raise MolgenInputError("--ref-ligand and --center place a pocket: give the receptor with --pocket")
        pocket = pocket_from_pdb(args.pocket, args.ref_ligand, args.center, radius=args.radius)
    from molgen.generate.steering import Steering

    steering = Steering(guide=args.guide, temperature=args.guide_temperature, every=args.guide_every,
                        score=args.score, keep_top=args.keep_top)
    model = load(args.ckpt, args.device)
    molecules = model.sample(args.num, steps=args.steps, atoms=args.atoms, seed=args.seed,
                             batch_size=args.batch_size, progress=not args.no_progress, pocket=pocket,
                             receptor=args.pocket, steering=steering, fix=args.fix, resamplings=args.resamplings)
    counts = write_samples(molecules, args.out)
    print(f"wrote {counts['written']} molecules to {args.out} ({counts['sanitized']} sanitise in RDKit)")
    return 0
