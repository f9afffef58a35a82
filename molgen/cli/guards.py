"""Range checks of command-line values, done once where they are parsed, before any file is read.

Every check raises :class:`molgen.errors.MolgenInputError` naming the option, so the dispatcher
prints one line and exits 2. The output-path policy itself is :mod:`molgen.outputs`.
"""

from __future__ import annotations

import math
from argparse import Namespace
from collections.abc import Iterable

from molgen.errors import MolgenInputError, check_positive

#: ``--seed``: what every seeded library accepts (numpy's legacy seeding takes 0..2**32 - 1).
MAX_SEED = 2**32 - 1
#: ``molgen sample --num``: molecules are held in memory until written; more is no single run.
MAX_SAMPLES = 10_000_000
#: ``molgen sample``: atom pairs in one batch (the denoiser is fully connected: memory ~ batch x atoms^2).
MAX_PAIRS_PER_BATCH = 2_000_000
#: ``--radius``: Angstrom; a pocket wider than this is the whole protein.
MAX_RADIUS = 50.0
#: ``--workers``: worker processes.
MAX_WORKERS = 1024
#: ``molgen evaluate --time-limit``: seconds one slow check may spend on one molecule (a day).
MAX_TIME_LIMIT_S = 86_400.0


def check_seed(value: int | None, option: str = "--seed", maximum: int = MAX_SEED) -> None:
    if value is not None and not 0 <= value <= maximum:
        raise MolgenInputError(f"{option} must be 0..{maximum}, got {value}")


def check_number(option: str, value: float | None, low: float, high: float, *, open_low: bool = True) -> None:
    """``value`` finite and in (low, high] (``open_low``) or [low, high]; None passes."""
    if value is None:
        return
    ok = math.isfinite(value) and (value > low if open_low else value >= low) and value <= high
    if not ok:
        bound = "(" if open_low else "["
        raise MolgenInputError(f"{option} must be a finite number in {bound}{low:g}, {high:g}], got {value}")


def check_coordinates(option: str, values: Iterable[float] | None, limit: float = 1e4) -> None:
    if values is not None and not all(math.isfinite(v) and abs(v) <= limit for v in values):
        raise MolgenInputError(f"{option} must be finite coordinates within +-{limit:g} A, got {list(values)}")


def check_device(device: str, option: str = "--device") -> None:
    """A torch device this build and machine have (``cuda`` on a CPU-only build is refused here)."""
    import torch

    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError, TypeError):
        raise MolgenInputError(f"{option}: unknown device {device!r} (e.g. cpu, cuda, cuda:0)") from None
    if parsed.type == "cpu":
        return
    if parsed.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise MolgenInputError(f"{option} {device}: no CUDA device (this torch build or machine has none); "
                                   "use --device cpu")
        if parsed.index is not None and parsed.index >= count:
            raise MolgenInputError(f"{option} {device}: only {count} CUDA device(s)")
        return
    if parsed.type == "mps" and torch.backends.mps.is_available():
        return
    raise MolgenInputError(f"{option} {device}: not available on this machine; use --device cpu")


def guard_sample(args: Namespace) -> None:
    """``molgen sample``: output path (never an input, never a user's file or a device) and value ranges."""
    from molgen.outputs import check_output_file, is_molgen_sdf

    inputs = [args.ckpt, getattr(args, "pocket", None), getattr(args, "ref_ligand", None), getattr(args, "fix", None)]
    check_output_file(args.out, inputs, recognise=is_molgen_sdf, what="molgen sample SDF")
    relax = getattr(args, "relax", "none")
    if relax not in (None, "none"):  # the relaxed copy beside --out is an output too, checked before any work
        from molgen.chem.relax import relaxed_path

        check_output_file(relaxed_path(args.out, relax), inputs, recognise=is_molgen_sdf,
                          what="molgen sample SDF", option=f"--relax {relax} output")
    check_positive("--num", args.num)
    if args.num > MAX_SAMPLES:
        raise MolgenInputError(f"--num must be at most {MAX_SAMPLES} in one run (molecules are held in memory "
                               f"until written), got {args.num}; split the run with --seed")
    check_seed(args.seed)
    check_device(args.device)
    check_number("--radius", getattr(args, "radius", None), 0.0, MAX_RADIUS)
    check_coordinates("--center", getattr(args, "center", None))
    check_number("--guide-temperature", getattr(args, "guide_temperature", None), 0.0, 1e6)
    check_positive("--guide-every", getattr(args, "guide_every", None))
    check_number("--keep-top", getattr(args, "keep_top", None), 0.0, 1.0)
    atoms, batch = getattr(args, "atoms", None), getattr(args, "batch_size", None)
    if atoms is not None and batch is not None and args.num is not None and 1 <= atoms <= 999 and batch >= 1:
        together = min(batch, args.num)
        if together * atoms * atoms > MAX_PAIRS_PER_BATCH:
            fits = max(1, MAX_PAIRS_PER_BATCH // (atoms * atoms))
            raise MolgenInputError(f"--atoms {atoms} with {together} molecules per batch needs "
                                   f"{together * atoms * atoms:.3g} atom pairs at once (at most "
                                   f"{MAX_PAIRS_PER_BATCH:g}); pass --batch-size {fits} or fewer")
