"""The table of metric groups and the YAML presets that name them (PoseBusters' ``module_dict`` style).

:data:`GROUPS` lists every group once: its name, what it reports, its two pure functions
(:mod:`molgen.eval.group` says what they take and return) and the summary keys' definitions,
both kept in the metric module. The metric modules never import this one, and nothing
registers itself at import: adding a group is one row here (and a name in a preset).
Presets (``presets/<name>.yaml``, key ``groups``) name groups of this table.
"""

from __future__ import annotations

from importlib import resources

import yaml

from molgen.errors import MolgenInputError
from molgen.eval import diversity, docking, druglike, geometry, plausibility, sanity, stability, validity
from molgen.eval.group import MetricGroup

#: Every metric group by name, in the order the ``full`` preset runs them.
GROUPS: dict[str, MetricGroup] = {group.name: group for group in (
    MetricGroup("sanity", "reference-free geometry sanity: collapsed coordinates, atom clashes, impossible bonds",
                sanity.compute, sanity.summarize, sanity.DEFINITIONS),
    MetricGroup("validity", "RDKit validity, connectivity, uniqueness, novelty against the reference",
                validity.compute, validity.summarize, validity.DEFINITIONS, uses_reference=True),
    MetricGroup("stability", "atom and molecule stability: EDM and MiDi legacy tables, corrected table",
                stability.compute, stability.summarize, stability.DEFINITIONS),
    MetricGroup("diversity", "Vendi scores (q = 0.1, 0.5, 1, 2, inf) and internal diversity",
                diversity.compute, diversity.summarize, diversity.DEFINITIONS),
    MetricGroup("druglike", "QED, SA score, logP, Lipinski, ring-size and atom-type distributions",
                druglike.compute, druglike.summarize, druglike.DEFINITIONS,
                uses_reference=True, uses_reference_rows=True),
    MetricGroup("geometry", "bond-length, bond-angle and torsion W1 distances to the reference",
                geometry.compute, geometry.summarize, geometry.DEFINITIONS,
                uses_reference=True, uses_reference_rows=True),
    MetricGroup("strain", "MMFF94 strain energy of the pose",
                geometry.compute_strain, geometry.summarize_strain, geometry.STRAIN_DEFINITIONS, timed=True),
    MetricGroup("posebusters", "PoseBusters plausibility checks ('mol', or 'dock' with --protein)",
                plausibility.compute, plausibility.summarize, plausibility.DEFINITIONS, timed=True),
    MetricGroup("docking", "AutoDock Vina score / min / dock and high-affinity fraction (needs --protein)",
                docking.compute, docking.summarize, docking.DEFINITIONS, timed=True, needs_protein=True),
)}


def available_groups() -> dict[str, MetricGroup]:
    """All metric groups by name (a copy of :data:`GROUPS`)."""
    return dict(GROUPS)


def available_presets() -> list[str]:
    """Names of the YAML presets shipped in ``molgen/eval/presets``."""
    folder = resources.files("molgen.eval") / "presets"
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_preset(name: str) -> list[str]:
    """Metric group names listed by preset ``name`` (``presets/<name>.yaml``, key ``groups``)."""
    path = resources.files("molgen.eval") / "presets" / f"{name}.yaml"
    if not path.is_file():
        raise MolgenInputError(f"unknown metrics preset {name!r}; available: {', '.join(available_presets())}")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("groups"), list):
        raise MolgenInputError(f"preset file {path}: expected a mapping with a 'groups' list")
    return [str(g) for g in data["groups"]]


def preset_cost(name: str) -> str:
    """The ``cost`` line of preset ``name`` (what it takes per molecule), or its description."""
    path = resources.files("molgen.eval") / "presets" / f"{name}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return str(data.get("cost") or data.get("description") or "")


def preset_costs() -> str:
    """``"basic: <cost>; standard: <cost>; ..."`` for ``--help``."""
    return "; ".join(f"{name}: {preset_cost(name)}" for name in available_presets())


def resolve_metrics(metrics: str | list[str]) -> list[MetricGroup]:
    """Turn a preset name, a comma-separated list or a list of names (groups or presets) into groups."""
    names = metrics.split(",") if isinstance(metrics, str) else list(metrics)
    groups = GROUPS
    presets = set(available_presets())
    resolved: list[str] = []
    for raw in names:
        name = raw.strip()
        expanded = load_preset(name) if name in presets and name not in groups else [name]
        for group_name in expanded:
            if group_name not in groups:
                raise MolgenInputError(
                    f"unknown metric group {group_name!r}; groups: {', '.join(sorted(groups))}; "
                    f"presets: {', '.join(sorted(presets))}"
                )
            if group_name not in resolved:
                resolved.append(group_name)
    return [groups[n] for n in resolved]
