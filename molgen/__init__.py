"""molgen: end-to-end 3D molecule generation (EQGAT-diff with Gaunt tensor products).

The notebook API (each call is what the matching CLI command runs)::

    import molgen
    model = molgen.load("checkpoints/qm9_noh_gaunt_cpu.ckpt")   # molgen sample --ckpt
    mols = model.sample(100, steps=100, seed=0)                 # list[MolGraph]; mols[0].to_rdkit() -> Chem.Mol
    molgen.write_sdf(mols, "samples.sdf")                       # --out samples.sdf
    result = molgen.evaluate(mols, reference="qm9_noh")         # molgen evaluate (or a path to an SDF)
    result.summary["validity"]["valid"]                         # {group: {metric: value}}
    result.per_molecule                                         # pandas DataFrame, one row per molecule

Submodules are imported only when used, so ``import molgen`` stays cheap. The version is the installed
package's (``pyproject.toml`` is the one place it is written).
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["__version__", "evaluate", "load", "write_sdf"]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import version

        return version("molgen")
    raise AttributeError(f"module 'molgen' has no attribute {name!r}")


def load(path: str | os.PathLike, device: str = "cpu") -> Any:
    """The :class:`~molgen.generate.MoleculeGenerator` of a training checkpoint (read without running code)."""
    from molgen.generate import load as _load

    return _load(path, device)


def write_sdf(molecules: list, path: str | os.PathLike) -> dict[str, int]:
    """Write generated molecules (``MolGraph``) to an SDF atomically; returns ``{"written", "sanitized"}``."""
    from molgen.generate import write_samples

    return write_samples(molecules, path)


def evaluate(molecules: Any, reference: Any = None, metrics: str | list[str] = "standard", **kwargs: Any) -> Any:
    """Evaluate generated molecules (``MolGraph`` list, RDKit molecules, or an SDF path).

    Returns a :class:`~molgen.eval.EvaluationResult`: ``.summary`` (``{group: {metric: value}}``; fractions
    also say what they counted, ``value.counted()``), ``.per_molecule`` (a pandas DataFrame, the columns of
    molecules.csv) and ``result["group/metric"]``. ``reference``: a processed dataset name (e.g.
    ``"qm9_noh"``: built once, then cached beside the data), an SDF/SMILES path or molecules (novelty and
    distribution metrics). Other keyword arguments are those of :func:`molgen.eval.api.evaluate`
    (:func:`molgen.eval.api.evaluate_sdf` for a path). A path and the same molecules give the same figures.
    """
    from molgen.eval.api import evaluate as _evaluate
    from molgen.eval.api import evaluate_sdf

    if isinstance(molecules, str | os.PathLike):
        return evaluate_sdf(molecules, metrics, reference, **kwargs)
    from molgen.chem.molgraph import MolGraph

    # unsanitised, as an SDF of them is read (evaluation sanitises copies itself)
    mols = [m.to_rdkit(sanitize=False) if isinstance(m, MolGraph) else m for m in molecules]
    return _evaluate(mols, metrics, reference, **kwargs)
