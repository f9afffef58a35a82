"""Generation from a trained checkpoint: ``load`` -> ``MoleculeGenerator.sample(SampleOptions)`` -> ``write_samples``.

Imports nothing from :mod:`molgen.training`: a checkpoint alone (read safely) is enough. Names are
imported on first use, so ``import molgen.generate`` costs nothing and plain sampling needs no RDKit.
"""

from __future__ import annotations

import importlib
from typing import Any

_NAMES = {
    "MoleculeGenerator": "molgen.generate.generator", "generate": "molgen.generate.generator",
    "load": "molgen.generate.generator",
    "MAX_ATOMS": "molgen.generate.options", "Fragment": "molgen.generate.options",
    "Guidance": "molgen.generate.options", "PocketContext": "molgen.generate.options",
    "SampleOptions": "molgen.generate.options",
    "write_samples": "molgen.generate.writing",
}
__all__ = sorted(_NAMES)


def __getattr__(name: str) -> Any:
    if name not in _NAMES:
        raise AttributeError(f"module 'molgen.generate' has no attribute {name!r}")
    return getattr(importlib.import_module(_NAMES[name]), name)
