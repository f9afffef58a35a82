"""Downloads: streamed, checksum-verified, atomic; tested with file:// URLs and a fake opener (no network)."""

from __future__ import annotations

import hashlib
import io

import pytest

from molgen.data.download import ChecksumError, RemoteFile, download, fetch, file_digests
from molgen.data.qm9 import UNCHARACTERIZED, make_qm9_builder


def test_file_url_download_verifies_and_renames(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"qm9" * 100_000)
    md5 = hashlib.md5(src.read_bytes()).hexdigest()
    sha = hashlib.sha256(src.read_bytes()).hexdigest()
    out = download(src.as_uri(), tmp_path / "dl" / "file.bin", md5=md5, sha256=sha, progress=False, chunk=4096)
    assert out.read_bytes() == src.read_bytes() and sorted(p.name for p in out.parent.iterdir()) == ["file.bin"]
    assert file_digests(out) == (md5, sha)


def test_checksum_mismatch_leaves_nothing(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"not the published file")
    with pytest.raises(ChecksumError, match=r"MD5 .* != expected 0{32}"):
        download(src.as_uri(), tmp_path / "dl" / "file.bin", md5="0" * 32, progress=False)
    assert list((tmp_path / "dl").iterdir()) == []


def test_interrupted_stream_leaves_nothing(tmp_path):
    class Dropping(io.BytesIO):
        headers = {"Content-Length": "100"}

        def read(self, n=-1):
            data = super().read(10)
            if self.tell() > 30:
                raise ConnectionResetError("connection dropped")
            return data

    with pytest.raises(ConnectionResetError):
        download("https://example.invalid/x", tmp_path / "x.bin", opener=lambda url: Dropping(b"y" * 100),
                 progress=False)
    assert list(tmp_path.iterdir()) == []


def test_existing_file_is_verified_not_refetched(shared_data, tmp_path):
    def no_network(url):
        raise AssertionError(f"tried to fetch {url}")

    local = tmp_path / UNCHARACTERIZED.name
    local.write_bytes((shared_data / "qm9" / "aux" / "uncharacterized.txt").read_bytes())
    # the official file matches figshare's published MD5
    assert fetch(UNCHARACTERIZED, tmp_path, opener=no_network, progress=False) == local
    local.write_text("tampered")
    with pytest.raises(ChecksumError, match="uncharacterized.txt"):
        fetch(RemoteFile(UNCHARACTERIZED.name, UNCHARACTERIZED.url, md5=UNCHARACTERIZED.md5), tmp_path,
              opener=no_network)


def test_auto_source_prefers_raw_files(shared_data, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "dsgdb9nsd.xyz.tar.bz2").write_bytes((shared_data / "qm9" / "xyz_first10.tar.bz2").read_bytes())
    (raw / "uncharacterized.txt").write_bytes((shared_data / "qm9" / "aux" / "uncharacterized.txt").read_bytes())
    assert make_qm9_builder("auto", raw).source == "xyz"
    with pytest.raises(ValueError, match="unknown QM9 source"):
        make_qm9_builder("zip", raw)
