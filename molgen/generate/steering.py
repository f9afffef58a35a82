"""What shapes the samples besides the model: a score that guides the reverse process, ranks, filters.

``molgen sample --guide qed|sa|vina`` resamples the batch during sampling by the score of the
network's clean estimates (:class:`~molgen.generate.guidance.ImportanceGuide`, PILOT-style);
``--score NAME`` writes each molecule's score as the SD property ``score_<name>`` (the guide's
score by default); ``--keep-top F`` writes only the best fraction F by that score, best first.

Vina needs the receptor: it is the ``--pocket`` PDB, scored in one fixed box (the pocket's bounding
box, so Vina's grid maps are computed once; a molecule outside it scores NaN and is never copied).
For a model that never saw a pocket, molecules are scored at their best rigid pose in it (a
:class:`~molgen.generate.placement.PocketPlacement`), and ``fit`` is that pose's fit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from molgen.chem.molgraph import MolGraph
from molgen.diffusion.reverse import StepHook
from molgen.generate.guidance import ImportanceGuide
from molgen.generate.options import Guidance, PocketContext
from molgen.generate.placement import ClashNudge, FitScorer, PlacedScorer, PocketPlacement
from molgen.generate.scorers import MoleculeScorer, annotate, build_scorer, keep_top


def make_scorer(name: str, heavy_atoms: bool, pocket: PocketContext | None,
                placement: PocketPlacement | None = None) -> MoleculeScorer:
    """Scorer ``name``; for heavy-atom models its molecules get their implied hydrogens first. Vina scores
    in the pocket's receptor (:class:`~molgen.generate.options.SampleOptions` checked it is there); with a
    ``placement``, each molecule at its best pose there (``fit``: that pose's fit)."""
    hydrogens = True if heavy_atoms else None
    if name == "fit":
        return FitScorer(placement, implicit_hydrogens=hydrogens)
    if name != "vina":
        return build_scorer(name, implicit_hydrogens=hydrogens)
    from molgen.dock.box import box_around

    box = box_around(pocket.graph.pos.double().numpy(), padding=0.0)  # the pocket's bounding box
    vina = build_scorer("vina", receptor_pdb=pocket.receptor, box=box, implicit_hydrogens=hydrogens)
    return vina if placement is None else PlacedScorer(vina, placement)


@dataclass
class SteeringRun:
    """The scorers of one ``generate`` call, a guide per chunk (:meth:`hooks`) and the final ranking."""

    guidance: Guidance
    num_steps: int  # the trained T (the guided window is a fraction of it)
    scorers: dict[str, MoleculeScorer]
    placement: PocketPlacement | None = None  # molecules of a model that never saw a pocket, placed in one
    guides: list[ImportanceGuide] = field(default_factory=list)  # one per chunk sampled so far, in order
    scores: list[float] = field(default_factory=list)  # of every molecule scored so far, in order

    @classmethod
    def build(cls, guidance: Guidance, num_steps: int, heavy_atoms: bool, pocket: PocketContext | None = None,
              placement: PocketPlacement | None = None) -> SteeringRun:
        return cls(guidance, num_steps, {name: make_scorer(name, heavy_atoms, pocket, placement)
                                         for name in sorted(guidance.scorer_names)}, placement)

    def hooks(self, chunk: int) -> list[StepHook]:
        """The step hooks of chunk ``chunk``: with a placement, a fresh clash nudge; then a fresh guide (its
        window and count start at t = T), or none."""
        hooks: list[StepHook] = []
        if self.placement is not None:
            hooks.append(ClashNudge(self.placement, self.guidance, self.num_steps))
        if self.guidance.guide is not None:
            guide = ImportanceGuide(self.scorers[self.guidance.guide], self.guidance, self.num_steps, run=chunk)
            self.guides.append(guide)
            hooks.append(guide)
        return hooks

    @property
    def history(self) -> list[dict]:
        """Every guided jump of every chunk (:attr:`ImportanceGuide.history`), in order."""
        return [entry for guide in self.guides for entry in guide.history]

    def score_chunk(self, graphs: list[MolGraph]) -> None:
        """Store ``score_<name>`` on the final molecules of one chunk (before hydrogens are added)."""
        scorer = self.scorers.get(self.guidance.score_name)
        if scorer is not None:
            self.scores.extend(annotate(graphs, scorer).tolist())

    def finish(self, graphs: list[MolGraph], order: list[int] | None = None) -> list[MolGraph]:
        """All molecules, or the best ``keep_top`` fraction of them, best first. ``graphs`` come in the order they
        were scored; ``order[k]`` is the place there of the job's k-th molecule (None: the same order)."""
        scores = self.scores
        if order is not None:
            graphs = [graphs[i] for i in order]
            scores = [scores[i] for i in order] if scores else scores
        if self.guidance.keep_top is None:
            return graphs
        return keep_top(graphs, np.asarray(scores), self.guidance.keep_top)
