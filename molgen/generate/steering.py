"""What shapes the samples besides the model: a score that guides the reverse process, ranks, filters.

``molgen sample --guide qed|sa|vina`` resamples the batch during sampling by the score of the
network's clean estimates (:class:`~molgen.generate.guidance.ImportanceGuide`, PILOT-style);
``--score NAME`` writes each molecule's score as the SD property ``score_<name>`` (the guide's
score by default); ``--keep-top F`` writes only the best fraction F by that score, best first.

Vina needs the receptor: it is the ``--pocket`` PDB, scored in one fixed box (the pocket's bounding
box, so Vina's grid maps are computed once; a molecule outside it scores NaN and is never copied).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from molgen.chem.molgraph import MolGraph
from molgen.dock.box import box_around
from molgen.errors import MolgenInputError
from molgen.generate.guidance import ImportanceGuide
from molgen.generate.hooks import SCORERS, MoleculeScorer, annotate, build_scorer, keep_top


@dataclass
class Steering:
    """guide: scorer name that guides sampling (None: plain sampling); temperature: its lambda (None:
    the scorer's own, QED/SA 0.05, Vina 1 kcal/mol); every: guide every k-th jump; score: scorer that
    annotates (default: ``guide``); keep_top: write only this best fraction (needs a score)."""

    guide: str | None = None
    temperature: float | None = None
    every: int = 10
    score: str | None = None
    keep_top: float | None = None

    def __post_init__(self) -> None:
        for flag, name in (("--guide", self.guide), ("--score", self.score)):
            if name is not None and name not in SCORERS:
                raise MolgenInputError(f"{flag}: unknown scorer {name!r}; choose from {', '.join(SCORERS)}")
        if self.keep_top is not None and self.score_name is None:
            raise MolgenInputError("--keep-top needs a score to rank by: give --score NAME (or --guide NAME)")
        if self.keep_top is not None and not 0 < self.keep_top <= 1:
            raise MolgenInputError(f"--keep-top must be a fraction in (0, 1], got {self.keep_top}")

    @property
    def score_name(self) -> str | None:
        return self.score or self.guide


def make_scorer(name: str, heavy_atoms: bool, pocket: MolGraph | None, receptor: str | Path | None
                ) -> MoleculeScorer:
    """Scorer ``name``; for heavy-atom models its molecules get their implied hydrogens first."""
    if name != "vina":
        return build_scorer(name, implicit_hydrogens=True if heavy_atoms else None)
    if pocket is None or receptor is None:
        raise MolgenInputError("--guide/--score vina scores poses in a receptor: give --pocket PROTEIN.pdb")
    box = box_around(pocket.pos.double().numpy(), padding=0.0)  # the pocket's bounding box
    return build_scorer("vina", receptor_pdb=receptor, box=box, implicit_hydrogens=True if heavy_atoms else None)


@dataclass
class SteeringRun:
    """The hooks of one ``generate`` call and the final ranking."""

    guide: ImportanceGuide | None
    scorer: MoleculeScorer | None
    steering: Steering
    scores: list[float] = field(default_factory=list)  # of every molecule scored so far, in order

    @classmethod
    def build(cls, steering: Steering, heavy_atoms: bool, pocket: MolGraph | None = None,
              receptor: str | Path | None = None) -> SteeringRun:
        scorers: dict[str, MoleculeScorer] = {}
        for name in {steering.guide, steering.score_name} - {None}:
            scorers[name] = make_scorer(name, heavy_atoms, pocket, receptor)
        guide = None
        if steering.guide is not None:
            guide = ImportanceGuide(scorers[steering.guide], steering.temperature, every=steering.every)
        return cls(guide, scorers.get(steering.score_name), steering)

    @property
    def hooks(self) -> list[ImportanceGuide]:
        return [] if self.guide is None else [self.guide]

    def score_chunk(self, graphs: list[MolGraph]) -> None:
        """Store ``score_<name>`` on the final molecules of one batch (before hydrogens are added)."""
        if self.scorer is not None:
            self.scores.extend(annotate(graphs, self.scorer).tolist())

    def finish(self, graphs: list[MolGraph]) -> list[MolGraph]:
        """All molecules, or the best ``keep_top`` fraction of them, best first."""
        if self.steering.keep_top is None or self.scorer is None:
            return graphs
        return keep_top(graphs, np.asarray(self.scores), self.steering.keep_top)
