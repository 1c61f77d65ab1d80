"""A loopback HTTP server whose routes are Python functions, for hostile-download tests."""

from __future__ import annotations

import struct
import threading
import zlib
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO

from PIL import Image

Route = Callable[[BaseHTTPRequestHandler], None]


def png_bytes(
    width: int = 8, height: int = 8, color: tuple[int, int, int] = (200, 30, 30)
) -> bytes:
    buffer = BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="PNG")
    return buffer.getvalue()


def png_bomb(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of all-zero rows: tiny on the wire, width*height pixels decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    compressor = zlib.compressobj(9)
    compressed = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", compressed)
        + chunk(b"IEND", b"")
    )


def serve(body: bytes, content_type: str = "image/png", status: int = 200) -> Route:
    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return route


def redirect(location: str) -> Route:
    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return route


def claims_length(claimed: int, sent: bytes) -> Route:
    """Announces `claimed` bytes and sends only `sent`, then hangs up."""

    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "image/png")
        handler.send_header("Content-Length", str(claimed))
        handler.end_headers()
        handler.wfile.write(sent)
        handler.close_connection = True

    return route


def endless(chunk: bytes, total: int) -> Route:
    """No Content-Length: streams `total` bytes and closes (a lying or unbounded server)."""

    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "image/png")
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.close_connection = True
        sent = 0
        try:
            while sent < total:
                handler.wfile.write(chunk)
                sent += len(chunk)
        except OSError:
            pass  # the client hung up at its cap, as it should

    return route


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, *_args: object) -> None:
        pass

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        with self.server.lock:
            self.server.hits.append(path)
        route = self.server.routes.get(self.path) or self.server.routes.get(path)
        if route is None:
            serve(b"not found", "text/plain", 404)(self)
            return
        try:
            route(self)
        except OSError:
            self.close_connection = True

    def do_POST(self) -> None:  # same routes; the request body is read and dropped
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.do_GET()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class ImageServer:
    def __init__(self) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.routes = {}  # type: ignore[attr-defined]
        self._server.hits = []  # type: ignore[attr-defined]
        self._server.lock = threading.Lock()  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def routes(self) -> dict[str, Route]:
        return self._server.routes  # type: ignore[attr-defined]

    @property
    def hits(self) -> list[str]:
        return self._server.hits  # type: ignore[attr-defined]

    def __enter__(self) -> ImageServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
