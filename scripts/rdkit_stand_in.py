"""An import-only stand-in for RDKit, for machines without it (the GPU device image).

molgen's training and sampling modules import RDKit at module level for functions a GPU run never
calls (SDF writing, hydrogens, evaluation). :func:`rdkit_stand_in_if_missing` makes ``import rdkit...``
succeed there; after :func:`forbid_rdkit_calls` every call into the stand-in raises ``RuntimeError``,
so nothing is silently computed without RDKit.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import types
from typing import Any


class _Absent:
    """Whatever is looked up in a stand-in RDKit module. Calling it returns another stand-in while molgen's
    modules are imported (their module-level set-up, e.g. ``Chem.RemoveHsParameters()``), and raises
    ``RuntimeError`` once :func:`forbid_rdkit_calls` has run."""

    strict = False

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr: str) -> _Absent:
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)
        return _Absent(f"{self._name}.{attr}")

    def __call__(self, *args: Any, **kwargs: Any) -> _Absent:
        if _Absent.strict:
            raise RuntimeError(f"RDKit is not installed on this machine: {self._name}() cannot run here "
                               "(scripts/gpu_train.py keeps such work for `finish`, on a machine with RDKit)")
        return _Absent(f"{self._name}()")

    def __repr__(self) -> str:
        return f"<RDKit stand-in {self._name}>"


class _AbsentModule(types.ModuleType):
    def __getattr__(self, attr: str) -> _Absent:
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)
        return _Absent(f"{self.__name__}.{attr}")


class _RDKitStandIn(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports ``rdkit`` and ``rdkit.*`` as :class:`_AbsentModule` packages."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if name == "rdkit" or name.startswith("rdkit."):
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return _AbsentModule(spec.name)

    def exec_module(self, module: types.ModuleType) -> None:
        module.__path__ = []


def rdkit_stand_in_if_missing() -> bool:
    """Install the import-only RDKit stand-in when ``import rdkit`` fails; return whether it was installed."""
    try:
        import rdkit  # noqa: F401
        return False
    except ImportError:
        pass
    for name in [n for n, m in sys.modules.items() if (n == "rdkit" or n.startswith("rdkit.")) and m is None]:
        del sys.modules[name]  # an import blocked by a None entry (how the tests hide RDKit)
    sys.meta_path.insert(0, _RDKitStandIn())
    print("gpu_train: RDKit is not installed: molgen's modules are imported with an import-only stand-in; "
          "any call into RDKit raises", file=sys.stderr)
    return True


def forbid_rdkit_calls() -> None:
    _Absent.strict = True
