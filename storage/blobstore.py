"""Content-addressed file store under the data dir.

A blob's name is the SHA-256 of its bytes, so storing the same image twice is free and a
blob's name proves its content. Writes go to a temporary file in the same directory and are
renamed into place, so a crash never leaves a half-written blob under a valid name.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from storage.files import write_atomically

_CHUNK = 1 << 20


@dataclass(frozen=True)
class BlobRef:
    sha256: str
    size: int
    path: Path


class BlobNotFound(KeyError):
    pass


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_for(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a sha256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def put_bytes(self, data: bytes) -> BlobRef:
        digest = hashlib.sha256(data).hexdigest()
        target = self.path_for(digest)
        if not target.is_file():
            write_atomically(target, [data])
        return BlobRef(digest, len(data), target)

    def put_stream(self, stream: BinaryIO) -> BlobRef:
        """Store a stream of unknown size without holding it in memory."""
        self.root.mkdir(parents=True, exist_ok=True)
        hasher = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(prefix=".incoming-", dir=self.root)
        try:
            with os.fdopen(fd, "wb") as handle:
                while chunk := stream.read(_CHUNK):
                    hasher.update(chunk)
                    size += len(chunk)
                    handle.write(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            target = self.path_for(hasher.hexdigest())
            if target.is_file():
                os.unlink(tmp_name)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp_name, target)
        except BaseException:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
            raise
        return BlobRef(hasher.hexdigest(), size, target)

    def put_file(self, source: Path) -> BlobRef:
        with open(source, "rb") as handle:
            return self.put_stream(handle)

    def read_bytes(self, sha256: str) -> bytes:
        path = self.path_for(sha256)
        if not path.is_file():
            raise BlobNotFound(sha256)
        return path.read_bytes()

    def open(self, sha256: str) -> BinaryIO:
        path = self.path_for(sha256)
        if not path.is_file():
            raise BlobNotFound(sha256)
        return open(path, "rb")

    def copy_to(self, sha256: str, destination: Path) -> Path:
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.path_for(sha256), destination)
        return destination
