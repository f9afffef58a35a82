"""Everything one sampling job takes besides the model, in one typed object: :class:`SampleOptions`.

``molgen sample`` builds it from its flags, notebooks from keywords (``model.sample(100, steps=50)``),
``scripts/gpu_train.py`` directly; :func:`molgen.generate.generator.generate` runs it. Each value is
checked once, when the object is made, and the messages name the ``molgen sample`` flag; the checks
that need the model (``--steps`` against the trained T, a pocket for a pocket model) are
:meth:`SampleOptions.jumps`, run before any work. Nothing here imports RDKit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from molgen.chem.molgraph import MolGraph
from molgen.errors import MolgenInputError, check_positive

if TYPE_CHECKING:
    from collections.abc import Sequence

#: Most atoms per sampled molecule (``--atoms``): every pair of atoms is an edge of the denoiser, and the
#: datasets molgen trains on hold at most a few hundred atoms per molecule.
MAX_ATOMS = 999
#: Reverse jumps when ``--steps`` is not given (or the trained T, when it is smaller).
DEFAULT_STEPS = 100
#: Most RePaint passes per reverse jump (``--resamplings``): each pass is one more denoiser call per jump; 10 is
#: the default and RePaint itself uses 10-20, so 1000 is already a run of days.
MAX_RESAMPLINGS = 1000
#: RePaint passes per reverse jump and reverse jumps between guidance steps when not given.
DEFAULT_RESAMPLINGS = 10
DEFAULT_GUIDE_EVERY = 10
#: Most reverse jumps between two guidance steps (``--guide-every``): more than any trained T (500).
MAX_GUIDE_EVERY = 100_000
#: Molecules per batch when ``--batch-size`` is not given: on the dense path 256 samples 1,000 QM9 molecules
#: 1.34x faster than 64 (fewer, larger operations per jump; bench/sample_paths.py, bench/RESULTS.md).
DEFAULT_BATCH_SIZE = 256
#: The built-in scorers (``--guide``, ``--score``): :data:`molgen.generate.scorers.SCORERS`, and ``fit`` (a pocket
#: placement's, :class:`molgen.generate.placement.FitScorer`).
SCORER_NAMES = ("qed", "sa", "vina", "fit")
#: Residues within this distance (A) of ``--center`` form the pocket.
DEFAULT_CENTER_RADIUS = 10.0


@dataclass(frozen=True)
class Guidance:
    """A score that guides the reverse process, annotates and filters (:mod:`molgen.generate.steering`).

    guide: scorer that guides sampling (``--guide``; None: plain sampling); temperature: its lambda
    (``--guide-temperature``; None: the scorer's own, QED/SA 0.05, Vina 1 kcal/mol); every: guide every
    k-th jump (``--guide-every``); score: scorer that annotates (``--score``; default: ``guide``);
    keep_top: write only this best fraction (``--keep-top``, needs a score). Python only: the guided
    window [stop, start] as fractions of the trained T, and the ESS fraction at or below which a group
    is resampled (:class:`molgen.generate.guidance.ImportanceGuide`).
    """

    guide: str | None = None
    temperature: float | None = None
    every: int = DEFAULT_GUIDE_EVERY
    score: str | None = None
    keep_top: float | None = None
    start: float = 1.0
    stop: float = 0.0
    ess_threshold: float = 0.5

    def __post_init__(self) -> None:
        for flag, name in (("--guide", self.guide), ("--score", self.score)):
            if name is not None and name not in SCORER_NAMES:
                raise MolgenInputError(f"{flag}: unknown scorer {name!r}; choose from {', '.join(SCORER_NAMES)}")
        if self.temperature is not None and not self.temperature > 0:  # NaN too
            raise MolgenInputError(f"--guide-temperature must be > 0, got {self.temperature}")
        if not (isinstance(self.every, int) and 1 <= self.every <= MAX_GUIDE_EVERY):
            raise MolgenInputError(f"--guide-every must be an integer in 1..{MAX_GUIDE_EVERY}, got {self.every!r}")
        if self.keep_top is not None and self.score_name is None:
            raise MolgenInputError("--keep-top needs a score to rank by: give --score NAME (or --guide NAME)")
        if self.keep_top is not None and not 0 < self.keep_top <= 1:
            raise MolgenInputError(f"--keep-top must be a fraction in (0, 1], got {self.keep_top}")
        if not 0 <= self.stop <= self.start <= 1:
            raise MolgenInputError(f"Guidance(start, stop): the guided window must satisfy 0 <= stop <= start "
                                   f"<= 1 (fractions of the trained steps), got start={self.start}, stop={self.stop}")
        if not (isinstance(self.ess_threshold, int | float) and 0 <= self.ess_threshold <= 1):
            raise MolgenInputError(f"Guidance(ess_threshold) must be in [0, 1], got {self.ess_threshold}")

    @property
    def score_name(self) -> str | None:
        """The scorer that annotates and ranks: ``score``, else ``guide``."""
        return self.score or self.guide

    @property
    def scorer_names(self) -> set[str]:
        return {self.guide, self.score_name} - {None}


@dataclass(frozen=True)
class Fragment:
    """Atoms to keep in every molecule (``--fix``: an SDF path, its first record; or a MolGraph, in the
    output frame), with RePaint's ``resamplings`` passes per jump (``--resamplings``,
    :mod:`molgen.generate.inpaint`)."""

    source: str | Path | MolGraph
    resamplings: int = DEFAULT_RESAMPLINGS

    def __post_init__(self) -> None:
        if not isinstance(self.source, str | Path | MolGraph):
            raise MolgenInputError(f"--fix: expected an SDF path or a MolGraph, got {type(self.source).__name__}")
        if not (isinstance(self.resamplings, int) and 1 <= self.resamplings <= MAX_RESAMPLINGS):
            raise MolgenInputError(f"--resamplings must be an integer in 1..{MAX_RESAMPLINGS}, got "
                                   f"{self.resamplings!r}")


@dataclass(frozen=True)
class PocketContext:
    """The pocket molecules are generated into: its ``graph`` (receptor frame), the ``receptor`` PDB it was cut
    from (needed by Vina scores; None for a pocket given as a graph only) and its ``center`` (x, y, z; the
    reference ligand's heavy-atom centroid or ``--center``; None: the pocket atoms' centroid).

    A pocket-conditioned model generates in it; any other model's molecules are placed in it, each in the
    rigid pose that fits best (:mod:`molgen.generate.placement`)."""

    graph: MolGraph
    receptor: Path | None = None
    center: tuple[float, float, float] | None = None

    @classmethod
    def from_pdb(cls, pdb: str | Path, ref_ligand: str | Path | None = None, center: Sequence[float] | None = None,
                 radius: float = DEFAULT_CENTER_RADIUS) -> PocketContext:
        """``--pocket PDB`` around ``--ref-ligand`` or ``--center`` (:func:`molgen.generate.pocket.pocket_from_pdb`)."""
        from molgen.generate.pocket import pocket_from_pdb, reference_ligand_positions

        graph = pocket_from_pdb(pdb, ref_ligand, center, radius=radius)
        middle = center if ref_ligand is None else reference_ligand_positions(ref_ligand).mean(0)
        return cls(graph, Path(pdb), tuple(float(v) for v in middle))

    @property
    def middle(self) -> tuple[float, float, float]:
        """``center``, else the pocket atoms' centroid."""
        if self.center is not None:
            return self.center
        return tuple(float(v) for v in self.graph.pos.double().mean(0))

    @property
    def name(self) -> str:
        return self.graph.name


@dataclass(frozen=True)
class SampleOptions:
    """One sampling job: ``num`` molecules (``--num``) in ``steps`` reverse jumps (``--steps``; None:
    :data:`DEFAULT_STEPS`, or the trained T if smaller), ``atoms`` each (``--atoms``; None: drawn from the
    training data), ``seed`` and ``batch_size`` (same seed and batch size, same molecules), a progress bar,
    the ``pocket`` of a pocket-conditioned model (a bare MolGraph is taken as a :class:`PocketContext`
    without receptor), a ``fragment`` to keep, ``guidance``; ``hydrogens``: complete heavy-atom graphs
    with their implied hydrogens in 3D (RDKit; False keeps the model's graphs, as the GPU script does).
    """

    num: int = 1000
    steps: int | None = None
    atoms: int | None = None
    seed: int = 0
    batch_size: int = DEFAULT_BATCH_SIZE
    progress: bool = False
    pocket: PocketContext | None = None
    fragment: Fragment | None = None
    guidance: Guidance = field(default_factory=Guidance)
    hydrogens: bool = True

    def __post_init__(self) -> None:
        for flag, value, most in (("--num", self.num, None), ("--batch-size", self.batch_size, None),
                                  ("--atoms", self.atoms, MAX_ATOMS), ("--steps", self.steps, None)):
            if value is not None and not isinstance(value, int):
                raise MolgenInputError(f"{flag} must be an integer, got {value!r}")
            check_positive(flag, value, most)
        if isinstance(self.pocket, MolGraph):
            object.__setattr__(self, "pocket", PocketContext(self.pocket))
        if isinstance(self.fragment, str | Path | MolGraph):
            object.__setattr__(self, "fragment", Fragment(self.fragment))
        if "vina" in self.guidance.scorer_names and (self.pocket is None or self.pocket.receptor is None):
            raise MolgenInputError("--guide/--score vina scores poses in a receptor: give --pocket PROTEIN.pdb")
        if "fit" in self.guidance.scorer_names and self.pocket is None:
            raise MolgenInputError("--guide/--score fit scores poses in a pocket: give --pocket PROTEIN.pdb")

    def jumps(self, model) -> int:
        """The number of reverse jumps for ``model`` (a :class:`~molgen.generate.generator.MoleculeGenerator`),
        after the checks that need it: ``--steps`` within the trained T, a pocket for a pocket model."""
        trained = model.diffusion.num_steps
        check_positive("--steps", self.steps, trained)  # the trained number of steps is the most
        if model.pocket_conditioned and self.pocket is None:
            raise MolgenInputError("this checkpoint is pocket-conditioned: give --pocket PROTEIN.pdb with "
                                   "--ref-ligand or --center")
        if not model.pocket_conditioned and self.pocket is not None and self.fragment is not None:
            raise MolgenInputError("--fix with --pocket needs a pocket-conditioned checkpoint: this model's molecules "
                                   "are placed in the pocket whole, which would move the fragment")
        if model.pocket_conditioned and "fit" in self.guidance.scorer_names:
            raise MolgenInputError("--guide/--score fit scores the placement of a model that never saw a pocket; "
                                   "this checkpoint is pocket-conditioned (try --guide vina)")
        return min(DEFAULT_STEPS, trained) if self.steps is None else self.steps

