"""Physical plausibility with PoseBusters (Buttenschoen et al. 2024).

Without a protein the ``mol`` configuration is used (chemistry, bond lengths and angles,
steric clashes, flatness, internal energy); with ``--protein`` the ``dock``
configuration, which adds the protein-ligand checks (distance to the protein, volume
overlap) with the protein as conditioning molecule; PoseBusters' own ``bust ligand.sdf -p
protein.pdb`` picks the same one. (``gen``/``redock`` also compare with a true ligand pose
through ``mol_true``, which generated molecules do not have.)

The protein PoseBusters sees is the PDB less its waters and non-metal hetero groups (the
crystal ligand, buffer molecules), as the receptor of ``molgen dock``: a PDB that still held
its crystal ligand made every generated ligand in the pocket fail for overlapping that
"organic cofactor". What was removed is named in the summary (``removed_from_protein``).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rdkit import Chem

from molgen.eval.group import EvalOptions, ReferenceData, Rows, Share, skipped_count
from molgen.safe_write import write_text_atomic

PREFIX = "posebusters."
#: Bumped whenever :func:`pose_protein` changes what it keeps, so stale cached copies are never reused.
POSE_PROTEIN_VERSION = "1"


@dataclass(frozen=True)
class PoseProtein:
    """The copy of a protein PDB that the pose checks use, and what was taken out of it."""

    path: Path
    removed: tuple[str, ...]  # "CFF B1 (14 atoms)" for each hetero group removed, in file order
    n_waters: int  # water residues removed

    def describe(self) -> str:
        parts = list(self.removed) + ([f"{self.n_waters} waters"] if self.n_waters else [])
        return ", ".join(parts) if parts else "nothing"


def _cache_dir() -> Path:
    root = os.environ.get("MOLGEN_CACHE")
    return (Path(root) if root else Path.home() / ".cache" / "molgen") / "pose_proteins"


def _refers_to(line: str, serials: set[str]) -> bool:
    """True for an ANISOU or CONECT record naming one of the atom ``serials``."""
    if line.startswith("ANISOU"):
        return line[6:11].strip() in serials
    return line.startswith("CONECT") and any(line[i : i + 5].strip() in serials for i in range(6, len(line), 5))


def pose_protein(pdb_path: str | Path, cache_dir: str | Path | None = None) -> PoseProtein:
    """``pdb_path`` less waters and non-metal HETATM residues (kept: ATOM records, one-atom metal ions).

    The copy is cached by content under ``cache_dir`` (``$MOLGEN_CACHE/pose_proteins`` or
    ``~/.cache/molgen/pose_proteins``); the user's file is never changed.
    """
    from molgen.dock.receptor import METALS, WATERS

    data = Path(pdb_path).read_bytes()
    lines = data.decode("latin-1").splitlines()
    residues: dict[tuple[str, str, str], list[str]] = {}  # (name, chain, number) -> elements
    for line in lines:
        if line.startswith("HETATM"):
            key = (line[17:20].strip(), line[21:22].strip(), line[22:27].strip())
            residues.setdefault(key, []).append(line[76:78].strip().title() or line[12:14].strip().title())
    dropped: set[tuple[str, str, str]] = set()
    removed, n_waters = [], 0
    for key, elements in residues.items():
        if key[0].upper() in WATERS:
            dropped.add(key)
            n_waters += 1
        elif not (len(elements) == 1 and elements[0] in METALS):
            dropped.add(key)
            removed.append(f"{key[0]} {key[1]}{key[2]} ({len(elements)} atoms)")
    serials, kept = set(), []
    for line in lines:
        if line.startswith("HETATM") and (line[17:20].strip(), line[21:22].strip(), line[22:27].strip()) in dropped:
            serials.add(line[6:11].strip())
        elif not _refers_to(line, serials):
            kept.append(line)
    folder = Path(cache_dir) if cache_dir is not None else _cache_dir()
    digest = hashlib.sha256(f"molgen-pose-protein v{POSE_PROTEIN_VERSION}\n".encode() + data).hexdigest()
    target = folder / f"{digest}.pdb"
    if not target.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        write_text_atomic(target, "\n".join(kept) + "\n")
    return PoseProtein(target, tuple(removed), n_waters)


def posebusters_config(options: EvalOptions) -> str:
    """PoseBusters configuration name for these options (``dock`` with a protein, else ``mol``)."""
    return "dock" if options.protein_path else "mol"


def compute(mols: list[Chem.Mol], options: EvalOptions) -> Rows:
    from posebusters import PoseBusters  # heavy import, only when the group is used

    if not mols:
        return []
    buster = PoseBusters(config=posebusters_config(options), max_workers=options.posebusters_workers or 0)
    protein = None if options.protein_path is None else str(pose_protein(options.protein_path).path)
    table = buster.bust(list(mols), mol_cond=protein)
    if len(table) != len(mols):
        raise RuntimeError(f"PoseBusters returned {len(table)} rows for {len(mols)} molecules")
    rows = []
    for _, result in table.iterrows():
        checks = {f"{PREFIX}{k}": bool(v) for k, v in result.items() if isinstance(v, bool | np.bool_)}
        checks[f"{PREFIX}all_pass"] = all(checks.values())
        rows.append(checks)
    return rows


def summarize(rows: Rows, reference: ReferenceData | None, options: EvalOptions) -> dict:
    if not rows:
        return {"n_samples": 0}
    from posebusters import __version__

    checked = [r for r in rows if r.get("posebusters.status", "ok") == "ok"]
    keys = [k for k in (checked[0] if checked else {}) if k.startswith(PREFIX) and k != "posebusters.status"]
    out = {"config": posebusters_config(options), "version": __version__, "n_samples": len(rows),
           "n_checked": len(checked), "n_timeout": sum(r.get("posebusters.status") == "timeout" for r in rows),
           "n_error": sum(r.get("posebusters.status") == "error" for r in rows),
           "n_skipped": skipped_count(rows, "posebusters")}
    if options.protein_path is not None:
        out["removed_from_protein"] = pose_protein(options.protein_path).describe()
    # a molecule that timed out, crashed or was skipped passed nothing: the denominator stays all samples
    out.update({k.removeprefix(PREFIX): Share(sum(bool(r.get(k, False)) for r in rows), len(rows)) for k in keys})
    return out


DEFINITIONS = {
    "n_samples": "molecules evaluated (reported alone when there are none)",
    "n_checked": "molecules PoseBusters finished within --time-limit (posebusters.status 'ok')",
    "n_timeout": "molecules whose checks ran past --time-limit and were stopped (posebusters.status 'timeout'): "
    "counted as failing every check",
    "n_error": "molecules on which PoseBusters crashed (posebusters.status 'error'): counted as failing",
    "n_skipped": "molecules with more atoms than --max-atoms, not checked (posebusters.status 'skipped', "
    "posebusters.skip_reason 'too large'): counted as failing",
    "config": "PoseBusters configuration used ('mol' alone, 'dock' with a protein)",
    "version": "PoseBusters version",
    "removed_from_protein": "what the pose checks did not count as part of the protein: waters and non-metal "
    "hetero groups (a crystal ligand, buffer molecules) of --protein; one-atom metal ions are kept",
    "all_pass": "molecules passing every PoseBusters check (PB-valid) / all samples",
    "<check>": "every other key: molecules passing that PoseBusters check / all samples",
}
