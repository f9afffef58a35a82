"""Registry of metric groups and the YAML presets that select them (PoseBusters style).

A metric group is two pure functions:

* ``compute(mols, options) -> list[dict]``: one row of per-molecule values per input
  molecule. It runs in worker processes on chunks, so it must only depend on its
  arguments. Keys starting with ``_`` hold non-scalar data (fingerprints, bond
  lengths) used by ``summarize`` and are not written to the CSV.
* ``summarize(rows, reference, options) -> dict``: set-level numbers
  (``{name: value}``) from the rows of all molecules and, when given, the
  :class:`ReferenceData` (reference SMILES and the rows of reference molecules).

Every summary key is described in ``definitions`` so reports can say exactly what a
number means and whether it is a legacy (paper-comparable) or corrected definition.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources

import yaml
from rdkit import Chem

from molgen.errors import MolgenInputError

Rows = list[dict]
ComputeFn = Callable[[list[Chem.Mol], "EvalOptions"], Rows]
SummarizeFn = Callable[[Rows, "ReferenceData | None", "EvalOptions"], dict]


@dataclass(frozen=True)
class EvalOptions:
    """Picklable settings passed to every metric group (workers receive a copy)."""

    protein_path: str | None = None
    vendi_orders: tuple[float, ...] = (0.1, 0.5, 1.0, 2.0, float("inf"))
    fingerprint_bits: int = 2048
    mmff_max_iters: int = 2000
    posebusters_workers: int = 0
    reference_ligand_path: str | None = None  # docking: box and high-affinity reference
    dock_exhaustiveness: int = 16  # docking: Vina exhaustiveness of the dock mode (TargetDiff: 16)
    dock_seed: int = 42  # docking: Vina seed (0: random)
    dock_modes: tuple[str, ...] = ("score", "minimize", "dock")


@dataclass
class ReferenceData:
    """What metrics compare against: canonical SMILES (novelty) and per-molecule rows (distributions).

    ``rows`` are produced by the same ``compute`` functions on (a sample of) the reference
    molecules; ``has_geometry`` is False for SMILES references (no 3D distributions).
    """

    name: str
    smiles: frozenset[str]
    rows: Rows = field(default_factory=list)
    has_geometry: bool = True


@dataclass(frozen=True)
class MetricGroup:
    """A named set of metrics: per-molecule ``compute`` and set-level ``summarize``."""

    name: str
    description: str
    compute: ComputeFn
    summarize: SummarizeFn
    definitions: dict[str, str] = field(default_factory=dict)
    uses_reference: bool = False  # summarize reads the reference (SMILES and/or rows)
    uses_reference_rows: bool = False  # summarize compares with rows computed on reference molecules


_REGISTRY: dict[str, MetricGroup] = {}


def register(group: MetricGroup) -> MetricGroup:
    """Add ``group`` to the registry (names must be unique)."""
    if group.name in _REGISTRY:
        raise ValueError(f"metric group {group.name!r} is already registered")
    _REGISTRY[group.name] = group
    return group


def _load_builtin_groups() -> None:
    # Importing the metric modules registers their groups.
    from molgen.eval import (  # noqa: F401
        diversity,
        docking,
        druglike,
        geometry,
        plausibility,
        sanity,
        stability,
        validity,
    )


def available_groups() -> dict[str, MetricGroup]:
    """All registered metric groups by name."""
    _load_builtin_groups()
    return dict(_REGISTRY)


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


def resolve_metrics(metrics: str | list[str]) -> list[MetricGroup]:
    """Turn a preset name, a comma-separated list or a list of names (groups or presets) into groups."""
    names = metrics.split(",") if isinstance(metrics, str) else list(metrics)
    groups = available_groups()
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
