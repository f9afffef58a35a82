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


class Interrupted(BaseException):
    """SIGINT or SIGTERM reached a ``molgen`` command (see :func:`molgen.cli.signals.handle_signals`).

    A ``BaseException`` like ``KeyboardInterrupt``, so ``except Exception`` code never swallows it and
    every ``except BaseException: cleanup; raise`` removes its temporary files on the way out.
    """

    def __init__(self, signum: int):
        import signal

        self.signum = signum
        self.name = signal.Signals(signum).name
        super().__init__(f"interrupted by {self.name}")

    @property
    def exit_status(self) -> int:
        """The shell's convention: 128 + signal number (130 for SIGINT, 143 for SIGTERM)."""
        return 128 + self.signum


#: Largest text input read whole (a config, a box file, a split list): larger is no such file.
MAX_TEXT_BYTES = 64 << 20


def decode_text(path: object, data: bytes, delimiter: str | None = None) -> str:
    """``data`` (the bytes of ``path``) as UTF-8; :class:`MolgenInputError` naming the file, line and byte if not.

    With ``delimiter`` (a table: ``"\\t"``, ``","``) the message also names the field: its number and, when
    the first line is a readable header, its column name.
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        begin = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - begin + 1
        field = ""
        if delimiter is not None:
            number = data.count(delimiter.encode(), begin, exc.start) + 1
            header = data.split(b"\n", 1)[0].decode("utf-8", errors="replace").rstrip("\r").split(delimiter)
            name = f" ({header[number - 1].strip()!r})" if line > 1 and number <= len(header) else ""
            field = f", field {number}{name}"
        raise MolgenInputError(f"{path}: line {line}{field}: not UTF-8 text (byte 0x{data[exc.start]:02x} at "
                               f"column {column})") from None


def read_text(path: object, what: str = "file", limit: int = MAX_TEXT_BYTES, delimiter: str | None = None) -> str:
    """The UTF-8 text of the regular file ``path`` (at most ``limit`` bytes), decode errors named by line
    (and by field, with the ``delimiter`` of a table: see :func:`decode_text`)."""
    from pathlib import Path

    check_regular_file(path, what)
    with open(Path(str(path)), "rb") as handle:
        import os

        size = os.fstat(handle.fileno()).st_size  # read() of limit + 1 bytes would allocate them all at once
        data = handle.read(min(limit, size) + 1)
    if len(data) > limit:
        raise MolgenInputError(f"{path}: larger than {limit >> 20} MiB; not a {what}")
    return decode_text(path, data, delimiter)


def text_lines(path: object, what: str = "file") -> list[str]:
    """The lines of :func:`read_text`."""
    return read_text(path, what).splitlines()
