from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from storage.blobstore import BlobNotFound, BlobStore


def test_put_bytes_is_content_addressed_and_idempotent(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    first = store.put_bytes(b"hello")
    second = store.put_bytes(b"hello")
    assert first == second
    assert first.sha256 == hashlib.sha256(b"hello").hexdigest()
    assert store.read_bytes(first.sha256) == b"hello"
    assert first.path.parent.parent.name == first.sha256[:2]


def test_put_stream_and_file_agree(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    payload = bytes(range(256)) * 10_000
    source = tmp_path / "f.bin"
    source.write_bytes(payload)
    assert store.put_stream(io.BytesIO(payload)) == store.put_file(source)
    leftovers = [p for p in store.root.rglob(".incoming-*")]
    assert leftovers == []


def test_missing_blob_and_bad_names(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    with pytest.raises(BlobNotFound):
        store.read_bytes("0" * 64)
    with pytest.raises(ValueError):
        store.path_for("../../etc/passwd")
