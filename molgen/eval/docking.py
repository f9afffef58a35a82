"""Docking metrics with AutoDock Vina (TargetDiff protocol): Vina Score, Vina Min, Vina Dock, High Affinity.

Needs ``--protein``; without one the group computes nothing and says so. Each molecule is
scored in its generated pose (``vina_score``), locally minimised (``vina_min``) and
re-docked (``vina_dock``, exhaustiveness 16, one pose) by :class:`molgen.dock.VinaEngine`,
in kcal/mol (lower binds better). The box is the reference ligand's (``--reference-ligand``:
its extent + 5 A per axis) or, without one, each molecule's own, as TargetDiff does for
generated molecules. With a reference ligand, its own three scores are computed too and
``high_affinity_<mode>`` is the fraction of docked molecules scoring at least as well
(``<=``, TargetDiff's "High Affinity" for ``dock``).
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np
from rdkit import Chem

from molgen.eval.group import EvalOptions, ReferenceData, Rows, Share, skipped_count

PREFIX = "docking."
#: Vina mode -> metric name (TargetDiff's Vina Score / Vina Min / Vina Dock).
METRIC_OF_MODE = {"score": "vina_score", "minimize": "vina_min", "dock": "vina_dock"}


@functools.lru_cache(maxsize=2)
def _engine_and_box(options: EvalOptions):
    """The Vina engine and box of ``options``, made once per process (molecules come one at a time)."""
    from molgen.dock import VinaEngine, box_from_ligand_file, prepare_receptor

    receptor = prepare_receptor(options.protein_path)
    box = box_from_ligand_file(options.reference_ligand_path) if options.reference_ligand_path else None
    return VinaEngine(receptor.pdbqt, options.dock_seed, options.dock_exhaustiveness, 1), box


def score_molecule(engine, mol: Chem.Mol, box, modes: tuple[str, ...]) -> dict:
    """``{docking.vina_score/min/dock: kcal/mol or None}`` for ``mol``; failures give ``docking.reason``."""
    row: dict = {}
    reasons = []
    for mode in modes:
        result, reason = engine.try_run(mol, box, mode)
        row[PREFIX + METRIC_OF_MODE[mode]] = None if result is None else round(result.score, 4)
        if reason:
            reasons.append(f"{mode}: {reason}")
    row[PREFIX + "reason"] = "; ".join(reasons)
    return row


def compute(mols: list[Chem.Mol], options: EvalOptions) -> Rows:
    if options.protein_path is None or not mols:
        return [{} for _ in mols]
    engine, box = _engine_and_box(options)
    return [score_molecule(engine, mol, box, options.dock_modes) for mol in mols]


def _stats(values: list[float]) -> tuple[float, float]:
    return (float(np.mean(values)), float(np.median(values))) if values else (math.nan, math.nan)


def summarize(rows: Rows, reference: ReferenceData | None, options: EvalOptions) -> dict:
    if options.protein_path is None:
        return {"skipped": "no --protein given"}
    out: dict = {"n_samples": len(rows), "box": "reference ligand" if options.reference_ligand_path else "per molecule",
                 "n_timeout": sum(r.get("docking.status") == "timeout" for r in rows),
                 "n_skipped": skipped_count(rows, "docking")}
    ref_scores = _reference_scores(options) if options.reference_ligand_path else {}
    for mode in options.dock_modes:
        name = METRIC_OF_MODE[mode]
        values = [r[PREFIX + name] for r in rows if r.get(PREFIX + name) is not None]
        out[f"{name}_mean"], out[f"{name}_median"] = _stats(values)
        out[f"{name}_n_ok"] = len(values)
        if name in ref_scores:
            ref = out[f"reference_{name}"] = ref_scores[name]
            better = sum(v <= ref for v in values) if ref is not None else 0
            out[f"high_affinity_{mode}"] = Share(better, len(values) if ref is not None else 0, "scored")
    return out


def _reference_scores(options: EvalOptions) -> dict:
    """The reference ligand's own ``{vina_score, vina_min, vina_dock}`` (None where Vina failed)."""
    from molgen.dock import DockingInputError
    from molgen.dock.box import read_reference_ligand

    path = Path(options.reference_ligand_path)
    mol = read_reference_ligand(path)  # as written; a NaN or 1e300 coordinate is refused naming its line
    engine, box = _engine_and_box(options)
    row = score_molecule(engine, mol, box, options.dock_modes)
    if row[PREFIX + "reason"]:
        raise DockingInputError(f"{path}: the reference ligand could not be docked ({row[PREFIX + 'reason']})")
    return {k.removeprefix(PREFIX): v for k, v in row.items() if k != PREFIX + "reason"}


DEFINITIONS = {
    "skipped": "why nothing was computed (docking needs --protein)",
    "n_samples": "molecules evaluated",
    "n_timeout": "molecules whose three Vina runs took longer than --time-limit (docking.status 'timeout')",
    "n_skipped": "molecules with more atoms than --max-atoms, not docked (docking.status 'skipped', "
    "docking.skip_reason 'too large')",
    "box": "Vina box: around the reference ligand (extent + 5 A) or each molecule's own (TargetDiff)",
    "vina_score_mean": "mean Vina score of the generated pose, kcal/mol (TargetDiff 'Vina Score')",
    "vina_score_median": "median Vina score of the generated pose, kcal/mol",
    "vina_min_mean": "mean Vina energy after local minimisation, kcal/mol (TargetDiff 'Vina Min')",
    "vina_min_median": "median Vina energy after local minimisation, kcal/mol",
    "vina_dock_mean": "mean Vina docking score (exhaustiveness 16, best pose), kcal/mol (TargetDiff 'Vina Dock')",
    "vina_dock_median": "median Vina docking score, kcal/mol",
    "<metric>_n_ok": "molecules Vina scored in that mode (the others are listed in docking.reason)",
    "reference_<metric>": "the reference ligand's own Vina score / min / dock, kcal/mol",
    "high_affinity_<mode>": "fraction of scored molecules with energy <= the reference ligand's in that mode "
    "(TargetDiff 'High Affinity' for dock)",
}
