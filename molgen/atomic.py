"""Atomic file-system writes: a crash never leaves a half-written file or folder.

Every writer in molgen (SDF, stores, statistics, reports, checkpoints metadata)
goes through these functions: write a temporary sibling, then ``os.replace``. Temporary
files of an earlier writer killed with -9 are removed the next time the same file is written.
"""

from __future__ import annotations

import glob
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def temp_sibling(path: Path, tag: str = "tmp") -> Path:
    """A unique hidden name next to ``path`` (same folder, so ``os.replace`` is atomic)."""
    return path.with_name(f".{path.name}.{tag}-{uuid.uuid4().hex[:8]}")


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write; it replaces ``path`` on success and is removed on error."""
    path = Path(path)
    remove_stale_temps(path.parent, glob.escape(path.name))  # left by an earlier writer killed with -9
    tmp = temp_sibling(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def replace_dir(staging: Path, out: Path) -> None:
    """Rename the finished folder ``staging`` to ``out``; an older ``out`` is deleted only after the swap."""
    if not out.exists():
        os.replace(staging, out)
        return
    trash = temp_sibling(out, "old")
    os.replace(out, trash)
    os.replace(staging, out)
    shutil.rmtree(trash)


def remove_stale_temps(folder: Path, name: str = "*") -> list[Path]:
    """Delete ``.NAME.tmp-*`` files left in ``folder`` by a killed writer of ``NAME`` (default: any name).

    Called before writing ``NAME`` again (and by ``--resume``), so a kill -9 never leaves
    a temporary file that accumulates or that a later run trips on.
    """
    stale = [p for p in Path(folder).glob(f".{name}.tmp-*") if p.is_file()]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale
