"""Scorers through which sampling calls user code, and filtering of generated molecules by a score.

A :class:`MoleculeScorer` maps G molecules to G floats, higher = better, NaN where a molecule
cannot be scored (RDKit cannot sanitise it, it has several fragments, Vina cannot prepare it);
a failure of one molecule never raises. Scorers drive two things:

* filtering after sampling: :func:`keep_top` keeps the best fraction;
* guidance during sampling: :class:`molgen.generate.guidance.ImportanceGuide` resamples the
  batch by importance weights ``exp(score / temperature)`` of the network's clean estimates.

Built-ins (:data:`SCORERS`, :func:`build_scorer`):

* ``qed``: RDKit QED in [0, 1];
* ``sa``: synthetic accessibility rescaled so that higher is better, ``(10 - SA) / 9`` in [0, 1]
  (SA: RDKit Contrib's score, 1 easy .. 10 hard), so 1 = easiest;
* ``vina``: minus the AutoDock Vina score-only energy (kcal/mol) of the pose as given, in the
  receptor's frame, so +12.5 = -12.5 kcal/mol; the receptor is prepared once (cached by hash).

QED and SA are those of the drug-likeness metrics (:mod:`molgen.eval.druglike`), Vina that of
``molgen dock --mode score`` (:mod:`molgen.dock`). A graph without any hydrogen is taken to be a
heavy-atom graph and gets its implied hydrogens first (``implicit_hydrogens`` forces either way).

RDKit is imported when a molecule is first scored. Shape symbols: N atoms, G graphs.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np
import torch

from molgen.chem.molgraph import MolGraph
from molgen.errors import MolgenInputError

if TYPE_CHECKING:
    from rdkit import Chem

    from molgen.dock.box import Box


@runtime_checkable
class MoleculeScorer(Protocol):
    """``score(graphs)`` -> float array [G], higher = better, NaN where a molecule cannot be scored.

    ``name`` labels the score (SD properties). A scorer may also define ``temperature``, the default
    importance-sampling temperature of guidance in the score's own units (else 1).
    """

    name: str

    def score(self, graphs: Sequence[MolGraph]) -> np.ndarray: ...


def graph_to_mol(graph: MolGraph, implicit_hydrogens: bool | None = None,
                 connected: bool = True) -> Chem.Mol | None:
    """The sanitised RDKit molecule of ``graph`` (3D), or None if RDKit cannot sanitise it.

    ``implicit_hydrogens`` None: implied hydrogens are added when ``graph`` has no H atom at all.
    An empty graph is None, and so is a molecule of several fragments with ``connected``.
    """
    from rdkit import Chem, rdBase

    from molgen.chem.featurize import reconstruct_mol
    from molgen.chem.hydrogens import has_hydrogens

    if graph.num_atoms == 0:
        return None
    implicit = not has_hydrogens(graph) if implicit_hydrogens is None else implicit_hydrogens
    with rdBase.BlockLogs():
        result = reconstruct_mol(graph, implicit_hydrogens=implicit)
    if not result.sanitized:
        return None
    if connected and len(Chem.GetMolFrags(result.mol)) > 1:
        return None
    return result.mol


class _DrugLikeScorer:
    """QED / SA through :func:`molgen.eval.druglike.compute` (one row per molecule)."""

    name = ""
    temperature = 0.05
    _key = ""

    def __init__(self, implicit_hydrogens: bool | None = None, connected: bool = True):
        self.implicit_hydrogens, self.connected = implicit_hydrogens, connected

    def score(self, graphs: Sequence[MolGraph]) -> np.ndarray:
        """[G] scores; NaN for molecules RDKit cannot sanitise (or fragmented, with ``connected``)."""
        return np.array([self._one(g) for g in graphs], dtype=np.float64)

    def _one(self, graph: MolGraph) -> float:
        from molgen.eval.druglike import compute
        from molgen.eval.group import EvalOptions

        try:
            mol = graph_to_mol(graph, self.implicit_hydrogens, self.connected)
            if mol is None:
                return math.nan
            value = compute([mol], EvalOptions())[0].get(self._key)
        except (RuntimeError, ValueError):  # RDKit's errors on one odd molecule: it scores NaN, sampling goes on
            return math.nan
        return self._transform(float(value)) if value is not None else math.nan

    @staticmethod
    def _transform(value: float) -> float:
        return value


class QEDScorer(_DrugLikeScorer):
    """RDKit's quantitative estimate of drug-likeness, in [0, 1]."""

    name = "qed"
    _key = "druglike.qed"


class SAScorer(_DrugLikeScorer):
    """Synthetic accessibility as ``(10 - SA) / 9``: 1 easiest, 0 hardest (SA: 1 easy .. 10 hard)."""

    name = "sa"
    _key = "druglike.sa"

    @staticmethod
    def _transform(value: float) -> float:
        return (10.0 - value) / 9.0


class VinaScorer:
    """Minus the Vina score-only energy (kcal/mol) of each molecule's pose in ``receptor_pdb``'s frame.

    ``box`` None scores each ligand in its own TargetDiff box (extent + 5 A, as ``molgen dock``);
    a fixed :class:`~molgen.dock.box.Box` computes the grid maps once, and a ligand outside it
    scores NaN. ``offset`` [3] (Angstrom) is added to every coordinate first (e.g. the pocket
    centre, when molecules are sampled in a frame centred on it).
    """

    name = "vina"
    temperature = 1.0

    def __init__(self, receptor_pdb: str | Path, box: Box | None = None, offset: Sequence[float] | None = None,
                 cache_dir: str | Path | None = None, implicit_hydrogens: bool | None = None):
        from molgen.dock import VinaEngine, prepare_receptor

        self.receptor = prepare_receptor(receptor_pdb, cache_dir=cache_dir)
        self.box, self.implicit_hydrogens = box, implicit_hydrogens
        self.offset = None if offset is None else torch.as_tensor(offset, dtype=torch.float32).reshape(3)
        self.engine = VinaEngine(self.receptor.pdbqt)
        self.failures: list[str] = []  # the reason of each NaN of the last call ("" where scored)

    def score(self, graphs: Sequence[MolGraph]) -> np.ndarray:
        """[G] minus the Vina energies (kcal/mol); NaN where RDKit, meeko or Vina fails."""
        self.failures = []
        out = np.full(len(graphs), np.nan)
        for k, graph in enumerate(graphs):
            if self.offset is not None:
                graph = replace(graph, pos=graph.pos + self.offset.to(graph.pos.dtype))
            mol = graph_to_mol(graph, self.implicit_hydrogens)
            if mol is None:
                self.failures.append("RDKit cannot sanitise the molecule, or it has several fragments")
                continue
            result, reason = self.engine.try_run(mol, self.box, "score")
            self.failures.append(reason)
            if result is not None:
                out[k] = -result.score
        return out


#: Built-in scorers by ``--guide`` name (the names are :data:`molgen.generate.options.SCORER_NAMES`).
SCORERS: dict[str, type] = {"qed": QEDScorer, "sa": SAScorer, "vina": VinaScorer}


def build_scorer(name: str, **kwargs) -> MoleculeScorer:
    """The built-in scorer ``name`` (``qed``, ``sa``, ``vina``) with ``kwargs`` (e.g. ``receptor_pdb`` for vina)."""
    cls = SCORERS.get(name)
    if cls is None:
        raise MolgenInputError(f"--guide: unknown scorer {name!r}; choose from {', '.join(SCORERS)}")
    try:
        inspect.signature(cls).bind(**kwargs)
    except TypeError as exc:
        raise MolgenInputError(f"--guide {name}: {exc}") from None
    return cls(**kwargs)


def ranking(scores: Sequence[float] | np.ndarray) -> np.ndarray:
    """[G] indices from best to worst score; ties keep their order and NaN come last."""
    s = np.asarray(scores, dtype=np.float64)
    key = np.where(np.isnan(s), np.inf, -s)  # NaN after even -inf scores
    order = np.argsort(key, kind="stable")
    return np.concatenate([order[~np.isnan(s[order])], order[np.isnan(s[order])]])


def keep_top(graphs: Sequence[MolGraph], scores: Sequence[float] | np.ndarray, fraction: float) -> list[MolGraph]:
    """The best ``ceil(fraction * G)`` of ``graphs`` by ``scores`` [G], best first (see :func:`ranking`)."""
    if not (isinstance(fraction, int | float) and 0 < fraction <= 1):
        raise MolgenInputError(f"--keep-top must be a fraction in (0, 1], got {fraction!r}")
    scores = np.asarray(scores, dtype=np.float64)
    if scores.shape != (len(graphs),):
        raise ValueError(f"keep_top: {len(graphs)} molecules but scores of shape {scores.shape}")
    count = math.ceil(fraction * len(graphs) - 1e-9)
    return [graphs[int(k)] for k in ranking(scores)[:count]]


def annotate(graphs: Sequence[MolGraph], scorer: MoleculeScorer) -> np.ndarray:
    """Score ``graphs`` and store each score as the SD property ``score_<name>`` (empty where NaN); [G]."""
    scores = np.asarray(scorer.score(graphs), dtype=np.float64)
    for graph, value in zip(graphs, scores, strict=True):
        graph.props[f"score_{scorer.name}"] = "" if math.isnan(value) else round(float(value), 4)
    return scores
