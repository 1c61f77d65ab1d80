"""Independent CID oracles for the profile tests.

- `importer_cids`: js-ipfs's own UnixFS importer (`ipfs-unixfs-importer` 12.0.1 inside the
  js-ipfs install in .test-tools/), run by `jsipfs/unixfs_oracle.mjs` with every option of a
  profile, including the links per node (`maxChildrenPerNode`). One node process per call.
- `jsipfs_cid`: the running js-ipfs node's HTTP `add` with `only-hash`, sent by the bot's kubo
  client with the profile's options. js-ipfs honours `cid-version`, `raw-leaves` and `chunker`
  but not `max-file-links` (it always uses 174 links), so it checks the 2025 profile only for
  files of at most 174 chunks.
- `ipfs_cid_v0`: Debian's `ipfs_cid` (Rust), which knows only the legacy layout (CIDv0).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from storage.ipfs.kubo import KuboClient
from storage.ipfs.profiles import CidProfile
from tests.storage.ipfs.jsipfs_node import POLYFILL, TOOL_DIR

ORACLE_SCRIPT = Path(__file__).resolve().parent / "jsipfs" / "unixfs_oracle.mjs"
NODE_MODULES = TOOL_DIR / "node_modules"


def importer_cids(jobs: Sequence[tuple[Path, CidProfile]], *, timeout_s: float = 600) -> list[str]:
    if not (NODE_MODULES / "ipfs-unixfs-importer").is_dir() or shutil.which("node") is None:
        raise RuntimeError("js-ipfs is not installed: run `bash scripts/install_test_deps.sh`")
    lines = [
        json.dumps(
            {
                "path": str(path),
                "chunkSize": profile.chunk_size,
                "maxLinks": profile.max_links,
                "cidVersion": profile.cid_version,
                "rawLeaves": profile.raw_leaves,
            }
        )
        for path, profile in jobs
    ]
    env = dict(os.environ, NODE_OPTIONS=f"--require {POLYFILL}")
    completed = subprocess.run(
        ["node", str(ORACLE_SCRIPT), str(NODE_MODULES)],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        check=True,
        timeout=timeout_s,
        env=env,
    )
    answers = [json.loads(line) for line in completed.stdout.splitlines() if line.strip()]
    assert len(answers) == len(jobs), completed.stderr[-2000:]
    errors = [answer["error"] for answer in answers if "error" in answer]
    assert not errors, errors
    return [str(answer["cid"]) for answer in answers]


def jsipfs_cid(api_url: str, path: Path, profile: CidProfile) -> str:
    client = KuboClient(api_url, timeout_s=600)

    def body() -> tuple[BinaryIO, int]:
        return open(path, "rb"), path.stat().st_size

    answer = client.add(body, filename=path.name, profile=profile, pin=False, only_hash=True)
    return str(answer["Hash"])


def ipfs_cid_v0(path: Path) -> str:
    tool = shutil.which("ipfs_cid")
    if tool is None:
        raise RuntimeError("Debian package ipfs-cid is missing: run scripts/install_test_deps.sh")
    completed = subprocess.run([tool, str(path)], capture_output=True, check=True, timeout=300)
    return str(json.loads(completed.stdout)["CIDv0"])


def sparse_chunks(path: Path, chunk_size: int, chunks: int) -> Path:
    """A file of `chunks` full chunks that differ (each starts with its index) and are holes
    otherwise: a GiB file takes no disk space and a moment to write."""
    with open(path, "wb") as handle:
        for index in range(chunks):
            handle.seek(index * chunk_size)
            handle.write(index.to_bytes(8, "big"))
        handle.truncate(chunks * chunk_size)
    return path
