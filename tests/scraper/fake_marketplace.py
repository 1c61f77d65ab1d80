"""A local marketplace API server for tests and benchmarks: Rarible multichain and OpenSea v2
paths with their JSON shapes, continuation paging, an API-key check, per-request latency,
scripted faults (429 + Retry-After, 500, slow, malformed JSON) and a server-side request log.

It binds 127.0.0.1 only. Item data is generated (`rarible_item`, `opensea_listing`, ...) so
that a test can change one item's price and see the scraper notice.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

API_KEY = "test-key-0123456789"


@dataclass
class Fault:
    kind: str  # an HTTP status ("429" honours retry_after), "slow", "malformed", "quota-exhausted"
    retry_after: str | None = None
    delay_s: float = 0.0


@dataclass
class RequestRecord:
    at: float  # time.monotonic() when the request arrived
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    status: int = 0


@dataclass
class FakeMarketplace:
    rarible_items: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    opensea_listings: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    opensea_events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    opensea_nfts: dict[str, dict[str, Any]] = field(default_factory=dict)  # "chain/addr/id"
    latency_s: float = 0.0
    faults: dict[str, deque[Fault]] = field(default_factory=dict)  # path prefix -> faults
    requests: list[RequestRecord] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_fault(self, path_prefix: str, fault: Fault, times: int = 1) -> None:
        with self.lock:
            self.faults.setdefault(path_prefix, deque()).extend([fault] * times)

    def take_fault(self, path: str) -> Fault | None:
        with self.lock:
            for prefix, queue in self.faults.items():
                if path.startswith(prefix) and queue:
                    return queue.popleft()
        return None

    def paths(self, prefix: str) -> list[RequestRecord]:
        with self.lock:
            return [r for r in self.requests if r.path.startswith(prefix)]


# --- JSON shapes ----------------------------------------------------------------------------


def rarible_item(
    collection: str, token: int, *, price: str | None = "0.5", image: str | None = None
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": f"{collection}:{token}",
        "blockchain": "ETHEREUM",
        "collection": collection,
        "contract": collection,
        "tokenId": str(token),
        "creators": [{"account": f"ETHEREUM:0x{token:040x}", "value": 10000}],
        "lazySupply": "0",
        "supply": "1",
        "mintedAt": "2024-03-01T10:00:00Z",
        "lastUpdatedAt": "2024-03-02T10:00:00Z",
        "deleted": False,
        "meta": {
            "name": f"Piece #{token}",
            "description": "generated for tests",
            "content": [
                {
                    "@type": "IMAGE",
                    "url": f"https://img.example/{token}-preview.png",
                    "representation": "PREVIEW",
                    "mimeType": "image/png",
                },
                {
                    "@type": "IMAGE",
                    "url": image or f"ipfs://bafybeigdyrzt{token:08d}/image.png",
                    "representation": "ORIGINAL",
                    "mimeType": "image/png",
                },
            ],
            "attributes": [],
        },
        "itemCollection": {"id": collection, "name": "Test Series"},
        "bestSellOrder": None,
        "bestBidOrder": None,
        "lastSale": None,
        "version": 1,
    }
    if price is not None:
        item["bestSellOrder"] = {
            "id": f"ETHEREUM:0x{token:064x}",
            "platform": "RARIBLE",
            "status": "ACTIVE",
            "createdAt": "2024-03-05T12:00:00Z",
            "lastUpdatedAt": "2024-03-05T12:00:00Z",
            "makePrice": price,
            "makePriceUsd": "1500.25",
            "maker": f"ETHEREUM:0x{token:040x}",
            "make": {
                "type": {"@type": "ERC721", "contract": collection, "tokenId": str(token)},
                "value": "1",
            },
            "take": {"type": {"@type": "ETH", "blockchain": "ETHEREUM"}, "value": price},
        }
    return item


def opensea_listing(contract: str, token: int, wei: str) -> dict[str, Any]:
    return {
        "order_hash": f"0x{token:064x}",
        "chain": "ethereum",
        "type": "basic",
        "price": {"current": {"currency": "ETH", "decimals": 18, "value": wei}},
        "protocol_data": {
            "parameters": {
                "offerer": "0x" + "ab" * 20,
                "offer": [
                    {
                        "itemType": 2,
                        "token": contract,
                        "identifierOrCriteria": str(token),
                        "startAmount": "1",
                        "endAmount": "1",
                    }
                ],
                "consideration": [],
                "startTime": "1709640000",
                "endTime": "1712318400",
                "orderType": 0,
            },
            "signature": None,
        },
        "protocol_address": "0x0000000000000068f116a894984e2db1123eb395",
        "remaining_quantity": 1,
    }


def opensea_nft(contract: str, token: int, slug: str) -> dict[str, Any]:
    return {
        "identifier": str(token),
        "collection": slug,
        "contract": contract,
        "token_standard": "erc721",
        "name": f"OS Piece #{token}",
        "description": "",
        "image_url": f"https://img.example/os/{token}.png",
        "metadata_url": None,
        "is_disabled": False,
        "is_nsfw": False,
    }


def opensea_sale(contract: str, token: int, slug: str, wei: str, at: int) -> dict[str, Any]:
    return {
        "event_type": "sale",
        "order_hash": f"0x{token:064x}",
        "chain": "ethereum",
        "protocol_address": "0x0000000000000068f116a894984e2db1123eb395",
        "closing_date": at,
        "nft": opensea_nft(contract, token, slug),
        "quantity": 1,
        "seller": "0x" + "11" * 20,
        "buyer": "0x" + "22" * 20,
        "payment": {
            "quantity": wei,
            "token_address": "0x0000000000000000000000000000000000000000",
            "decimals": 18,
            "symbol": "ETH",
        },
        "transaction": f"0x{token:064x}",
        "event_timestamp": at,
    }


# --- the server -----------------------------------------------------------------------------


Json = dict[str, Any]
Query = dict[str, list[str]]


def _page(
    items: list[Json], key: Callable[[Json], str], query: Query, cursor: str, size: str, dflt: int
) -> tuple[list[Json], str | None]:
    """Continuation = the key of the last item returned, as the real APIs use an item key."""
    count = int(query.get(size, [str(dflt)])[0])
    start = 0
    after = query.get(cursor, [None])[0]
    if after:
        keys = [key(item) for item in items]
        start = keys.index(after) + 1 if after in keys else len(items)
    chunk = items[start : start + count]
    more = start + count < len(items)
    return chunk, (key(chunk[-1]) if chunk and more else None)


def _opensea_key(listing: dict[str, Any]) -> str:
    return str(listing.get("order_hash") or listing.get("transaction"))


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, *_args: object) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        market = self.server.market
        parts = urlsplit(self.path)
        record = RequestRecord(
            time.monotonic(), "GET", parts.path, parse_qs(parts.query), dict(self.headers)
        )
        with market.lock:
            market.requests.append(record)
        if market.latency_s:
            time.sleep(market.latency_s)
        status, body, headers = self._route(parts.path, record.query, record.headers)
        record.status = status
        self._send(status, body, headers)

    def _route(self, path: str, query: Query, headers: dict[str, str]) -> tuple[int, bytes, Json]:
        market = self.server.market
        key = headers.get("X-API-KEY") or headers.get("x-api-key")
        if key is None:
            return 401, b'{"code":"UNAUTHORIZED","message":"API key required"}', {}
        if key != API_KEY:
            return 403, b'{"code":"FORBIDDEN","message":"Invalid API key"}', {}
        fault = market.take_fault(path)
        if fault is not None:
            if fault.kind == "429":
                extra = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                return 429, b'{"code":"TOO_MANY_REQUESTS"}', extra
            if fault.kind.isdigit():
                return int(fault.kind), b'{"code":"UNEXPECTED_API_ERROR"}', {}
            if fault.kind == "slow":
                time.sleep(fault.delay_s)
            if fault.kind == "malformed":
                return 200, b'{"items": [{"id": "ETHEREUM:0x', {}
            if fault.kind == "quota-exhausted":  # a normal answer that says "stop for a bit"
                status, body, _ = self._answer(path, query)
                return status, body, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1"}
        return self._answer(path, query)

    def _answer(self, path: str, query: Query) -> tuple[int, bytes, Json]:
        market = self.server.market
        if path == "/v0.1/items/byCollection":
            collection = query.get("collection", [""])[0]
            items = market.rarible_items.get(collection, [])
            chunk, nxt = _page(items, lambda i: i["id"], query, "continuation", "size", 50)
            payload: dict[str, Any] = {"items": chunk}
            if nxt:
                payload["continuation"] = nxt
            return 200, json.dumps(payload).encode(), {}
        if path == "/v0.1/currencies/all":
            currencies = [
                {"currencyId": "ETHEREUM:0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2",
                 "symbol": "WETH", "decimals": 18},
            ]  # fmt: skip
            return 200, json.dumps({"currencies": currencies}).encode(), {}
        if path.startswith("/api/v2/listings/collection/") and path.endswith("/all"):
            slug = path.split("/")[5]
            listings = market.opensea_listings.get(slug, [])
            chunk, nxt = _page(listings, _opensea_key, query, "next", "limit", 100)
            return 200, json.dumps({"listings": chunk, "next": nxt}).encode(), {}
        if path.startswith("/api/v2/events/collection/"):
            slug = path.split("/")[5]
            events = market.opensea_events.get(slug, [])
            chunk, nxt = _page(events, _opensea_key, query, "next", "limit", 50)
            return 200, json.dumps({"asset_events": chunk, "next": nxt}).encode(), {}
        if path.startswith("/api/v2/chain/"):
            _, _, _, _, chain, _, contract, _, token = path.split("/")
            nft = market.opensea_nfts.get(f"{chain}/{contract}/{token}")
            if nft is None:
                return 404, b'{"errors":["not found"]}', {}
            return 200, json.dumps({"nft": nft}).encode(), {}
        return 404, b'{"code":"NOT_FOUND"}', {}

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    market: FakeMarketplace

    def handle_error(self, request: object, client_address: object) -> None:
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # the client gave up on a slow answer (a timeout test): expected
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class RunningServer:
    """`with RunningServer(market) as server:` -> server.url is http://127.0.0.1:<port>."""

    def __init__(self, market: FakeMarketplace) -> None:
        self.market = market
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.market = market
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> RunningServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
