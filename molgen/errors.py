"""The one exception type for bad input: the ``molgen`` command prints it as one line and exits 2.

Library code raises :class:`MolgenInputError` (or a subclass: ``ConfigError``,
``BadRecordError``, :class:`UnsafeFileError`) when a file, record, argument or config
value is wrong; the message names the file, record or line, and the field. Anything
else that escapes is a bug and keeps its traceback.
"""

from __future__ import annotations


class MolgenInputError(ValueError):
    """A user input (file, record, argument, config value) that molgen refuses, with a one-line reason."""


class UnsafeFileError(MolgenInputError):
    """A checkpoint or pickle whose content is not what molgen reads, or that would run code."""


def one_line(text: object) -> str:
    """``text`` on a single line (inner newlines of library messages become ``; ``)."""
    return "; ".join(part.strip() for part in str(text).splitlines() if part.strip())


def check_positive(name: str, value: int | None, maximum: int | None = None) -> None:
    """Raise :class:`MolgenInputError` unless ``value`` is None or an integer in 1..maximum."""
    if value is None:
        return
    if value < 1 or (maximum is not None and value > maximum):
        limit = f"1..{maximum}" if maximum is not None else ">= 1"
        raise MolgenInputError(f"{name} must be {limit}, got {value}")


def check_regular_file(path: object, what: str = "file") -> None:
    """Raise ``FileNotFoundError`` for a missing path and :class:`MolgenInputError` for a folder, FIFO, socket..."""
    from pathlib import Path

    path = Path(str(path))
    if not path.exists():
        raise FileNotFoundError(f"{what} not found: {path}")
    if not path.is_file():
        kind = "a directory" if path.is_dir() else "a FIFO, socket or device"
        raise MolgenInputError(f"{path}: not a regular file ({kind}); expected {what}")
