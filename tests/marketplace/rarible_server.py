"""A local Rarible API for tests: the real paths and JSON shapes, on 127.0.0.1 only.

It checks what Rarible checks before it stores anything (rarible.md §5.2, §6, §9): the Mint721
signature recovers to creators[0] (every creator, in fact), the token id starts with the first
creator's address, creators sum to 10000, royalties stay below 10000, the order signature
recovers to the maker, the order data type is one ExchangeV2 still accepts. The EIP-712 and ABI
encoding here is written independently of `marketplace/` (straight from the contracts' type
strings), so a bug in the bot's encoder makes a signature fail here instead of agreeing with it.

Tests place bids and record sales through methods, and inject faults: 429, 500, timeouts, a
500 after the request was actually stored, and a hang after storing (for kill -9 tests).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from eth_abi import encode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak, to_checksum_address

SEPOLIA_CHAIN_ID = 11155111
SEPOLIA_EXCHANGE = "0x3e52D660b69d1bDacb6C513cE085D924F5Cb9c77"
SEPOLIA_COLLECTION = "0xe10605b2026884aCc669C2A9Cd4A5ec5f5FFf494"
SEPOLIA_WETH = "0xfff9976782d46cc05630d1f6ebab18b2324d6b14"

_DOMAIN = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
_PART = [{"name": "account", "type": "address"}, {"name": "value", "type": "uint96"}]
_DATA_TYPES = {"RARIBLE_V2_DATA_V1": "V1", "RARIBLE_V2_DATA_V2": "V2", "RARIBLE_V2_DATA_V3": "V3"}


class Invalid(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass
class Fault:
    method: str
    path_prefix: str
    kind: str  # 429|500|404|timeout|500_after_store|hang_after_store|hang_before_store
    remaining: int


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _addr(value: Any) -> str:
    return to_checksum_address(str(value).split(":")[-1])


def _parts(items: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [(_addr(p["account"]), int(p["value"])) for p in items]


class RaribleState:
    """Everything the fake marketplace knows; guarded by one lock."""

    def __init__(self, *, chain_id: int, exchange: str, collections: set[str], api_key: str | None):
        self.lock = threading.Lock()
        self.chain_id = chain_id
        self.exchange = to_checksum_address(exchange)
        self.collections = {c.lower() for c in collections}
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

    # --- verification, as Rarible's validators and the contracts do it ----------------------

    def _mint721_typed(self, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "types": {
                "EIP712Domain": _DOMAIN,
                "Mint721": [
                    {"name": "tokenId", "type": "uint256"},
                    {"name": "tokenURI", "type": "string"},
                    {"name": "creators", "type": "Part[]"},
                    {"name": "royalties", "type": "Part[]"},
                ],
                "Part": _PART,
            },
            "primaryType": "Mint721",
            "domain": {
                "name": "Mint721",
                "version": "1",
                "chainId": self.chain_id,
                "verifyingContract": _addr(body["contract"]),
            },
            "message": {
                "tokenId": int(body["tokenId"]),
                "tokenURI": body["uri"],
                "creators": [{"account": a, "value": v} for a, v in _parts(body["creators"])],
                "royalties": [{"account": a, "value": v} for a, v in _parts(body["royalties"])],
            },
        }

    def verify_lazy(self, body: dict[str, Any]) -> None:
        for key in ("contract", "tokenId", "uri", "creators", "royalties", "signatures"):
            if key not in body:
                raise Invalid("VALIDATION", f"missing field {key}")
        if "tokenURI" in body:
            raise Invalid("VALIDATION", "send uri, not tokenURI")
        if str(body["contract"]).lower() not in self.collections:
            raise Invalid("VALIDATION", "collection does not support MINT_AND_TRANSFER")
        token_id = int(body["tokenId"])
        if not 0 <= token_id < 2**256:
            raise Invalid("VALIDATION", f"TokenId {token_id} has invalid hex size")
        creators = _parts(body["creators"])
        if not creators:
            raise Invalid("VALIDATION", "no creators")
        first = to_checksum_address((token_id >> 96).to_bytes(20, "big"))
        if first != creators[0][0]:
            raise Invalid("VALIDATION", f"TokenId {token_id} must start with first creator address")
        if sum(v for _, v in creators) != 10000:
            raise Invalid("VALIDATION", "creators must sum to 10000")
        if len({a for a, _ in creators}) != len(creators):
            raise Invalid("VALIDATION", "NotUniqCreators")
        if sum(v for _, v in _parts(body["royalties"])) >= 10000:
            raise Invalid("VALIDATION", "Royalty total value should be < 10000")
        if len(body["signatures"]) != len(creators):
            raise Invalid("VALIDATION", "InvalidCreatorAndSignatureSize")
        signable = encode_typed_data(full_message=self._mint721_typed(body))
        for (creator, _), signature in zip(creators, body["signatures"], strict=True):
            try:
                recovered = Account.recover_message(signable, signature=signature)
            except Exception:
                recovered = None
            if recovered != creator:
                raise Invalid("INCORRECT_SIGNATURE", f"InvalidCreatorSignature for {creator}")

    def _asset_type(self, form: dict[str, Any]) -> tuple[bytes, bytes]:
        asset_class = form["assetClass"]
        class_id = keccak(text=asset_class)[:4]
        if asset_class == "ETH":
            return class_id, b""
        if asset_class == "ERC20":
            return class_id, encode(["address"], [_addr(form["contract"])])
        if asset_class == "ERC721":
            return class_id, encode(
                ["address", "uint256"], [_addr(form["contract"]), int(form["tokenId"])]
            )
        if asset_class == "ERC721_LAZY":
            self.verify_lazy(form)
            mint = (
                int(form["tokenId"]),
                form["uri"],
                _parts(form["creators"]),
                _parts(form["royalties"]),
                [bytes.fromhex(s[2:]) for s in form["signatures"]],
            )
            tuple_type = "(uint256,string,(address,uint96)[],(address,uint96)[],bytes[])"
            return class_id, encode(["address", tuple_type], [_addr(form["contract"]), mint])
        raise Invalid("VALIDATION", f"asset class {asset_class} not supported here")

    def _order_data(self, data: dict[str, Any]) -> tuple[bytes, bytes]:
        data_type = data.get("dataType")
        if data_type not in _DATA_TYPES:
            raise Invalid("VALIDATION", f"Unknown Order data type {data_type}")
        payouts, fees = _parts(data.get("payouts", [])), _parts(data.get("originFees", []))
        name = _DATA_TYPES[data_type]
        type_id = keccak(text=name)[:4]
        if name == "V1":
            return type_id, encode(["((address,uint96)[],(address,uint96)[])"], [(payouts, fees)])
        return type_id, encode(
            ["((address,uint96)[],(address,uint96)[],bool)"],
            [(payouts, fees, bool(data["isMakeFill"]))],
        )

    def verify_order(self, form: dict[str, Any]) -> str:
        """Checks an OrderForm and returns its hashKey (the order id)."""
        if form.get("type") != "RARIBLE_V2":
            raise Invalid("VALIDATION", f"order type {form.get('type')} not supported")
        make_class, make_data = self._asset_type(form["make"]["assetType"])
        take_class, take_data = self._asset_type(form["take"]["assetType"])
        data_type, data = self._order_data(form["data"])
        salt, start, end = int(form["salt"]), int(form.get("start") or 0), int(form["end"])
        if salt == 0:
            raise Invalid("VALIDATION", "salt 0 orders cannot be posted")
        if end and end < time.time():
            raise Invalid("VALIDATION", "Order end validation failed")
        if end and start > end:
            raise Invalid("VALIDATION", "Order start validation failed")
        taker = _addr(form.get("taker") or "0x" + "00" * 20)
        message = {
            "maker": _addr(form["maker"]),
            "makeAsset": {
                "assetType": {"assetClass": make_class, "data": make_data},
                "value": int(form["make"]["value"]),
            },
            "taker": taker,
            "takeAsset": {
                "assetType": {"assetClass": take_class, "data": take_data},
                "value": int(form["take"]["value"]),
            },
            "salt": salt,
            "start": start,
            "end": end,
            "dataType": data_type,
            "data": data,
        }
        typed = {
            "types": {
                "EIP712Domain": _DOMAIN,
                "AssetType": [
                    {"name": "assetClass", "type": "bytes4"},
                    {"name": "data", "type": "bytes"},
                ],
                "Asset": [
                    {"name": "assetType", "type": "AssetType"},
                    {"name": "value", "type": "uint256"},
                ],
                "Order": [
                    {"name": "maker", "type": "address"},
                    {"name": "makeAsset", "type": "Asset"},
                    {"name": "taker", "type": "address"},
                    {"name": "takeAsset", "type": "Asset"},
                    {"name": "salt", "type": "uint256"},
                    {"name": "start", "type": "uint256"},
                    {"name": "end", "type": "uint256"},
                    {"name": "dataType", "type": "bytes4"},
                    {"name": "data", "type": "bytes"},
                ],
            },
            "primaryType": "Order",
            "domain": {
                "name": "Exchange",
                "version": "2",
                "chainId": self.chain_id,
                "verifyingContract": self.exchange,
            },
            "message": message,
        }
        try:
            recovered = Account.recover_message(
                encode_typed_data(full_message=typed), signature=form["signature"]
            )
        except Exception:
            recovered = None
        if recovered != message["maker"]:
            raise Invalid("INCORRECT_SIGNATURE", "Maker's signature is not valid for V2 order")
        type_hash = keccak(text="AssetType(bytes4 assetClass,bytes data)")

        def asset_hash(class_id: bytes, body: bytes) -> bytes:
            return keccak(
                encode(["bytes32", "bytes4", "bytes32"], [type_hash, class_id, keccak(body)])
            )

        key_types = ["address", "bytes32", "bytes32", "uint256"]
        key_values: list[Any] = [
            message["maker"],
            asset_hash(make_class, make_data),
            asset_hash(take_class, take_data),
            salt,
        ]
        if _DATA_TYPES[form["data"]["dataType"]] != "V1":
            key_types.append("bytes")
            key_values.append(data)
        return "0x" + keccak(encode(key_types, key_values)).hex()

    # --- what tests do to the market ----------------------------------------------------------

    def place_bid(
        self,
        collection: str,
        token_id: int,
        maker: str,
        price_wei: int,
        *,
        currency: str = SEPOLIA_WETH,
        price_usd: str | None = None,
        status: str = "ACTIVE",
    ) -> str:
        with self.lock:
            order_hash = "0x" + keccak(text=f"bid-{len(self.bids)}-{maker}-{token_id}").hex()
            self.bids[order_hash] = {
                "hash": order_hash,
                "type": "RARIBLE_V2",
                "maker": maker.lower(),
                "make": {
                    "assetType": {"assetClass": "ERC20", "contract": currency.lower()},
                    "value": str(price_wei),
                    "valueDecimal": str(price_wei / 10**18),
                },
                "take": {
                    "assetType": {
                        "assetClass": "ERC721_LAZY",
                        "contract": collection.lower(),
                        "tokenId": str(token_id),
                    },
                    "value": "1",
                    "valueDecimal": "1",
                },
                "status": status,
                "cancelled": status == "CANCELLED",
                "fill": "0",
                "makeStock": str(price_wei),
                "takePriceUsd": price_usd,
                "createdAt": _now_iso(),
                "lastUpdateAt": _now_iso(),
            }
            return order_hash

    def set_bid_status(self, order_hash: str, status: str) -> None:
        with self.lock:
            self.bids[order_hash]["status"] = status
            self.bids[order_hash]["cancelled"] = status == "CANCELLED"
            self.bids[order_hash]["lastUpdateAt"] = _now_iso()

    def record_sale(
        self,
        collection: str,
        token_id: int,
        *,
        seller: str,
        buyer: str,
        price_eth: str,
        kind: str = "SELL",
        price_usd: str | None = None,
        reverted: bool = False,
    ) -> str:
        with self.lock:
            activity_id = f"ETHEREUM:{keccak(text=f'sale-{len(self.activities)}').hex()}"
            self.activities.append(
                {
                    "@type": "SELL",
                    "id": activity_id,
                    "date": _now_iso(),
                    "reverted": reverted,
                    "type": kind,
                    "nft": {
                        "type": {
                            "@type": "ERC721_Lazy",
                            "contract": f"ETHEREUM:{collection.lower()}",
                            "tokenId": str(token_id),
                        },
                        "value": "1",
                    },
                    "payment": {
                        "type": {"@type": "ETH", "blockchain": "ETHEREUM"},
                        "value": price_eth,
                    },
                    "buyer": f"ETHEREUM:{buyer.lower()}",
                    "seller": f"ETHEREUM:{seller.lower()}",
                    "price": price_eth,
                    "priceUsd": price_usd,
                    "amountUsd": price_usd,
                    "source": "RARIBLE",
                    "transactionHash": "0x" + keccak(text=activity_id).hex(),
                }
            )
            return activity_id

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
            minter = _addr(query["minter"][0])
            with state.lock:
                serial = state.token_serials.get(minter, 1000) + 1
                state.token_serials[minter] = serial
            token_id = (int(minter, 16) << 96) | serial
            return 200, {"tokenId": str(token_id), "signature": {"v": 27, "r": "0x00", "s": "0x00"}}
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
                    "deleted": False,
                    "mintedAt": _now_iso(),
                    "lastUpdatedAt": _now_iso(),
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
            make_type = body["make"]["assetType"]
            if make_type["assetClass"] == "ERC721_LAZY":
                item_id = f"{make_type['contract'].lower()}:{int(make_type['tokenId'])}"
                if item_id not in state.items:
                    raise Invalid("VALIDATION", f"lazy item {item_id} is unknown")
            with state.lock:
                order = state.orders.get(order_hash) or {"createdAt": _now_iso()}
                order.update(body)
                order.update(
                    hash=order_hash,
                    status="ACTIVE",
                    fill="0",
                    makeStock=body["make"]["value"],
                    cancelled=False,
                    lastUpdateAt=_now_iso(),
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
        if method == "POST" and path == "/v0.1/activities/search":
            wanted = {u.lower() for u in body["filter"].get("users", {}).get("from", [])}
            types = set(body["filter"].get("types", []))
            matches = [
                a
                for a in state.activities
                if (not wanted or a["seller"].lower() in wanted)
                and (not types or a["@type"] in types)
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
