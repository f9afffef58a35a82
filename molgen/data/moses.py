"""MOSES-3D: the MOSES benchmark's drug-like SMILES (Polykovskiy et al. 2020) with ETKDGv3 + MMFF conformers.

The SMILES come from the optional PyPI package ``molsets`` (MIT; import name ``moses``), read offline from
its data folder (``moses/dataset/data/{train,test,test_scaffolds}.csv.gz``: 1,584,663 / 176,074 / 176,226
ZINC "clean leads" SMILES, elements C N O F S Cl Br and H, no charges beyond the neutral set). Only the
data files are read; the package is never imported (its own dependencies are not needed), so install it
with ``pip install --no-deps molsets``.

Each split becomes its own processed dataset through :class:`molgen.data.smiles.SmilesConformers`
(resumable, failures listed, hashed train/val/test inside it): ``moses`` (the MOSES train split),
``moses_test``, ``moses_test_scaffolds``, with ``_noh`` appended for heavy atoms (``remove_hs``, the
convention of ``configs/moses.yaml``).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

from molgen.data.smiles import build_smiles
from molgen.data.template import ProcessReport
from molgen.errors import MolgenInputError

MOSES_SPLITS = ("train", "test", "test_scaffolds")
INSTALL_HINT = "pip install --no-deps molsets"


def moses_file(split: str = "train") -> Path:
    """Path of the installed MOSES ``<split>.csv.gz``; a :class:`MolgenInputError` naming the install command."""
    if split not in MOSES_SPLITS:
        raise MolgenInputError(f"MOSES split {split!r}: choose one of {', '.join(MOSES_SPLITS)}")
    spec = importlib.util.find_spec("moses")
    if spec is None or not spec.submodule_search_locations:
        raise MolgenInputError(f"the MOSES data package is not installed; install it with '{INSTALL_HINT}' "
                               "(its own dependencies are not needed)")
    path = Path(next(iter(spec.submodule_search_locations))) / "dataset" / "data" / f"{split}.csv.gz"
    if not path.is_file():
        raise MolgenInputError(f"the installed moses package has no {path}; reinstall it with '{INSTALL_HINT}'")
    return path


def moses_name(split: str = "train", remove_hs: bool = False) -> str:
    """Processed dataset name of a MOSES split: ``moses``, ``moses_test``, ... plus ``_noh`` for heavy atoms."""
    return ("moses" if split == "train" else f"moses_{split}") + ("_noh" if remove_hs else "")


def build_moses(split: str = "train", root: str | os.PathLike | None = None, *, name: str | None = None,
                remove_hs: bool = False, **options: Any) -> ProcessReport:
    """Build MOSES-3D for ``split`` into ``processed/<name>`` (default :func:`moses_name`).

    ``options`` go to :func:`molgen.data.smiles.build_smiles` (``limit``, ``conformers``, ``workers``, ...).
    """
    return build_smiles(moses_file(split), name or moses_name(split, remove_hs), root, remove_hs=remove_hs,
                        **options)
