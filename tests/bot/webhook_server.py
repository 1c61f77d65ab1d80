"""A webhook receiver on 127.0.0.1 for the notification tests: records every request, and
answers as told: `ok` (204), `fail` (500), `redirect` (302 elsewhere), or `hang` (holds the
request until released, like a stuck server)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Hook:
    url: str
    mode: str = "ok"
    requests: list[dict[str, Any]] = field(default_factory=list)
    holding: threading.Event = field(default_factory=threading.Event)  # a request is held now
    release: threading.Event = field(default_factory=threading.Event)

    def bodies(self) -> list[Any]:
        return [r["json"] for r in self.requests if r["path"].endswith("/hook/SECRET-TOKEN")]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        hook = self.server.hook
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        hook.requests.append(
            {
                "path": self.path,
                "headers": dict(self.headers),
                "json": json.loads(raw) if raw else None,
            }
        )
        if hook.mode == "hang":
            hook.holding.set()
            hook.release.wait(60)
            return
        if hook.mode == "fail":
            self._answer(500, b'{"message": "down"}')
        elif hook.mode == "redirect":
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{self.server.server_port}/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self._answer(204, b"")

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    hook: Hook


@contextmanager
def running_hook(mode: str = "ok") -> Iterator[Hook]:
    server = _Server(("127.0.0.1", 0), _Handler)
    hook = Hook(f"http://127.0.0.1:{server.server_port}/hook/SECRET-TOKEN", mode)
    server.hook = hook
    thread = threading.Thread(target=server.serve_forever, name="webhook-test", daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        hook.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
