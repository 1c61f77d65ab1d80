"""Crash-safe file writes shared by the blob store and the IPFS blockstore."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path


def write_atomically(target: Path, parts: Iterable[bytes | memoryview]) -> None:
    """Write `parts` to a temporary file beside `target`, fsync, then rename into place.

    A crash leaves either no file or the whole file under `target`, never a partial one.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".incoming-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            for part in parts:
                handle.write(part)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise
