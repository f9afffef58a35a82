"""Physical plausibility with PoseBusters (Buttenschoen et al. 2024).

Without a protein the ``mol`` configuration is used (chemistry, bond lengths and angles,
steric clashes, flatness, internal energy); with ``--protein`` the ``dock``
configuration, which adds the protein-ligand checks (distance to the protein, volume
overlap) with the protein as conditioning molecule; PoseBusters' own ``bust ligand.sdf -p
protein.pdb`` picks the same one. (``gen``/``redock`` also compare with a true ligand pose
through ``mol_true``, which generated molecules do not have.)
"""

from __future__ import annotations

import numpy as np
from rdkit import Chem

from molgen.eval.group import EvalOptions, ReferenceData, Rows, Share

PREFIX = "posebusters."


def posebusters_config(options: EvalOptions) -> str:
    """PoseBusters configuration name for these options (``dock`` with a protein, else ``mol``)."""
    return "dock" if options.protein_path else "mol"


def compute(mols: list[Chem.Mol], options: EvalOptions) -> Rows:
    from posebusters import PoseBusters  # heavy import, only when the group is used

    if not mols:
        return []
    buster = PoseBusters(config=posebusters_config(options), max_workers=options.posebusters_workers or 0)
    table = buster.bust(list(mols), mol_cond=options.protein_path)
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
           "n_error": sum(r.get("posebusters.status") == "error" for r in rows)}
    # a molecule that timed out or crashed passed nothing: the denominator stays all samples
    out.update({k.removeprefix(PREFIX): Share(sum(bool(r.get(k, False)) for r in rows), len(rows)) for k in keys})
    return out


DEFINITIONS = {
    "n_samples": "molecules evaluated (reported alone when there are none)",
    "n_checked": "molecules PoseBusters finished within --time-limit (posebusters.status 'ok')",
    "n_timeout": "molecules whose checks ran past --time-limit and were stopped (posebusters.status 'timeout'): "
    "counted as failing every check",
    "n_error": "molecules on which PoseBusters crashed (posebusters.status 'error'): counted as failing",
    "config": "PoseBusters configuration used ('mol' alone, 'dock' with a protein)",
    "version": "PoseBusters version",
    "all_pass": "molecules passing every PoseBusters check (PB-valid) / all samples",
    "<check>": "every other key: molecules passing that PoseBusters check / all samples",
}
