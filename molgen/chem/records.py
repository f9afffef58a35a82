"""How a bad input record is reported: which file, which record, why.

Readers either skip a bad record and count it (returning :class:`RecordError`
values that end up in a dataset's ``report.json``) or, in strict mode, raise
:class:`BadRecordError`, whose message names the file and record.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from molgen.errors import MolgenInputError


@dataclass(frozen=True)
class RecordError:
    """One dropped input record.

    Attributes:
        file: the input file (or ``archive:member``).
        index: 0-based record index within that file (for text formats, see ``reason`` for the line).
        reason: short, human-readable cause; identical causes share the same text so they can be counted.
        detail: optional specifics (offending value, RDKit message) kept out of ``reason``.
    """

    file: str
    index: int
    reason: str
    detail: str = ""

    @property
    def message(self) -> str:
        """``reason: detail`` (just ``reason`` without detail): the cause without file and record."""
        return f"{self.reason}: {self.detail}" if self.detail else self.reason

    def describe(self) -> str:
        extra = f" ({self.detail})" if self.detail else ""
        return f"{self.file}, record {self.index}: {self.reason}{extra}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def raise_(self) -> None:
        raise BadRecordError(self)


class BadRecordError(MolgenInputError):
    """Raised in strict mode for a bad record; ``.record`` holds the :class:`RecordError`."""

    def __init__(self, record: RecordError):
        super().__init__(record.describe())
        self.record = record
