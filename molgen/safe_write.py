"""Atomic file-system writes: a crash never leaves a half-written file or folder.

Every writer in molgen (SDF, stores, statistics, reports, checkpoints metadata)
goes through these functions: write a temporary sibling, then ``os.replace``.

A temporary name records its owner: ``.NAME.tmp-<pid>@<host>-<random>``. A temporary file or
folder is removed as stale only when its owner is gone (same host, no such process): a writer
killed with -9 leaves one that the next writer removes, while two live runs writing the same
output never delete each other's work (:func:`is_stale`).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: the host part of temporary names (no ``-``, ``/`` or ``@`` so the name parses back)
HOST = "".join(c if c.isalnum() else "_" for c in socket.gethostname())[:40] or "host"


def owner_tag() -> str:
    """``<pid>@<host>`` of this process, as recorded in temporary names and lock files."""
    return f"{os.getpid()}@{HOST}"


def temp_sibling(path: Path, tag: str = "tmp") -> Path:
    """A unique hidden name next to ``path`` (same folder, so ``os.replace`` is atomic), naming its owner."""
    path = Path(path)
    return path.with_name(f".{path.name}.{tag}-{owner_tag()}-{uuid.uuid4().hex[:8]}")


def owner_alive(owner: str) -> bool:
    """Whether the process ``<pid>@<host>`` may still run (a process of another host always may)."""
    pid_text, _, host = owner.partition("@")
    if host != HOST:
        return True
    if not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


def is_stale(path: Path) -> bool:
    """Whether the temporary ``path`` was left by a writer that is gone.

    Names of this version carry ``<pid>@<host>``; a name from another host is never stale here.
    Older names (``.NAME.tmp-<hex8>``, no owner) are stale: their writers predate concurrent runs.
    """
    rest = Path(path).name.rpartition(".")[2]  # "tmp-<pid>@<host>-<hex>" or "tmp-<hex>"
    _, _, rest = rest.partition("-")
    owner, _, _ = rest.rpartition("-")
    if "@" not in owner:
        return True
    return not owner_alive(owner)


def named(exc: OSError, path: str | os.PathLike) -> OSError:
    """``exc`` naming ``path`` when it names no file: a failed ``write()`` (EFBIG past ``ulimit -f``, ENOSPC, EIO)
    says only ``[Errno 27] File too large``; the one line the CLI prints must say which output it was."""
    if exc.filename is not None or exc.errno is None:
        return exc
    return type(exc)(exc.errno, f"{exc.strerror} (writing {path})")


@contextmanager
def naming(path: str | os.PathLike) -> Iterator[None]:
    """Within the block, an ``OSError`` that names no file is raised again naming ``path`` (see :func:`named`)."""
    try:
        yield
    except OSError as exc:
        renamed = named(exc, path)
        if renamed is exc:
            raise
        raise renamed from exc


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write; it replaces ``path`` on success and is removed on error.

    A write error that names no file (a full disk, ``ulimit -f``) is raised naming ``path``.
    """
    path = Path(path)
    remove_stale_temps(path.parent, glob.escape(path.name))  # left by an earlier writer killed with -9
    tmp = temp_sibling(path)
    try:
        with naming(path):
            yield tmp
            os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def replace_dir(staging: Path, out: Path) -> None:
    """Rename the finished folder ``staging`` to ``out``; an older ``out`` is deleted only after the swap."""
    if not out.exists():
        os.replace(staging, out)
        return
    trash = temp_sibling(out, "old")
    os.replace(out, trash)
    os.replace(staging, out)
    shutil.rmtree(trash)


def remove_stale_temps(folder: Path, name: str = "*", tags: tuple[str, ...] = ("tmp", "old")) -> list[Path]:
    """Delete ``.NAME.tmp-*`` files and folders in ``folder`` whose writer is gone (default: any name).

    Called before writing ``NAME`` again (and by ``--resume``), so a kill -9 never leaves
    a temporary file that accumulates or that a later run trips on; a live writer's files stay.
    """
    stale = [p for tag in tags for p in Path(folder).glob(f".{name}.{tag}-*") if is_stale(p)]
    for path in stale:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return stale


@contextmanager
def owner_lock(path: Path, what: str) -> Iterator[None]:
    """Hold ``path`` (a lock file holding ``<pid>@<host>``) for the duration; refuse while a live owner holds it.

    A lock left by a process that is gone (kill -9) is taken over. ``what`` names the work in the message.
    """
    from molgen.errors import MolgenInputError

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(3):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                owner = path.read_text(encoding="utf-8", errors="replace").strip()
            except FileNotFoundError:
                continue
            if owner and owner_alive(owner):
                raise MolgenInputError(f"{what} is in progress in another molgen process ({owner}, lock {path}); "
                                       "wait for it to finish") from None
            path.unlink(missing_ok=True)  # its owner is gone
            continue
        break
    else:
        raise MolgenInputError(f"{what}: cannot take the lock {path}")
    try:  # from the moment the file exists: a signal while its owner is written must not leave it behind
        with os.fdopen(fd, "w") as handle:
            handle.write(owner_tag())
        yield
    finally:
        path.unlink(missing_ok=True)
