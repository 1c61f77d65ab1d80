"""Downloads against a real HTTP server on 127.0.0.1 that honours Range requests."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from generator.download import ChecksumMismatch, DownloadError, download

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    ranges_seen: ClassVar[list[str | None]] = []
    cut_after: ClassVar[int | None] = None  # simulate a dropped connection after N bytes once

    def do_GET(self) -> None:
        header = self.headers.get("Range")
        type(self).ranges_seen.append(header)
        if self.path == "/missing":
            self.send_error(404)
            return
        start = 0
        if header:
            start = int(header.removeprefix("bytes=").split("-")[0])
            if start >= len(PAYLOAD):
                self.send_response(416)
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(PAYLOAD) - 1}/{len(PAYLOAD)}")
        else:
            self.send_response(200)
        body = PAYLOAD[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        cut = type(self).cut_after
        if cut is not None:
            type(self).cut_after = None
            self.wfile.write(body[:cut])
            self.wfile.flush()
            self.connection.shutdown(2)
            return
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    _Handler.ranges_seen = []
    _Handler.cut_after = None
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_download_verifies_the_checksum(server: str, tmp_path: Path) -> None:
    target = tmp_path / "w.bin"
    assert download(f"{server}/w", target, sha256=DIGEST, progress=False) == DIGEST
    assert target.read_bytes() == PAYLOAD
    assert not (tmp_path / "w.bin.part").exists()
    # Already there and valid: no request at all.
    download(f"{server}/w", target, sha256=DIGEST, progress=False)
    assert len(_Handler.ranges_seen) == 1


def test_resume_continues_a_partial_file_with_a_range_request(server: str, tmp_path: Path) -> None:
    target = tmp_path / "w.bin"
    (tmp_path / "w.bin.part").write_bytes(PAYLOAD[:300_000])
    assert download(f"{server}/w", target, sha256=DIGEST, progress=False) == DIGEST
    assert _Handler.ranges_seen == ["bytes=300000-"]
    assert target.read_bytes() == PAYLOAD


def test_dropped_connection_leaves_a_part_file_that_resumes(server: str, tmp_path: Path) -> None:
    target = tmp_path / "w.bin"
    _Handler.cut_after = 100_000
    with pytest.raises(DownloadError, match="run the download again"):
        download(f"{server}/w", target, sha256=DIGEST, progress=False)
    kept = (tmp_path / "w.bin.part").stat().st_size
    assert 0 < kept <= 100_000
    assert download(f"{server}/w", target, sha256=DIGEST, progress=False) == DIGEST
    assert _Handler.ranges_seen[-1] == f"bytes={kept}-"
    assert target.read_bytes() == PAYLOAD


def test_checksum_mismatch_names_the_file_and_removes_the_bytes(
    server: str, tmp_path: Path
) -> None:
    target = tmp_path / "w.bin"
    with pytest.raises(ChecksumMismatch) as caught:
        download(f"{server}/w", target, sha256="0" * 64, progress=False)
    message = str(caught.value)
    assert "w.bin" in message and DIGEST in message and server in message
    assert not target.exists() and not (tmp_path / "w.bin.part").exists()


def test_http_error_is_reported_with_the_url(server: str, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="HTTP 404"):
        download(f"{server}/missing", tmp_path / "x.bin", progress=False)
