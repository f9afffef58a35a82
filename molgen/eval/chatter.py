"""Library output kept out of the terminal: RDKit, PoseBusters, Vina and Open Babel lines go to a log.

During :func:`captured` the process's file descriptors 1 and 2 and ``sys.stdout`` /
``sys.stderr`` point at a log file, so what RDKit's C++ logger, PoseBusters' ``logging``
warnings, Vina's prints and the forked workers' output write lands there; molgen's own
progress bar writes to the terminal through :func:`terminal`. The caller prints one line
(:meth:`Chatter.summary`) and keeps the log beside its results.
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

_TERMINAL: list[TextIO] = []  # the real stderr while a capture is active (innermost last)
_RDKIT = re.compile(r"^\[\d\d:\d\d:\d\d\] ")


def terminal() -> TextIO:
    """Where a progress bar should write: the real stderr, also while library output is captured."""
    return _TERMINAL[-1] if _TERMINAL else sys.stderr


@dataclass
class Chatter:
    """What libraries printed during a :func:`captured` block: the log file and its lines."""

    path: Path
    lines: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Lines by source: ``RDKit`` (time-stamped C++ log lines), ``PoseBusters`` and ``other``."""
        out = {"RDKit": 0, "PoseBusters": 0, "other": 0}
        for line in self.lines:
            if _RDKIT.match(line):
                out["RDKit"] += 1
            elif "module failed" in line or "posebusters" in line.lower():
                out["PoseBusters"] += 1
            else:
                out["other"] += 1
        return out

    def summary(self, where: Path | None = None) -> str | None:
        """One line for stderr (None when nothing was printed), naming the log at ``where`` (default its path)."""
        if not self.lines:
            return None
        parts = ", ".join(f"{source} {n}" for source, n in self.counts().items() if n)
        return f"{len(self.lines)} lines of library messages ({parts}) kept in {where or self.path}"

    def keep(self, target: Path) -> Path | None:
        """Move the log to ``target`` (a file molgen writes in its output folder); drop it when empty."""
        if not self.lines:
            self.path.unlink(missing_ok=True)
            return None
        from molgen.safe_write import write_text_atomic

        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            write_text_atomic(target, "\n".join(self.lines) + "\n")  # never half a log in a finished report
        finally:
            self.path.unlink(missing_ok=True)
        return target

    def drop_if_empty(self) -> None:
        """Remove the temporary log when nothing was printed (an error ends the run: a log that may say why stays)."""
        if not self.lines:
            self.path.unlink(missing_ok=True)


@contextmanager
def captured() -> Iterator[Chatter]:
    """Send everything written to stdout/stderr (file descriptors and Python streams) to a temporary log.

    The log's lines are in the yielded :class:`Chatter` once the block ends, also when it raises.
    """
    fd, name = tempfile.mkstemp(prefix="molgen-", suffix=".log")
    chatter = Chatter(Path(name))
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved = {n: os.dup(n) for n in (1, 2)}
    saved_streams = sys.stdout, sys.stderr
    real_stderr = os.fdopen(os.dup(saved[2]), "w", buffering=1, encoding="utf-8", errors="replace")
    log = os.fdopen(fd, "w", buffering=1, encoding="utf-8", errors="replace")
    _TERMINAL.append(real_stderr)
    try:
        for n in (1, 2):
            os.dup2(log.fileno(), n)
        sys.stdout = sys.stderr = log
        yield chatter
    finally:
        log.flush()
        sys.stdout, sys.stderr = saved_streams
        for n in (1, 2):
            os.dup2(saved[n], n)
            os.close(saved[n])
        _TERMINAL.pop()
        real_stderr.close()
        log.close()
        text = chatter.path.read_text(encoding="utf-8", errors="replace")
        chatter.lines = [line for line in text.splitlines() if line.strip()]
