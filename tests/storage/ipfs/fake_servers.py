"""Local test servers on 127.0.0.1 that speak the real wire formats, with scripted faults.

- `PinningServiceServer`: the IPFS Pinning Service API (v1.0.0): Bearer auth, POST /pins → 202
  PinStatus, GET /pins/{id}, GET /pins?cid=&status=, DELETE /pins/{id}; statuses move
  queued → pinning → pinned on successive polls, or to `failed` for CIDs told to fail.
- `FakeKuboServer`: a kubo-shaped RPC that lies about CIDs or fails, for the error paths a
  real node does not produce on demand.
- `gateway`: an HTTP gateway (`GET /ipfs/<cid>`) serving what it is given, right or wrong.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


@dataclass
class ServiceState:
    token: str = "test-token"
    polls_until_pinned: int = 2
    fail_cids: set[str] = field(default_factory=set)
    # faults consumed in order for matching "METHOD /path-prefix": "429", "500",
    # "500-after-create" (the pin is created, then a 500 is answered), "slow:<seconds>"
    faults: dict[str, list[str]] = field(default_factory=dict)
    pins: dict[str, dict[str, Any]] = field(default_factory=dict)
    polls: dict[str, int] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take_fault(self, method: str, path: str) -> str | None:
        with self.lock:
            for key, queue in self.faults.items():
                fault_method, _, prefix = key.partition(" ")
                if fault_method == method and path.startswith(prefix) and queue:
                    return queue.pop(0)
        return None


def _service_handler(state: ServiceState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _send(self, status: int, payload: object | None = None) -> None:
            body = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(status)
            if status == 429:
                self.send_header("Retry-After", "0")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _error(self, status: int, reason: str, details: str = "") -> None:
            self._send(status, {"error": {"reason": reason, "details": details}})

        def _handle(self, method: str) -> None:
            url = urlparse(self.path)
            state.requests.append(f"{method} {url.path}")
            if self.headers.get("Authorization") != f"Bearer {state.token}":
                self._error(401, "UNAUTHORIZED", "bad or missing access token")
                return
            fault = state.take_fault(method, url.path)
            after_create = fault == "500-after-create"
            if fault == "429":
                self._error(429, "RATE_LIMITED")
                return
            if fault == "500":
                self._error(500, "INTERNAL_SERVER_ERROR", "scripted fault")
                return
            if fault and fault.startswith("slow:"):
                time.sleep(float(fault.split(":", 1)[1]))
            if method == "POST" and url.path == "/pins":
                length = int(self.headers.get("Content-Length", "0"))
                pin = json.loads(self.rfile.read(length))
                request_id = uuid.uuid4().hex
                with state.lock:
                    state.pins[request_id] = {
                        "requestid": request_id,
                        "status": "queued",
                        "created": "2026-01-01T00:00:00Z",
                        "pin": pin,
                        "delegates": ["/ip4/127.0.0.1/tcp/4001/p2p/QmServicePeer"],
                        "info": {},
                    }
                if after_create:
                    self._error(500, "INTERNAL_SERVER_ERROR", "created, then failed")
                    return
                self._send(202, state.pins[request_id])
                return
            if method == "GET" and url.path == "/pins":
                query = parse_qs(url.query)
                cids = set(",".join(query.get("cid", [""])).split(","))
                wanted = set(",".join(query.get("status", ["pinned"])).split(","))
                results = [
                    pin
                    for pin in reversed(list(state.pins.values()))
                    if pin["pin"]["cid"] in cids and pin["status"] in wanted
                ]
                self._send(200, {"count": len(results), "results": results})
                return
            if url.path.startswith("/pins/"):
                request_id = url.path.removeprefix("/pins/")
                pin = state.pins.get(request_id)
                if pin is None:
                    self._error(404, "NOT_FOUND", request_id)
                    return
                if method == "DELETE":
                    del state.pins[request_id]
                    self._send(202)
                    return
                if method == "GET":
                    self._advance(pin)
                    self._send(200, pin)
                    return
            self._error(400, "BAD_REQUEST", f"{method} {url.path}")

        def _advance(self, pin: dict[str, Any]) -> None:
            with state.lock:
                count = state.polls.get(pin["requestid"], 0) + 1
                state.polls[pin["requestid"]] = count
                if pin["status"] in ("pinned", "failed"):
                    return
                if pin["pin"]["cid"] in state.fail_cids:
                    pin["status"] = "failed"
                    pin["info"] = {"status_details": "could not find the content"}
                elif count >= state.polls_until_pinned:
                    pin["status"] = "pinned"
                else:
                    pin["status"] = "pinning"

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_DELETE(self) -> None:
            self._handle("DELETE")

    return Handler


@dataclass
class RunningServer:
    url: str
    server: ThreadingHTTPServer


@contextmanager
def serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[RunningServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield RunningServer(f"http://127.0.0.1:{server.server_address[1]}", server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def pinning_service(state: ServiceState) -> Iterator[RunningServer]:
    with serve(_service_handler(state)) as running:
        yield running


FAKE_PEER = "12D3KooWFakeKuboPeer"


@dataclass
class KuboScript:
    """What the fake kubo answers: a fixed CID for every add, and statuses to fail with."""

    add_hash: str = "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"
    fail_first: list[int] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)


def _kubo_handler(script: KuboScript) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _send(self, status: int, payload: object) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            self._send(405, {"Message": "405 - Method Not Allowed", "Code": 0, "Type": "error"})

        def do_POST(self) -> None:
            url = urlparse(self.path)
            length = int(self.headers.get("Content-Length", "0"))
            self.rfile.read(length)
            script.calls.append(url.path)
            if script.fail_first:
                self._send(script.fail_first.pop(0), {"Message": "scripted", "Code": 0})
                return
            if url.path == "/api/v0/add":
                self._send(200, {"Name": "f", "Hash": script.add_hash, "Size": "6"})
            elif url.path == "/api/v0/pin/add":
                self._send(200, {"Pins": [parse_qs(url.query)["arg"][0]]})
            elif url.path == "/api/v0/id":
                addresses = ["/ip4/127.0.0.1/tcp/4001", f"/ip4/10.0.0.5/tcp/4001/p2p/{FAKE_PEER}"]
                self._send(200, {"ID": FAKE_PEER, "Addresses": addresses})
            elif url.path == "/api/v0/version":
                self._send(200, {"Version": "0.41.0"})
            else:
                self._send(500, {"Message": f"unknown {url.path}", "Code": 0, "Type": "error"})

    return Handler


@contextmanager
def fake_kubo(script: KuboScript) -> Iterator[RunningServer]:
    with serve(_kubo_handler(script)) as running:
        yield running


@dataclass
class GatewayState:
    """What the test gateway serves: bytes per CID (404 for any other)."""

    content: dict[str, bytes] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)


def _gateway_handler(state: GatewayState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            path = urlparse(self.path).path
            state.requests.append(path)
            cid = path.removeprefix("/ipfs/")
            body = state.content.get(cid)
            if body is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@contextmanager
def gateway(state: GatewayState) -> Iterator[RunningServer]:
    with serve(_gateway_handler(state)) as running:
        yield running
