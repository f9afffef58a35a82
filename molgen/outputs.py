"""The output-path policy of every writing command: nothing the user owns is overwritten or deleted.

* An output is never one of the command's inputs (the same path, or another name of the same file).
* An output file is written by rename, so only a missing or regular file can be an output; a
  character device, FIFO or socket (``/dev/null``, a named pipe) is refused rather than replaced.
* An existing output is replaced only when it is molgen's output of the same kind, recognised by
  its marker: an SDF written by ``molgen sample`` (its records carry ``rdkit_sanitized``), a docking
  folder with molgen's ``docking.json`` ledger, an evaluation folder with molgen's ``metrics.json``,
  a processed dataset with its ``report.json``, a training run with molgen's ``config.yaml``.
  Anything else is refused with one line; the user deletes it or chooses another path.
"""

from __future__ import annotations

import gzip
import json
import os
import stat
from collections.abc import Callable, Iterable
from pathlib import Path

from molgen.errors import MolgenInputError

#: how much of an existing file is read to recognise it
SNIFF_BYTES = 1 << 16


def _kind(path: Path) -> str:
    mode = path.stat().st_mode
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a directory" if stat.S_ISDIR(mode) else "not a regular file"


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether ``a`` and ``b`` name the same existing file (links and ``..`` included) or the same path."""
    a, b = Path(a), Path(b)
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist: compare the resolved names
        return a.resolve() == b.resolve()


def refuse_inputs(out: str | os.PathLike, inputs: Iterable[str | os.PathLike | None], option: str = "--out") -> None:
    """Raise :class:`MolgenInputError` if the output ``out`` is one of ``inputs`` (None entries are skipped)."""
    for item in inputs:
        if item is not None and same_file(out, item):
            raise MolgenInputError(f"{option} {out} is also an input ({item}); refusing to overwrite it")


def read_head(path: Path, limit: int = SNIFF_BYTES) -> bytes:
    """The first ``limit`` bytes of ``path`` (decompressed when it is gzip); b"" when unreadable."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(limit)
        if head[:2] == b"\x1f\x8b":
            with gzip.open(path, "rb") as handle:
                head = handle.read(limit)
    except (OSError, EOFError):
        return b""
    return head


def is_molgen_sdf(path: Path) -> bool:
    """An SDF written by ``molgen sample`` (every record carries the ``rdkit_sanitized`` property)."""
    return b"<rdkit_sanitized>" in read_head(path)


def json_has(path: Path, key: str) -> bool:
    """Whether ``path`` is a JSON object holding ``key`` (a molgen ledger or report)."""
    try:
        document = json.loads(read_head(path, 1 << 24).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return False
    return isinstance(document, dict) and key in document


def check_output_file(out: str | os.PathLike, inputs: Iterable[str | os.PathLike | None] = (), *,
                      recognise: Callable[[Path], bool] | None = None, what: str = "molgen output",
                      option: str = "--out") -> Path:
    """Raise unless ``out`` may be written: absent, empty, or ``recognise(out)``; regular; not an input."""
    out = Path(out)
    refuse_inputs(out, inputs, option)
    if out.exists() or out.is_symlink():
        if not out.exists():
            raise MolgenInputError(f"{option} {out} is a broken symbolic link; remove it or choose another path")
        if not out.is_file():
            raise MolgenInputError(f"{option} {out} is {_kind(out)}, not a regular file: molgen writes a file "
                                   "by rename and never replaces a device, FIFO or folder")
        if out.stat().st_size and recognise is not None and not recognise(out):
            raise MolgenInputError(f"{option} {out} exists and is not a {what}; refusing to overwrite it "
                                   "(delete it or choose another path)")
    elif not out.parent.is_dir() and out.parent.exists():
        raise MolgenInputError(f"{option} {out}: {out.parent} is not a folder")
    return out


def check_output_dir(out: str | os.PathLike, inputs: Iterable[str | os.PathLike | None] = (), *,
                     owned: Iterable[str] = (), marker: Callable[[Path], bool] | None = None,
                     what: str = "molgen output folder", option: str = "--out") -> Path:
    """Raise unless the folder ``out`` may be written.

    ``owned``: the names molgen writes there; an existing folder holding any of them needs
    ``marker(out)`` (its ledger), and no input may be ``out`` or one of those files.
    """
    out = Path(out)
    owned = tuple(owned)
    inputs = [i for i in inputs if i is not None]
    refuse_inputs(out, inputs, option)
    for name in owned:
        refuse_inputs(out / name, inputs, option)
    if out.is_symlink() and not out.exists():
        raise MolgenInputError(f"{option} {out} is a broken symbolic link; remove it or choose another path")
    if not out.exists():
        return out
    if not out.is_dir():
        raise MolgenInputError(f"{option} {out} is {_kind(out)}, not a folder; choose another path")
    present = [name for name in owned if (out / name).exists()]
    if present and (marker is None or not marker(out)):
        raise MolgenInputError(f"{option} {out} holds {', '.join(present)} that molgen did not write (no molgen "
                               f"ledger: not a {what}); refusing to overwrite it (choose another path)")
    return out


def is_molgen_dataset(folder: Path) -> bool:
    """A processed dataset folder written by ``molgen data`` (its ``report.json`` names its signature)."""
    return json_has(folder / "report.json", "signature")


def check_dataset_dir(out: Path) -> None:
    """``molgen data``: ``processed/<name>`` is rebuilt (``--force``, changed inputs) only when molgen wrote it."""
    if out.is_symlink() and not out.exists():
        raise MolgenInputError(f"{out} is a broken symbolic link; remove it or choose another --name")
    if not out.exists():
        return
    if not out.is_dir():
        raise MolgenInputError(f"{out} is {_kind(out)}, not a processed dataset; remove it or choose another name")
    if any(out.iterdir()) and not is_molgen_dataset(out):
        raise MolgenInputError(f"{out} exists and was not written by molgen data (no report.json); refusing to "
                               "replace it (move it away or choose another name)")
