"""molgen: end-to-end 3D molecule generation (EQGAT-diff with Gaunt tensor products).

The notebook API (each call is what the matching CLI command runs)::

    import molgen
    model = molgen.load("checkpoints/qm9_small_cpu.ckpt")       # molgen sample --ckpt
    mols = model.sample(100, steps=100, seed=0)                 # list[MolGraph]; or model.sample(SampleOptions(...))
    molgen.write_sdf(mols, "samples.sdf")                       # --out samples.sdf
    metrics = molgen.evaluate(mols, reference=None)             # molgen evaluate (or a path to an SDF)

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


def evaluate(molecules: Any, reference: Any = None, metrics: str | list[str] = "standard", **kwargs: Any) -> dict:
    """Metrics of generated molecules (``MolGraph`` list, RDKit molecules, or an SDF path) as ``{"group/metric": v}``.

    ``reference``: a processed dataset name (e.g. ``"qm9"``), an SDF/SMILES path or molecules (for novelty
    and distribution metrics). Other keyword arguments are those of :func:`molgen.eval.api.evaluate`.
    """
    from molgen.eval.api import evaluate as _evaluate
    from molgen.eval.api import evaluate_sdf

    if isinstance(molecules, str | os.PathLike):
        return evaluate_sdf(molecules, metrics, reference, **kwargs).flat()
    from molgen.chem.featurize import reconstruct_mol
    from molgen.chem.molgraph import MolGraph

    mols = [reconstruct_mol(m, sanitize=False).mol if isinstance(m, MolGraph) else m for m in molecules]
    return _evaluate(mols, metrics, reference, **kwargs).flat()
