"""A local Rarible API for tests: the real paths and JSON shapes, on 127.0.0.1 only.

It checks what Rarible checks before it stores anything (`rarible_checks.py`): the Mint721
signature recovers to creators[0] (every creator, in fact), the token id starts with the first
creator's address, creators sum to 10000, royalties stay below 10000 and (ExchangeV2's rule for
every sale) at most 5000, the order signature recovers to the maker, the order data type is one
ExchangeV2 still accepts.

Bids are signed orders posted to `POST /v0.1/order/orders` like sell orders (make an ERC-20,
take the NFT: its lazy form while it is lazy), checked the same way; or placed directly with
`place_bid` (unsigned, for sync tests; these market-side actions live in `rarible_market.py`,
the injected faults in `rarible_faults.py`). A purchase happens on-chain in reality, so tests run
it with `fill_order(hash, taker)`, which does what ExchangeV2's match does to the indexer's
view: the order must be active and in its time window, the seller must own the item; the order
becomes FILLED, the item changes owner (and stops being lazy), the seller's other sell orders
go INACTIVE, and a SELL activity (SELL or ACCEPT_BID, with both order hashes and the price the
order states) joins the feed. `record_sale` adds a bare activity. The protocol fees the API
reports (`GET /v0.1/orders/settings/fees`) are `order_fees`; USD prices come from `usd_rates`.

Tests inject faults: 429, 500, timeouts, a 500 after the request was actually stored, and a
hang after storing (for kill -9 tests); or random faults at a given rate (`random_faults`), and a
latency on every write (a slow marketplace: the request is stored only after the delay). What
the market holds is counted on the server's side (`items_per_uri`, `live_orders_per_item`), so
the tests and the crash benchmark check it independently of the bot's database.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.marketplace.rarible_checks import Invalid, RaribleChecks, as_address
from tests.marketplace.rarible_faults import WRITE_PATHS, Fault, RandomFaults
from tests.marketplace.rarible_market import SEPOLIA_WETH as SEPOLIA_WETH  # tests import it here
from tests.marketplace.rarible_market import MarketActions, eth_units, now_iso

SEPOLIA_CHAIN_ID = 11155111
SEPOLIA_EXCHANGE = "0x3e52D660b69d1bDacb6C513cE085D924F5Cb9c77"
SEPOLIA_COLLECTION = "0xe10605b2026884aCc669C2A9Cd4A5ec5f5FFf494"
NFT_CLASSES = ("ERC721", "ERC721_LAZY")
# What the live API lists (OrderType names), each 0 bps until a test says otherwise.
ORDER_TYPES = (
    "RARIBLE_V1",
    "RARIBLE_V2",
    "OPEN_SEA_V1",
    "SEAPORT_V1",
    "LOOKSRARE",
    "LOOKSRARE_V2",
    "CRYPTO_PUNKS",
    "AMM",
    "X2Y2",
    "BLUR",
)


class RaribleState(MarketActions, RaribleChecks):
    """Everything the fake marketplace knows; guarded by one lock."""

    def __init__(self, *, chain_id: int, exchange: str, collections: set[str], api_key: str | None):
        super().__init__(chain_id=chain_id, exchange=exchange, collections=collections)
        self.lock = threading.Lock()
        self.api_key = api_key
        self.items: dict[str, dict[str, Any]] = {}
        self.orders: dict[str, dict[str, Any]] = {}
        self.bids: dict[str, dict[str, Any]] = {}
        self.activities: list[dict[str, Any]] = []
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str]] = []
        self.mint_posts = 0
        self.order_posts = 0
        self.token_serials: dict[str, int] = {}
        self.stored_then_hanging = threading.Event()  # set by either hang fault
        self.stopping = threading.Event()
        self.random_faults: RandomFaults | None = None
        self.write_latency_s = 0.0  # a slow marketplace: writes are stored after this delay
        self.order_fees: dict[str, int] = dict.fromkeys(ORDER_TYPES, 0)
        self.usd_rates: dict[str, Decimal] = {}  # "ETH" or an ERC-20 address -> USD per unit

    # --- what the market holds, counted here (independent of the bot) --------------------------

    def items_per_uri(self) -> dict[str, int]:
        """Token uri (one per artwork: its metadata CID) -> items minted with it."""
        with self.lock:
            counts: dict[str, int] = {}
            for item in self.items.values():
                uri = item["lazy"]["uri"]
                counts[uri] = counts.get(uri, 0) + 1
            return counts

    def live_orders_per_item(self) -> dict[str, int]:
        """Item id -> ACTIVE sell orders on it."""
        with self.lock:
            counts: dict[str, int] = {}
            for order in self.orders.values():
                if order["status"] != "ACTIVE":
                    continue
                asset = order["make"]["assetType"]
                item_id = f"{asset['contract'].lower()}:{int(asset['tokenId'])}"
                counts[item_id] = counts.get(item_id, 0) + 1
            return counts

    def add_fault(self, method: str, path_prefix: str, kind: str, times: int = 1) -> None:
        with self.lock:
            self.faults.append(Fault(method, path_prefix, kind, times))

    def take_fault(self, method: str, path: str) -> str | None:
        with self.lock:
            for fault in self.faults:
                if (
                    fault.method == method
                    and path.startswith(fault.path_prefix)
                    and fault.remaining
                ):
                    fault.remaining -= 1
                    return fault.kind
            if self.random_faults is not None:
                return self.random_faults.draw(method, path)
        return None


def _page(items: list[dict[str, Any]], query: dict[str, list[str]]) -> dict[str, Any]:
    size = int(query.get("size", ["50"])[0])
    offset = int(query.get("continuation", ["0"])[0])
    chunk = items[offset : offset + size]
    body: dict[str, Any] = {"orders": chunk}
    if offset + size < len(items):
        body["continuation"] = str(offset + size)
    return body


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stalls

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        return

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        state = self.server.state
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"null") if length else None
        with state.lock:
            state.requests.append((method, url.path))
        if state.api_key and self.headers.get("X-API-KEY") != state.api_key:
            self._send(401, {"code": "UNAUTHORIZED", "message": "missing or invalid X-API-KEY"})
            return
        fault = state.take_fault(method, url.path)
        if fault == "429":
            self._send(
                429, {"code": "TOO_MANY_REQUESTS", "message": "slow down"}, {"Retry-After": "0"}
            )
            return
        if fault == "500":
            self._send(500, {"code": "UNKNOWN", "message": "injected failure"})
            return
        if fault == "404":  # a lookup that lags behind what was stored (eventual consistency)
            self._send(404, {"code": "NOT_FOUND", "message": "not indexed yet"})
            return
        if fault == "hang_before_store":  # the request arrived; the process dies before storing
            state.stored_then_hanging.set()
            state.stopping.wait(120)
            return
        if fault == "timeout":
            state.stopping.wait(self.server.timeout_fault_s)
            self._send(500, {"code": "UNKNOWN", "message": "too late"})
            return
        if method == "POST" and url.path in WRITE_PATHS and state.write_latency_s:
            state.stopping.wait(state.write_latency_s)  # slow: stored only after the delay
        try:
            status, response = self._route(method, url.path, query, body)
        except Invalid as exc:
            self._send(exc.status, {"code": exc.code, "message": exc.message})
            return
        except (KeyError, ValueError, TypeError) as exc:
            self._send(400, {"code": "VALIDATION", "message": f"bad request: {exc!r}"})
            return
        if fault == "500_after_store":
            self._send(500, {"code": "UNKNOWN", "message": "stored, then failed"})
            return
        if fault == "hang_after_store":
            state.stored_then_hanging.set()
            state.stopping.wait(120)
            return
        self._send(status, response)

    def _check_nft_form(self, item: dict[str, Any], asset_type: dict[str, Any]) -> None:
        """A lazy item is traded in its lazy form (the SDK converts it), a minted one plain."""
        lazy = item["lazySupply"] != "0"
        if lazy and asset_type["assetClass"] != "ERC721_LAZY":
            raise Invalid("VALIDATION", f"item {item['id']} is lazy: use its ERC721_LAZY form")
        if not lazy and asset_type["assetClass"] != "ERC721":
            raise Invalid("VALIDATION", f"item {item['id']} is minted: ERC721_LAZY is refused")
        if lazy and any(
            asset_type.get(key) != item["lazy"][key]
            for key in ("uri", "creators", "royalties", "signatures")
        ):
            raise Invalid("VALIDATION", f"lazy data differs from item {item['id']}")

    def _store_bid(self, order_hash: str, body: dict[str, Any]) -> dict[str, Any]:
        """A bid: an ERC-20 (WETH) offered for one NFT, by someone who does not own it."""
        state = self.server.state
        make, take = body["make"], body["take"]
        if make["assetType"]["assetClass"] != "ERC20":
            raise Invalid("VALIDATION", "a bid must offer an ERC-20 (WETH): ETH cannot be pulled")
        if int(take["value"]) != 1 or int(make["value"]) <= 0:
            raise Invalid("VALIDATION", "a bid takes one ERC-721 for a positive amount")
        asset = take["assetType"]
        item_id = f"{asset['contract'].lower()}:{int(asset['tokenId'])}"
        item = state.items.get(item_id)
        if item is None:
            raise Invalid("VALIDATION", f"item {item_id} not found")
        self._check_nft_form(item, asset)
        if item["owner"] == body["maker"].lower():
            raise Invalid("VALIDATION", "the owner cannot bid on their own item")
        with state.lock:
            bid = state.bids.get(order_hash) or {"createdAt": now_iso()}
            bid.update(body)
            bid.update(
                hash=order_hash,
                maker=body["maker"].lower(),
                make={**make, "valueDecimal": eth_units(make["value"])},
                take={**take, "valueDecimal": str(int(take["value"]))},
                status="ACTIVE",
                cancelled=False,
                fill="0",
                makeStock=make["value"],
                lastUpdateAt=now_iso(),
            )
            state.bids[order_hash] = bid
            return bid

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], body: Any
    ) -> tuple[int, Any]:
        state = self.server.state
        parts = path.strip("/").split("/")
        if (
            method == "GET"
            and path.startswith("/v0.1/nft/collections/")
            and parts[-1] == "generate_token_id"
        ):
            collection = parts[3].lower()
            if collection not in state.collections:
                return 404, {"code": "NOT_FOUND", "message": "collection"}
            minter = as_address(query["minter"][0])
            with state.lock:
                serial = state.token_serials.get(minter, 1000) + 1
                state.token_serials[minter] = serial
            token_id = (int(minter, 16) << 96) | serial
            return 200, {"tokenId": str(token_id), "signature": {"v": 27, "r": "0x00", "s": "0x00"}}
        if method == "GET" and path.startswith("/v0.1/nft/collections/") and len(parts) == 4:
            collection = parts[3].lower()
            if collection not in state.collections:
                return 404, {"code": "NOT_FOUND", "message": f"Collection {collection} not found"}
            return 200, {  # the indexer's NftCollection for Rarible's shared lazy-mint contract
                "id": collection,
                "type": "ERC721",
                "name": "Rarible",
                "symbol": "RARI",
                "features": ["APPROVE_FOR_ALL", "SECONDARY_SALE_FEES", "MINT_AND_TRANSFER"],
                "supportsLazyMint": True,
            }
        if method == "POST" and path == "/v0.1/nft/mints":
            with state.lock:
                state.mint_posts += 1
            state.verify_lazy(body)
            item_id = f"{body['contract'].lower()}:{int(body['tokenId'])}"
            with state.lock:
                if item_id in state.items:
                    raise Invalid("VALIDATION", f"item {item_id} already exists")
                item = {
                    "id": item_id,
                    "contract": body["contract"].lower(),
                    "tokenId": str(int(body["tokenId"])),
                    "creators": body["creators"],
                    "royalties": body["royalties"],
                    "supply": "1",
                    "lazySupply": "1",
                    "owner": body["creators"][0]["account"].lower(),
                    "deleted": False,
                    "mintedAt": now_iso(),
                    "lastUpdatedAt": now_iso(),
                    "lazy": body,
                }
                state.items[item_id] = item
            return 200, {k: v for k, v in item.items() if k != "lazy"}
        if method == "GET" and path.startswith("/v0.1/nft/items/"):
            item = state.items.get(parts[3].lower())
            if item is None:
                return 404, {"code": "NOT_FOUND", "message": f"item {parts[3]} not found"}
            if parts[-1] == "lazy":
                return 200, item["lazy"]
            return 200, {k: v for k, v in item.items() if k != "lazy"}
        if method == "POST" and path == "/v0.1/order/orders":
            with state.lock:
                state.order_posts += 1
            order_hash = state.verify_order(body)
            make_type, take_type = body["make"]["assetType"], body["take"]["assetType"]
            if make_type["assetClass"] not in NFT_CLASSES:
                if take_type["assetClass"] not in NFT_CLASSES:
                    raise Invalid("VALIDATION", "an order must sell or buy an NFT")
                return 200, self._store_bid(order_hash, body)
            item_id = f"{make_type['contract'].lower()}:{int(make_type['tokenId'])}"
            item = state.items.get(item_id)
            if item is None:
                raise Invalid("VALIDATION", f"lazy item {item_id} is unknown")
            self._check_nft_form(item, make_type)
            if item["owner"] != body["maker"].lower():
                raise Invalid("VALIDATION", f"maker does not own item {item_id}")
            with state.lock:
                order = state.orders.get(order_hash) or {"createdAt": now_iso()}
                order.update(body)
                order.update(
                    hash=order_hash,
                    status="ACTIVE",
                    fill="0",
                    makeStock=body["make"]["value"],
                    cancelled=False,
                    lastUpdateAt=now_iso(),
                )
                state.orders[order_hash] = order
            return 200, order
        if method == "GET" and path.startswith("/v0.1/order/orders/") and len(parts) == 4:
            order = state.orders.get(parts[3].lower()) or state.bids.get(parts[3].lower())
            if order is None:
                return 404, {"code": "NOT_FOUND", "message": f"order {parts[3]} not found"}
            return 200, order
        if method == "GET" and path == "/v0.1/order/orders/sell/byItem":
            matches = [
                o
                for o in state.orders.values()
                if o["make"]["assetType"].get("contract") == query["contract"][0].lower()
                and o["make"]["assetType"].get("tokenId") == query["tokenId"][0]
            ]
            return 200, _page(matches, query)
        if method == "GET" and path == "/v0.1/order/orders/bids/byItemAndByStatus":
            statuses = set(query.get("status", []))
            matches = [
                b
                for b in state.bids.values()
                if b["take"]["assetType"]["contract"] == query["contract"][0].lower()
                and b["take"]["assetType"]["tokenId"] == query["tokenId"][0]
                and (not statuses or b["status"] in statuses)
            ]
            return 200, _page(matches, query)
        if method == "GET" and path == "/v0.1/orders/settings/fees":
            if not query.get("blockchain"):
                raise Invalid("VALIDATION", "Param 'blockchain' is required")
            if query["blockchain"][0] != "ETHEREUM":
                return 404, {"code": "NOT_FOUND", "message": "Settings are not found"}
            with state.lock:
                return 200, {"fees": dict(state.order_fees)}
        if method == "POST" and path == "/v0.1/activities/search":
            wanted = {u.lower() for u in body["filter"].get("users", {}).get("from", [])}
            types = set(body["filter"].get("types", []))
            items = {i.lower() for i in body["filter"].get("items", [])}

            def item_of(activity: dict[str, Any]) -> str:
                nft = activity["nft"]["type"]
                return f"{nft['contract']}:{int(nft['tokenId'])}".lower()

            matches = [
                a
                for a in state.activities
                if (not wanted or a["seller"].lower() in wanted)
                and (not types or a["@type"] in types)
                and (not items or item_of(a) in items)
            ]
            offset = int(body.get("cursor") or 0)
            size = int(body.get("size", 50))
            chunk = matches[offset : offset + size]
            response: dict[str, Any] = {"activities": chunk}
            if chunk:
                response["cursor"] = str(offset + len(chunk))
            return 200, response
        return 404, {"code": "NOT_FOUND", "message": f"no route {method} {path}"}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, state: RaribleState, timeout_fault_s: float) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state
        self.timeout_fault_s = timeout_fault_s

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # a client killed mid-request (the kill -9 tests): nothing to report
        super().handle_error(request, client_address)


@contextmanager
def running_rarible_server(
    *,
    chain_id: int = SEPOLIA_CHAIN_ID,
    exchange: str = SEPOLIA_EXCHANGE,
    collections: set[str] | None = None,
    api_key: str | None = None,
    timeout_fault_s: float = 3.0,
) -> Iterator[tuple[str, RaribleState]]:
    """Start the server on 127.0.0.1 (a free port); yields (base_url, state); always stops it."""
    state = RaribleState(
        chain_id=chain_id,
        exchange=exchange,
        collections=collections or {SEPOLIA_COLLECTION},
        api_key=api_key,
    )
    server = _Server(state, timeout_fault_s)
    thread = threading.Thread(target=server.serve_forever, name="rarible-test-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        state.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
