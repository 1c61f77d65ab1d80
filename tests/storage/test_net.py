"""storage/net: bounded JSON depth, and HTTP exchanges with a deadline, a body cap and safe
redirects, against real local servers."""

from __future__ import annotations

import gzip
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from storage.net import safe_json
from storage.net.bounded import (
    BoundedHttp,
    DeadlineExceeded,
    HttpLimits,
    RedirectRefused,
    ResponseTooLarge,
)
from tests.scraper.image_server import ImageServer, endless, redirect, serve

ROOT = Path(__file__).resolve().parents[2]
BRACKETS = b"[" * 400_000


# --- JSON depth ------------------------------------------------------------------------------


def test_depth_ignores_brackets_inside_strings() -> None:
    assert safe_json.nesting_depth(b'{"a": "[[[[{{{{", "b": [1, [2, {"c": "\\"]]"}]]}') == 4
    assert safe_json.nesting_depth(b"42") == 0
    assert safe_json.loads(b'{"k": ["[", "\\\\"]}', source="t") == {"k": ["[", "\\"]}


def test_too_deep_is_refused_before_parsing_and_names_the_source() -> None:
    with pytest.raises(safe_json.JsonTooDeep, match=r"^https://x/y: JSON nested 400000 levels"):
        safe_json.loads(BRACKETS, source="https://x/y")
    assert safe_json.loads(b"[" * 64 + b"]" * 64, source="t") is not None
    with pytest.raises(safe_json.JsonTooDeep):
        safe_json.loads(b"[" * 65 + b"]" * 65, source="t")
    with pytest.raises(safe_json.UnsafeJson, match="invalid JSON"):
        safe_json.loads(b'{"a": ', source="t")


def test_utf16_json_is_scanned_too() -> None:
    text = '{"a": "[[[", "b": [[1]]}'
    assert safe_json.loads(text.encode("utf-16"), source="t") == {"a": "[[[", "b": [[1]]}


def test_the_signing_stack_leaves_the_recursion_limit_alone() -> None:
    """py_ecc raises it to 100 000 at import; with that limit, deep JSON segfaults."""
    code = (
        "import sys; before = sys.getrecursionlimit();"
        "import marketplace.wallet, marketplace.eip712, bot.cli.app;"
        "print(before, sys.getrecursionlimit())"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    before, after = done.stdout.split()
    assert before == after


def test_deep_json_never_crashes_even_with_a_raised_limit() -> None:
    code = (
        "import sys; sys.setrecursionlimit(100000)\n"
        "from storage.net import safe_json\n"
        "try:\n"
        "    safe_json.loads(b'[' * 400000, source='s')\n"
        "except safe_json.JsonTooDeep as exc:\n"
        "    print('refused', exc.reason)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert done.returncode == 0, (done.returncode, done.stderr)
    assert done.stdout.startswith("refused JSON nested 400000 levels deep")


# --- bounded exchanges -----------------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[ImageServer]:
    with ImageServer() as running:
        yield running


def _http(**limits: float) -> BoundedHttp:
    return BoundedHttp(HttpLimits(**limits))  # type: ignore[arg-type]


def gzip_bomb(decoded_bytes: int) -> bytes:
    return gzip.compress(b"\0" * decoded_bytes, compresslevel=9)


def serve_gzip(body: bytes) -> object:
    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Encoding", "gzip")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return route


def drip(
    interval_s: float, *, in_headers: bool = False, content_type: str = "application/json"
) -> object:
    """One byte every `interval_s` seconds, for as long as the client listens."""

    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.close_connection = True
        if in_headers:
            stream = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000
        else:
            handler.send_response(200)
            handler.send_header("Content-Type", content_type)
            handler.end_headers()
            handler.wfile.flush()
            stream = b"[" + b"1," * 10_000
        try:
            for byte in stream:
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
                time.sleep(interval_s)
        except OSError:
            pass  # the client gave up, as it should

    return route


def test_a_gzip_bomb_stops_at_the_decoded_cap(server: ImageServer) -> None:
    server.routes["/bomb"] = serve_gzip(gzip_bomb(20_000_000))  # ~20 KB on the wire
    http = _http(max_body_bytes=1_000_000)
    with pytest.raises(ResponseTooLarge, match="over the 1000000-byte cap; stopped reading"):
        http.request("GET", server.url + "/bomb")


def test_an_endless_body_stops_at_the_cap(server: ImageServer) -> None:
    server.routes["/endless"] = endless(b"x" * 65536, 2**30)
    with pytest.raises(ResponseTooLarge):
        _http(max_body_bytes=500_000).request("GET", server.url + "/endless")


def test_a_declared_length_over_the_cap_is_refused_before_reading(server: ImageServer) -> None:
    server.routes["/big"] = serve(b"x" * 2000, "application/json")
    with pytest.raises(ResponseTooLarge, match="Content-Length 2000"):
        _http(max_body_bytes=1000).request("GET", server.url + "/big")


@pytest.mark.parametrize("in_headers", [False, True], ids=["body", "headers"])
def test_a_dripping_server_hits_the_total_deadline(server: ImageServer, in_headers: bool) -> None:
    server.routes["/drip"] = drip(0.2, in_headers=in_headers)
    # The drip would take ~2000 s: without the deadline the suite's per-test timeout fails it.
    with pytest.raises(DeadlineExceeded, match=r"1\.5 s deadline"):
        _http(timeout_s=1.0, deadline_s=1.5).request("GET", server.url + "/drip")


class _HeaderLog:
    def __init__(self) -> None:
        self.seen: list[dict[str, str]] = []
        self.lock = threading.Lock()

    def route(self, body: bytes = b'{"ok": true}') -> object:
        def route(handler: BaseHTTPRequestHandler) -> None:
            with self.lock:
                self.seen.append({k.lower(): v for k, v in handler.headers.items()})
            serve(body, "application/json")(handler)

        return route


def test_credentials_never_follow_a_redirect_to_another_origin(server: ImageServer) -> None:
    log = _HeaderLog()
    with ImageServer() as other:  # another port: another origin
        other.routes["/items"] = log.route()
        server.routes["/items"] = redirect(other.url + "/items")
        server.routes["/same"] = redirect("/final")
        server.routes["/final"] = log.route()
        http = _http()
        answer, body = http.request("GET", server.url + "/items", credentials={"X-API-KEY": "k"})
        assert body == b'{"ok": true}' and not answer.credentials_sent
        assert "x-api-key" not in log.seen[-1]
        # Same origin: the key goes along.
        answer, _ = http.request("GET", server.url + "/same", credentials={"X-API-KEY": "k"})
        assert answer.credentials_sent and log.seen[-1]["x-api-key"] == "k"


def test_redirects_to_forbidden_addresses_are_refused(server: ImageServer) -> None:
    server.routes["/meta"] = redirect("http://169.254.169.254/latest/meta-data/")
    with pytest.raises(RedirectRefused, match="link-local"):
        _http().request("GET", server.url + "/meta", credentials={"X-API-KEY": "k"})
    # A loopback API may redirect within loopback (tests run there); a client that refuses
    # private addresses (a public API's view) may not.
    with ImageServer() as other:
        other.routes["/x"] = serve(b"{}", "application/json")
        server.routes["/hop"] = redirect(other.url + "/x")
        assert _http().request("GET", server.url + "/hop")[1] == b"{}"
        strict = BoundedHttp(HttpLimits(), allow_private=False)
        with pytest.raises(RedirectRefused, match="loopback address"):
            strict.request("GET", server.url + "/hop")
    server.routes["/ftp"] = redirect("ftp://example.org/x")
    with pytest.raises(RedirectRefused, match="non-HTTP"):
        _http().request("GET", server.url + "/ftp")
    server.routes["/loop"] = redirect("/loop")
    with pytest.raises(RedirectRefused, match="more than 5 redirects"):
        _http().request("GET", server.url + "/loop")
