"""What a metric group is: two pure functions, their options and the reference they compare with.

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
Metric modules import this module, never :mod:`molgen.eval.registry`, which lists the groups.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from rdkit import Chem

Rows = list[dict]


class Share(float):
    """A fraction that says what it counted: ``n`` of ``of`` ``unit`` (e.g. ``1 of 50 scored``).

    It is its float value everywhere (comparisons, arithmetic, JSON); reports add :meth:`counted`
    beside it and ``metrics.json`` lists every count under ``counts``. ``empty`` is the value when
    ``of`` is 0.
    """

    n: int
    of: int
    unit: str

    def __new__(cls, n: float, of: float, unit: str = "molecules", empty: float = math.nan) -> Share:
        self = super().__new__(cls, n / of if of else empty)
        self.n, self.of, self.unit = int(n), int(of), unit
        return self

    def __reduce__(self):
        return (Share, (self.n, self.of, self.unit, float(self) if not self.of else math.nan))

    def counted(self) -> str:
        """``"<n> of <of> <unit>"``."""
        return f"{self.n} of {self.of} {self.unit}"


def skipped_count(rows: Rows, group: str) -> int:
    """Molecules the timed ``group`` skipped as too large (``<group>.status`` ``skipped``, see molgen.eval.timed)."""
    return sum(r.get(f"{group}.status") == "skipped" for r in rows)


def counts_of(summary: dict[str, dict]) -> dict[str, dict]:
    """``{"group/metric": {"n", "of", "unit"}}`` for every :class:`Share` of a summary."""
    return {f"{g}/{k}": {"n": v.n, "of": v.of, "unit": v.unit}
            for g, metrics in summary.items() if isinstance(metrics, dict)
            for k, v in metrics.items() if isinstance(v, Share)}
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
    time_limit_s: float = 120.0  # timed groups: seconds one molecule's check may take before it is a timeout
    max_atoms: int | None = 300  # timed groups: a molecule with more atoms (hydrogens counted) is skipped, too large


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
    timed: bool = False  # expensive: run one molecule at a time in a killable process (molgen.eval.timed)
    needs_protein: bool = False  # computes nothing without EvalOptions.protein_path (then not timed either)
