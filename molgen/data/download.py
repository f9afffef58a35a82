"""Streaming, checksum-verified, atomic downloads of raw dataset files.

:func:`download` streams ``url`` to a temporary file next to the destination
with a tqdm progress bar, verifies its SHA256 and/or MD5 and only then renames
it into place; a failed or interrupted download leaves nothing behind, and an
existing file with the right checksum is not fetched again.
The opener is a parameter, so tests use ``file://`` URLs or a fake opener and
never touch the network.
"""

from __future__ import annotations

import hashlib
import os
import sys
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from tqdm import tqdm

from molgen.errors import MolgenInputError


class ChecksumError(MolgenInputError):
    """A downloaded or existing file whose checksum differs from the published one."""


@dataclass(frozen=True)
class RemoteFile:
    """A published raw file: where it lives and its published checksum(s)."""

    name: str
    url: str
    md5: str | None = None
    sha256: str | None = None


def file_digests(path: str | os.PathLike, chunk: int = 1 << 20) -> tuple[str, str]:
    """``(md5, sha256)`` hex digests of a file, read in chunks."""
    md5, sha = hashlib.md5(), hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            md5.update(block)
            sha.update(block)
    return md5.hexdigest(), sha.hexdigest()


def verify(path: str | os.PathLike, *, md5: str | None = None, sha256: str | None = None) -> None:
    """Raise :class:`ChecksumError` naming the file when a given checksum does not match."""
    got_md5, got_sha = file_digests(path)
    if md5 and got_md5 != md5.lower():
        raise ChecksumError(f"{path}: MD5 {got_md5} != expected {md5}")
    if sha256 and got_sha != sha256.lower():
        raise ChecksumError(f"{path}: SHA256 {got_sha} != expected {sha256}")


def download(url: str, dest: str | os.PathLike, *, md5: str | None = None, sha256: str | None = None,
             opener: Callable[[str], BinaryIO] = urllib.request.urlopen, progress: bool = True,
             chunk: int = 1 << 20) -> Path:
    """Download ``url`` to ``dest`` (streaming, verified, atomic); return ``dest``.

    An existing ``dest`` that passes the checksums is kept as is.
    """
    dest = Path(dest)
    if dest.is_file():
        verify(dest, md5=md5, sha256=sha256)
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.part-{uuid.uuid4().hex[:8]}")
    try:
        with opener(url) as response, open(tmp, "wb") as out:
            total = _content_length(response)
            with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name, disable=not progress,
                      file=sys.stderr) as bar:
                while block := response.read(chunk):
                    out.write(block)
                    bar.update(len(block))
        verify(tmp, md5=md5, sha256=sha256)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return dest


def fetch(remote: RemoteFile, folder: str | os.PathLike, **kwargs) -> Path:
    """:func:`download` a :class:`RemoteFile` into ``folder``."""
    return download(remote.url, Path(folder) / remote.name, md5=remote.md5, sha256=remote.sha256, **kwargs)


def _content_length(response: object) -> int | None:
    headers = getattr(response, "headers", None)
    value = headers.get("Content-Length") if headers is not None else None
    return int(value) if value else None
