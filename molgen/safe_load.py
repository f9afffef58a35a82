"""Reading files that are pickles underneath, without ever running code from them.

* Checkpoints (``.ckpt``): :func:`load_checkpoint` uses ``torch.load(weights_only=True)``
  with the explicit allow-list :func:`checkpoint_globals`, scoped by
  ``torch.serialization.safe_globals``; sampling, fine-tuning, ``--resume`` (Lightning
  reads through :class:`molgen.training.callbacks.AtomicCheckpointIO`) and the Python API
  all read through it.
* Dataset pickles (GEOM-Drugs ``rdkit_folder/drugs/*.pickle``, CrossDocked ``index.pkl``):
  :func:`load_pickle` uses :class:`RestrictedUnpickler`, whose ``find_class`` allows only
  :data:`PICKLE_GLOBALS` (RDKit molecules, builtin containers, numpy arrays and scalars).

Anything else, a truncated, empty or random file included, is an :class:`UnsafeFileError`
(one line, naming the file and, for a refused global, its name); nothing in the file runs.
"""

from __future__ import annotations

import _compat_pickle
import io
import os
import pickle
import re
import warnings
import zipfile
from pathlib import Path
from typing import Any

from molgen.errors import UnsafeFileError, check_regular_file, one_line


def checkpoint_globals() -> list[type]:
    """Classes a molgen checkpoint may hold beyond what ``weights_only`` allows by default.

    Measured, not guessed: the shipped ``checkpoints/qm9_small_cpu.ckpt`` and checkpoints written
    by this Lightning release (2.6: tensors, optimizer and loop state, callback state, the
    config and marginals as plain dicts) need none, so the list is empty. A class added here
    must be data-only; it is allowed only inside :func:`load_checkpoint` (``safe_globals`` is
    scoped, never global state).
    """
    return []


CHECKPOINT_ERROR = "not a molgen checkpoint or unsafe content"

#: ``(module, name)`` pairs a dataset pickle may reference (after Python 2 -> 3 renaming).
PICKLE_GLOBALS: frozenset[tuple[str, str]] = frozenset({
    ("rdkit.Chem.rdchem", "Mol"), ("rdkit.Chem.rdchem", "Conformer"),
    *(("builtins", n) for n in ("list", "dict", "tuple", "set", "frozenset", "int", "float", "complex",
                                 "str", "bytes", "bytearray", "bool", "object")),
    ("copyreg", "_reconstructor"),  # protocol-2 pickles of builtin subclasses; the class is checked too
    ("_codecs", "encode"),  # how protocols 0-2 store bytes (e.g. an RDKit molecule's binary form)
    ("collections", "OrderedDict"), ("collections", "defaultdict"),
    *((m, n) for m in ("numpy.core.multiarray", "numpy._core.multiarray") for n in ("_reconstruct", "scalar")),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),  # arrays, protocol 5
    ("numpy", "ndarray"), ("numpy", "dtype"),
})


def load_checkpoint(path: str | os.PathLike, map_location: Any = "cpu") -> dict[str, Any]:
    """The raw dict of a molgen/Lightning checkpoint, read without running code.

    Raises ``FileNotFoundError`` (missing) or :class:`UnsafeFileError` (anything that is not
    a checkpoint made of tensors, builtin containers and :func:`checkpoint_globals`).
    """
    ckpt = load_tensors(path, "checkpoint", map_location)
    problem = _checkpoint_problem(ckpt)
    if problem:
        raise UnsafeFileError(f"{path}: {CHECKPOINT_ERROR} ({problem})")
    return ckpt


def load_tensors(path: str | os.PathLike, what: str = "checkpoint", map_location: Any = "cpu") -> Any:
    """``torch.load(weights_only=True)`` of a ``.ckpt``/``.pt`` file; every failure is one :class:`UnsafeFileError`."""
    import torch

    path = Path(path)
    check_regular_file(path, what)
    try:
        with torch.serialization.safe_globals(checkpoint_globals()), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "Detected pickle protocol 4": the error says enough
            return torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, TypeError, zipfile.BadZipFile,
            UnicodeDecodeError, AttributeError, ImportError, IndexError, KeyError) as exc:
        error = CHECKPOINT_ERROR if what == "checkpoint" else f"not a {what} or unsafe content"
        raise UnsafeFileError(f"{path}: {error} ({_reason(exc)})") from None


def _checkpoint_problem(ckpt: Any) -> str:
    if not isinstance(ckpt, dict):
        return f"holds a {type(ckpt).__name__}, not a dict"
    if not isinstance(ckpt.get("state_dict"), dict):
        return "no state_dict"
    if not all(type(v).__name__ in ("Tensor", "Parameter") for v in ckpt["state_dict"].values()):
        return "state_dict holds non-tensor values"
    for key, value in ckpt["state_dict"].items():  # a diverged run's weights sample NaN coordinates, exit 0
        if value.is_floating_point() and not bool(value.isfinite().all()):
            return f"weight {key} holds NaN or infinite values (a diverged run?)"
    hparams = ckpt.get("hyper_parameters")
    if not isinstance(hparams, dict) or not isinstance(hparams.get("config"), dict):
        return "no hyper_parameters.config"
    if not isinstance(hparams.get("marginals"), dict):
        return "no hyper_parameters.marginals"
    return marginals_problem(hparams["marginals"])


#: entries of a stored distribution (the atom-count histogram is the longest: up to 1000 atoms)
MAX_MARGINAL_ENTRIES = 1_000_000


def _distribution_problem(name: str, value: Any, normalised: bool = True) -> str:
    import torch

    try:
        t = torch.as_tensor(value, dtype=torch.float64)
    except (ValueError, TypeError, RuntimeError):
        return f"marginals.{name} is not a list of numbers"
    if t.dim() == 0 or t.numel() == 0 or t.numel() > MAX_MARGINAL_ENTRIES:
        return f"marginals.{name} has {t.numel()} entries"
    if not torch.isfinite(t).all() or (t < 0).any():
        return f"marginals.{name} holds NaN, infinite or negative values"
    total = t.sum(dim=-1)
    if normalised and not torch.allclose(total, torch.ones_like(total), atol=1e-3):
        return f"marginals.{name} does not sum to 1 (sums {total.flatten()[:3].tolist()})"
    if not normalised and not total.sum() > 0:
        return f"marginals.{name} holds no counts"
    return ""


def marginals_problem(marginals: dict[str, Any]) -> str:
    """Why the stored training marginals cannot be sampled from ("" when they can): finite, normalised."""
    for name in ("atom_types", "charges", "bonds", "num_atoms"):
        if name not in marginals:
            return f"no marginals.{name}"
        if problem := _distribution_problem(name, marginals[name]):
            return problem
    extras = marginals.get("extras") or {}
    if not isinstance(extras, dict):
        return "marginals.extras is not a mapping"
    for name, value in extras.items():
        if problem := _distribution_problem(f"extras.{name}", value):
            return problem
    if marginals.get("num_atoms_by_pocket") is not None:
        return _distribution_problem("num_atoms_by_pocket", marginals["num_atoms_by_pocket"], normalised=False)
    return ""


def _reason(exc: BaseException) -> str:
    text = str(exc)
    refused = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text) or re.search(r"unsupported global ([\w.]+)",
                                                                                    text, re.I)
    if refused:
        return f"forbidden global {refused.group(1)}"
    _, marker, after = text.partition("WeightsUnpickler error:")
    first = one_line(after if marker else text).split(";")[0].split(". ")[0][:120] or "empty or truncated file"
    return f"{type(exc).__name__}: {first}"


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that builds only :data:`PICKLE_GLOBALS`; any other global is an :class:`UnsafeFileError`."""

    def __init__(self, file: io.BufferedIOBase, source: str):
        super().__init__(file)
        self.source = source

    def find_class(self, module: str, name: str) -> Any:
        module, name = _compat_pickle.NAME_MAPPING.get((module, name),
                                                       (_compat_pickle.IMPORT_MAPPING.get(module, module), name))
        if (module, name) not in PICKLE_GLOBALS:
            raise UnsafeFileError(f"{self.source}: refused to unpickle: forbidden global {module}.{name}")
        return super().find_class(module, name)


def load_pickle(path: str | os.PathLike) -> Any:
    """Unpickle ``path`` with :class:`RestrictedUnpickler`; every failure is one :class:`UnsafeFileError` line."""
    path = Path(path)
    check_regular_file(path, "pickle file")
    with open(path, "rb") as handle:
        try:
            return RestrictedUnpickler(handle, str(path)).load()
        except UnsafeFileError:
            raise
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError, IndexError,
                KeyError, RuntimeError, UnicodeDecodeError, MemoryError) as exc:
            raise UnsafeFileError(f"{path}: cannot unpickle ({type(exc).__name__}: {one_line(exc)[:120]})") from None


def load_fitting_weights(module: Any, weights: dict, path: str | os.PathLike, model: str = "the model"
                         ) -> tuple[list[str], list[str]]:
    """``module.load_state_dict(weights, strict=False)`` -> (missing, unexpected); a tensor of the wrong shape
    ("size mismatch for ...") is :class:`UnsafeFileError` naming ``path``, not a RuntimeError traceback."""
    try:
        return module.load_state_dict(weights, strict=False)
    except RuntimeError as exc:
        detail = one_line(exc).removeprefix("Error(s) in loading state_dict for ")[:300]
        raise UnsafeFileError(f"{Path(path)}: weights do not fit {model} ({detail})") from None
