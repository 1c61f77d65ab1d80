"""HTTP client for the Rarible APIs (rarible.md §1-§3, §7).

Reads retry: 429 (honouring Retry-After), 5xx, timeouts and dropped connections back off
exponentially (1 s, x1.5, +-10 % jitter, capped at 32 s, giving up after 70 s: status-go's
policy). Writes (lazy mint, order upsert) are sent exactly once: a definite refusal raises
`RaribleRejected`; anything that may have stored the item raises `AmbiguousSubmission`, and the
caller must look the item or order up before it sends anything again.

Every exchange is bounded (storage/net/bounded.py): a total deadline per request, a cap on the
decoded body, JSON parsed with a bounded depth, and redirects that never carry the API key to
another origin nor reach link-local or (from a public API) private addresses.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import requests

from storage.net import safe_json
from storage.net.bounded import (
    BoundedHttp,
    DeadlineExceeded,
    HttpLimitError,
    HttpLimits,
)

log = logging.getLogger(__name__)


class RaribleError(Exception):
    """Base class; messages name the request and the reason, never a key."""


class RaribleRejected(RaribleError):
    """The marketplace definitely refused the request (4xx): nothing was stored."""

    def __init__(self, what: str, status: int, detail: str) -> None:
        super().__init__(f"{what} was rejected with HTTP {status}: {detail}")
        self.status = status
        self.detail = detail


class RaribleAuthError(RaribleRejected):
    """401/403: the API key is missing or wrong. Nothing was stored; fix the key, retry later."""


class AmbiguousSubmission(RaribleError):
    """A write failed after it may have reached the marketplace: reconcile before resending."""


class RaribleUnavailable(RaribleError):
    """A read kept failing (rate limit, server errors, network) until the retry budget ran out."""


@dataclass(frozen=True)
class RetryPolicy:
    first_delay_s: float = 1.0
    factor: float = 1.5
    jitter: float = 0.1
    max_delay_s: float = 32.0
    give_up_after_s: float = 70.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay_s)
        base = min(self.first_delay_s * self.factor**attempt, self.max_delay_s)
        return base * (1 + random.uniform(-self.jitter, self.jitter))


def _retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


def _detail(body: bytes, reason: str = "") -> str:
    """What an error answer says, in one short line."""
    try:
        parsed = safe_json.loads(body, source="error body")
    except ValueError:
        return body[:300].decode("utf-8", "replace") or reason or "no body"
    if isinstance(parsed, dict):
        code, message = parsed.get("code"), parsed.get("message")
        if code or message:
            return f"{code or 'ERROR'}: {message or ''}".strip()
    return json.dumps(parsed)[:300]


class RaribleClient:
    """Talks to one network's Ethereum indexer API and Multichain API."""

    def __init__(
        self,
        *,
        indexer_url: str,
        union_url: str,
        api_key: str | None,
        mode: str,
        timeout_s: float = 30.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        user_agent: str = "nftbot",
        deadline_s: float | None = None,
        max_body_bytes: int = 32 * 2**20,
    ) -> None:
        """`deadline_s` bounds one request end to end (default 4 x `timeout_s`)."""
        self.indexer_url = indexer_url.rstrip("/")
        self.union_url = union_url.rstrip("/")
        self.mode = mode
        self.timeout_s = timeout_s
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._http = BoundedHttp(
            HttpLimits(
                timeout_s=timeout_s,
                deadline_s=deadline_s or 4 * timeout_s,
                max_body_bytes=max_body_bytes,
            ),
            user_agent=user_agent,
            accept="application/json",
        )
        # Sent only to the API's own origin, never along a redirect to another one.
        self._credentials = {"X-API-KEY": api_key} if api_key else {}

    def close(self) -> None:
        self._http.close()

    @property
    def claim_ttl_s(self) -> float:
        """A send's worst case: a lookup before it (reads retry for up to `give_up_after_s`,
        plus the last wait and request), the write (connect and read timeouts), a lookup after
        an ambiguous answer, and a margin of 30 s for clocks and the database."""
        lookup = self.retry.give_up_after_s + self.retry.max_delay_s + self.timeout_s
        return 2 * lookup + 2 * self.timeout_s + 30.0

    # --- plumbing -----------------------------------------------------------------------

    def _send(
        self, method: str, url: str, *, params: Any = None, body: Any = None
    ) -> tuple[int, Any, bytes]:
        """One bounded exchange: (status, headers, body)."""
        answer, data = self._http.request(
            method, url, params=params, json_body=body, credentials=self._credentials
        )
        return answer.status, answer.headers, data

    def _read(
        self, method: str, url: str, *, params: Any = None, body: Any = None
    ) -> dict[str, Any] | None:
        """A read with retries; None on 404."""
        started = time.monotonic()
        attempt = 0
        while True:
            problem: str
            retry_after: float | None = None
            try:
                status, headers, data = self._send(method, url, params=params, body=body)
            except DeadlineExceeded:
                problem = "DeadlineExceeded"
            except HttpLimitError as exc:  # too large, a refused redirect: the same next time
                raise RaribleError(f"{method} {_path(url)} refused: {exc.reason}") from None
            except (requests.ConnectionError, requests.Timeout) as exc:
                problem = f"{type(exc).__name__}"
            else:
                if status == 404:
                    return None
                if 200 <= status < 400:
                    try:
                        parsed = safe_json.loads(data, source=f"{method} {_path(url)}")
                    except safe_json.JsonTooDeep as exc:
                        raise RaribleError(str(exc)) from None
                    except safe_json.UnsafeJson:
                        problem = "a body that is not JSON"
                    else:
                        return parsed if isinstance(parsed, dict) else {"items": parsed}
                elif status == 429 or status >= 500:
                    problem = f"HTTP {status}"
                    retry_after = _retry_after(headers)
                else:
                    raise RaribleError(
                        f"{method} {_path(url)} failed with HTTP {status}: {_detail(data)}"
                    )
            delay = self.retry.delay(attempt, retry_after)
            if time.monotonic() - started + delay > self.retry.give_up_after_s:
                raise RaribleUnavailable(
                    f"{method} {_path(url)} still failing after {attempt + 1} attempts: {problem}"
                )
            log.warning("%s %s: %s; retrying in %.1f s", method, _path(url), problem, delay)
            self._sleep(delay)
            attempt += 1

    def _write(self, what: str, url: str, body: dict[str, Any]) -> dict[str, Any]:
        """Send once. Never retried here: see the module docstring."""
        try:
            status, _headers, data = self._send("POST", url, body=body)
        except (requests.ConnectionError, requests.Timeout, DeadlineExceeded) as exc:
            raise AmbiguousSubmission(f"{what}: {type(exc).__name__} while sending") from None
        except HttpLimitError as exc:  # the request went out; its answer was refused
            raise AmbiguousSubmission(f"{what}: answer refused ({exc.reason})") from None
        if status in (401, 403):
            raise RaribleAuthError(what, status, _detail(data))
        if 400 <= status < 500 and status not in (408, 429):
            raise RaribleRejected(what, status, _detail(data))
        if not 200 <= status < 400:
            raise AmbiguousSubmission(f"{what}: HTTP {status} ({_detail(data)})")
        try:
            parsed = safe_json.loads(data, source=what)
        except ValueError:
            raise AmbiguousSubmission(
                f"{what}: HTTP {status} with a body that is not JSON"
            ) from None
        return parsed if isinstance(parsed, dict) else {}

    def _pages(
        self, url: str, params: dict[str, Any], items_key: str, size: int
    ) -> Iterator[dict[str, Any]]:
        continuation: str | None = None
        seen: set[str] = set()
        while True:
            query = {**params, "size": size}
            if continuation:
                query["continuation"] = continuation
            page = self._read("GET", url, params=query) or {}
            yield from page.get(items_key) or []
            continuation = page.get("continuation") or None
            if not continuation or continuation in seen:
                return
            seen.add(continuation)

    # --- lazy mint (Ethereum indexer API, rarible.md §3 and §5) ------------------------------

    def generate_token_id(self, collection: str, minter: str) -> int | None:
        data = self._read(
            "GET",
            f"{self.indexer_url}/v0.1/nft/collections/{collection.lower()}/generate_token_id",
            params={"minter": minter.lower()},
        )
        if data is None:
            raise RaribleError(f"collection {collection} has no token id generator (404)")
        return int(data["tokenId"])

    def mint_lazy(self, body: dict[str, Any]) -> dict[str, Any]:
        what = f"lazy mint of {body.get('contract')}:{body.get('tokenId')}"
        return self._write(what, f"{self.indexer_url}/v0.1/nft/mints", body)

    def get_collection(self, collection: str) -> dict[str, Any] | None:
        """The collection's record, None when unknown: a cheap read that needs the API key."""
        return self._read("GET", f"{self.indexer_url}/v0.1/nft/collections/{collection.lower()}")

    def get_item(self, collection: str, token_id: int) -> dict[str, Any] | None:
        item_id = f"{collection.lower()}:{token_id}"
        return self._read("GET", f"{self.indexer_url}/v0.1/nft/items/{item_id}")

    def get_lazy_item(self, collection: str, token_id: int) -> dict[str, Any] | None:
        item_id = f"{collection.lower()}:{token_id}"
        return self._read("GET", f"{self.indexer_url}/v0.1/nft/items/{item_id}/lazy")

    # --- orders -----------------------------------------------------------------------------

    def upsert_order(self, form: dict[str, Any], *, order_hash: str) -> dict[str, Any]:
        what = f"order {order_hash} upsert by {form.get('maker')}"
        return self._write(what, f"{self.indexer_url}/v0.1/order/orders", form)

    def get_order(self, order_hash: str) -> dict[str, Any] | None:
        return self._read("GET", f"{self.indexer_url}/v0.1/order/orders/{order_hash}")

    def sell_orders_by_item(
        self, collection: str, token_id: int, *, size: int = 50
    ) -> Iterator[dict[str, Any]]:
        return self._pages(
            f"{self.indexer_url}/v0.1/order/orders/sell/byItem",
            {"contract": collection.lower(), "tokenId": str(token_id)},
            "orders",
            size,
        )

    def bids_by_item(
        self, collection: str, token_id: int, statuses: tuple[str, ...], *, size: int = 50
    ) -> Iterator[dict[str, Any]]:
        return self._pages(
            f"{self.indexer_url}/v0.1/order/orders/bids/byItemAndByStatus",
            {"contract": collection.lower(), "tokenId": str(token_id), "status": list(statuses)},
            "orders",
            size,
        )

    # --- sales (Multichain API activity search, rarible.md §7) -------------------------------

    def sale_activities(
        self, seller: str, cursor: str | None, *, size: int = 100
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of SELL activities (sales, accepted bids) where `seller` sold, oldest first."""
        return self._sale_search({"users": {"from": [f"ETHEREUM:{seller.lower()}"]}}, cursor, size)

    def item_sale_activities(
        self, collection: str, token_id: int, cursor: str | None, *, size: int = 100
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of SELL activities of one item, whoever sold it (later owners' resales
        pay us royalties), oldest first."""
        item = f"ETHEREUM:{collection.lower()}:{token_id}"
        return self._sale_search({"items": [item]}, cursor, size)

    def _sale_search(
        self, selector: dict[str, Any], cursor: str | None, size: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        body: dict[str, Any] = {
            "size": size,
            "filter": {"blockchains": ["ETHEREUM"], "types": ["SELL"], **selector},
            "sort": "EARLIEST",
        }
        if cursor:
            body["cursor"] = cursor
        page = self._read("POST", f"{self.union_url}/v0.1/activities/search", body=body) or {}
        return list(page.get("activities") or []), page.get("cursor") or None

    def order_fees(self) -> dict[str, Any] | None:
        """The protocol fees the API reports per order type, in bps (`{"RARIBLE_V2": 200,
        ...}`; rarible.md §2 `GET /v0.1/orders/settings/fees`); None when it has none."""
        data = self._read(
            "GET", f"{self.union_url}/v0.1/orders/settings/fees", params={"blockchain": "ETHEREUM"}
        )
        fees = (data or {}).get("fees")
        return fees if isinstance(fees, dict) else None


def _path(url: str) -> str:
    """The path only: query strings never reach messages or logs."""
    return "/" + url.split("://", 1)[-1].split("/", 1)[-1].split("?", 1)[0]
