"""Resumable, checksummed downloads of weight files.

Bytes go to `<target>.part`; an interrupted download resumes from its length with an HTTP
Range request (a server that ignores Range answers 200 and the file starts over). The file is
renamed into place only after its SHA-256 matched, so a valid name never holds bad bytes.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import requests
from tqdm import tqdm

log = logging.getLogger(__name__)
_CHUNK = 1 << 20
# Small network reads: bytes already received survive a dropped connection for the resume.
_NET_CHUNK = 1 << 16


class DownloadError(RuntimeError):
    pass


class ChecksumMismatch(DownloadError):
    def __init__(self, path: Path, url: str, expected: str, actual: str) -> None:
        super().__init__(
            f"{path.name}: SHA-256 {actual} does not match the expected {expected} "
            f"(downloaded from {url}); the partial file was removed, run the download again"
        )
        self.path, self.url, self.expected, self.actual = path, url, expected, actual


def sha256_of(path: Path) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            hasher.update(chunk)
    return hasher.hexdigest()


def download(
    url: str,
    target: Path,
    *,
    sha256: str | None = None,
    session: requests.Session | None = None,
    timeout_s: float = 60.0,
    progress: bool = True,
) -> str:
    """Download `url` to `target` (resuming a `.part` file); returns the file's SHA-256.

    An existing `target` whose digest matches is kept as is. A mismatch after download removes
    the partial file and raises ChecksumMismatch naming the file, the URL and both digests.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_file():
        digest = sha256_of(target)
        if sha256 is None or digest == sha256:
            return digest
        log.warning("%s has SHA-256 %s, expected %s: downloading again", target, digest, sha256)
        target.unlink()

    part = target.with_name(target.name + ".part")
    http = session or requests.Session()
    hasher = hashlib.sha256()
    offset = part.stat().st_size if part.is_file() else 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        response = http.get(url, headers=headers, stream=True, timeout=timeout_s)
    except requests.RequestException as exc:
        raise DownloadError(f"{target.name}: cannot reach {url}: {exc}") from exc
    with response:
        if response.status_code == 416 and offset:
            # The part file is already complete (or longer than the resource): recheck it.
            response.close()
            return _finish(part, target, url, sha256, _hash_file_into(part, hasher))
        if response.status_code not in (200, 206):
            raise DownloadError(f"{target.name}: HTTP {response.status_code} from {url}")
        resumed = response.status_code == 206 and offset > 0
        if resumed:
            _hash_file_into(part, hasher)
        else:
            offset = 0
        total = _total_size(response, offset)
        mode = "ab" if resumed else "wb"
        with (
            open(part, mode) as handle,
            tqdm(
                total=total,
                initial=offset,
                unit="B",
                unit_scale=True,
                desc=target.name,
                disable=not progress,
            ) as bar,
        ):
            try:
                for chunk in response.iter_content(_NET_CHUNK):
                    handle.write(chunk)
                    hasher.update(chunk)
                    bar.update(len(chunk))
            except requests.RequestException as exc:
                raise DownloadError(
                    f"{target.name}: connection lost after {handle.tell()} bytes from {url} "
                    f"({exc}); run the download again to resume"
                ) from exc
            handle.flush()
            os.fsync(handle.fileno())
    return _finish(part, target, url, sha256, hasher)


def _total_size(response: requests.Response, offset: int) -> int | None:
    length = response.headers.get("Content-Length")
    return int(length) + offset if length and length.isdigit() else None


def _hash_file_into(path: Path, hasher: hashlib._Hash) -> hashlib._Hash:
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            hasher.update(chunk)
    return hasher


def _finish(part: Path, target: Path, url: str, expected: str | None, hasher: hashlib._Hash) -> str:
    digest = hasher.hexdigest()
    if expected is not None and digest != expected:
        part.unlink(missing_ok=True)
        raise ChecksumMismatch(target, url, expected, digest)
    os.replace(part, target)
    return digest
