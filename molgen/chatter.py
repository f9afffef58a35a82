"""Library output kept out of the terminal: RDKit, PoseBusters, Vina, Open Babel and Lightning lines go to a log.

During :func:`captured` the process's file descriptors 1 and 2 and ``sys.stdout`` /
``sys.stderr`` point at a log file, so what RDKit's C++ logger, PoseBusters' ``logging``
warnings, Vina's prints, Lightning's banner and warnings and the forked workers' output write
lands there; molgen's own progress bar (one per command) writes to the terminal through
:func:`terminal`. The caller prints one line (:meth:`Chatter.summary`) and keeps the log beside
its results: ``library.log`` of ``molgen evaluate`` and ``molgen dock``, ``train.log`` of a
training run. Errors stay visible: an exception leaves the block before it is printed.

A bottom-layer module (standard library and :mod:`molgen.safe_write` only): evaluation, docking and
training all use it.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from molgen.safe_write import write_text_atomic

_TERMINAL: list[TextIO] = []  # the real stderr while a capture is active (innermost last)
#: RDKit's C++ log lines, plain or as meeko's logging handler formats them once meeko is imported
_RDKIT = re.compile(r"^(\[RDKit\] [A-Z]+:)?\[\d\d:\d\d:\d\d\] ")
#: Lightning's banner ("GPU available: ...", tips) and its warnings (they name a file under lightning/)
_LIGHTNING = re.compile(r"lightning|^(GPU|TPU|HPU|IPU) available|^LOCAL_RANK|^💡|^`Trainer", re.IGNORECASE)


def terminal() -> TextIO:
    """Where a progress bar should write: the real stderr, also while library output is captured."""
    return _TERMINAL[-1] if _TERMINAL else sys.stderr


@dataclass
class Chatter:
    """What libraries printed during a :func:`captured` block: the log file and its (new) lines."""

    path: Path
    lines: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Lines by source: ``RDKit`` (time-stamped C++ log lines), ``PoseBusters``, ``Lightning``, ``other``."""
        out = {"RDKit": 0, "PoseBusters": 0, "Lightning": 0, "other": 0}
        for line in self.lines:
            if _RDKIT.match(line):
                out["RDKit"] += 1
            elif "module failed" in line or "posebusters" in line.lower():
                out["PoseBusters"] += 1
            elif _LIGHTNING.search(line):
                out["Lightning"] += 1
            else:
                out["other"] += 1
        return out

    def summary(self, where: Path | None = None) -> str | None:
        """One line for stderr (None when nothing was printed), naming the log at ``where`` (default its path)."""
        if not self.lines:
            return None
        parts = ", ".join(f"{source} {n}" for source, n in self.counts().items() if n)
        n = len(self.lines)
        return f"{n} line{'s' if n > 1 else ''} of library messages ({parts}) kept in {where or self.path}"

    def keep(self, target: Path, append: bool = False) -> Path | None:
        """Move a temporary log to ``target`` (a file molgen writes in its output folder), after what
        ``target`` holds when ``append`` (a resumed run); drop it when empty."""
        if not self.lines:
            self.path.unlink(missing_ok=True)
            return None
        target.parent.mkdir(parents=True, exist_ok=True)
        before = target.read_text(encoding="utf-8", errors="replace") if append and target.is_file() else ""
        try:  # never half a log in a finished output folder
            write_text_atomic(target, before + "\n".join(self.lines) + "\n")
        finally:
            self.path.unlink(missing_ok=True)
        return target

    def drop_if_empty(self) -> None:
        """Remove the temporary log when nothing was printed (an error ends the run: a log that may say why stays)."""
        if not self.lines:
            self.path.unlink(missing_ok=True)


@contextmanager
def captured(log: Path | None = None) -> Iterator[Chatter]:
    """Send everything written to stdout/stderr (file descriptors and Python streams) to a log.

    ``log``: the file to append to, readable while the block runs (a training run's ``train.log``);
    default a temporary file, for :meth:`Chatter.keep`. The lines written during the block are in the
    yielded :class:`Chatter` once it ends, also when it raises.
    """
    if log is None:
        fd, name = tempfile.mkstemp(prefix="molgen-", suffix=".log")
        path, start = Path(name), 0
    else:
        path = Path(log)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        start = os.fstat(fd).st_size
    chatter = Chatter(path)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved = {n: os.dup(n) for n in (1, 2)}
    saved_streams = sys.stdout, sys.stderr
    real_stderr = os.fdopen(os.dup(saved[2]), "w", buffering=1, encoding="utf-8", errors="replace")
    stream = os.fdopen(fd, "w", buffering=1, encoding="utf-8", errors="replace")
    _TERMINAL.append(real_stderr)
    try:
        for n in (1, 2):
            os.dup2(stream.fileno(), n)
        sys.stdout = sys.stderr = stream
        yield chatter
    finally:
        stream.flush()
        sys.stdout, sys.stderr = saved_streams
        for n in (1, 2):
            os.dup2(saved[n], n)
            os.close(saved[n])
        _TERMINAL.pop()
        real_stderr.close()
        stream.close()
        with chatter.path.open("rb") as handle:
            handle.seek(start)
            text = handle.read().decode("utf-8", errors="replace")
        chatter.lines = [line for line in text.splitlines() if line.strip()]
