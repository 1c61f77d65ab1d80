"""Rarible multichain ("Union") API: the items of a collection with their best sell order,
best bid and last sale (shared/docs/rarible.md §1-§2.1).

`GET /v0.1/items/byCollection?collection=ETHEREUM:0x…&size=&continuation=` pages through a
collection; the Union API has no "sell orders by collection", so each item's `bestSellOrder`
is its ask. Big numbers are JSON strings and stay exact Decimals here.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime
from decimal import Decimal
from typing import Any

from scraper.errors import ItemError, MalformedResponse
from scraper.http import ApiAuth, HttpClient
from scraper.source import Page, PriceSeen, ScrapedListing, exact_decimal, parse_time, require

MAINNET_URL = "https://api.rarible.org/v0.1"
TESTNET_URL = "https://testnet-api.rarible.org/v0.1"
REGISTER_URL = "https://api.rarible.org/registration"
MAX_PAGE_SIZE = 1000

# Native currencies of the chains the Union API serves (`ETH` / `CURRENCY_NATIVE` asset types).
_NATIVE = {
    "ETHEREUM": ("ETH", 18),
    "POLYGON": ("POL", 18),
    "BASE": ("ETH", 18),
    "ARBITRUM": ("ETH", 18),
    "ZKSYNC": ("ETH", 18),
    "FLOW": ("FLOW", 8),
    "TEZOS": ("XTZ", 6),
    "SOLANA": ("SOL", 9),
    "IMMUTABLEX": ("ETH", 18),
}
_IMAGE_PREFERENCE = ("ORIGINAL", "BIG", "PORTRAIT", "PREVIEW")


def rarible_auth(api_key: str | None) -> ApiAuth:
    return ApiAuth("Rarible API", "BOT_RARIBLE_API_KEY", REGISTER_URL, api_key)


class RaribleCurrencies:
    """currencyId -> (symbol, decimals), read once from `/v0.1/currencies/all` when needed."""

    def __init__(self, client: HttpClient, base_url: str, auth: ApiAuth) -> None:
        self._client, self._base_url, self._auth = client, base_url, auth
        self._known: dict[str, tuple[str, int | None]] | None = None
        self._lock = threading.Lock()

    def lookup(self, currency_id: str) -> tuple[str, int | None]:
        with self._lock:
            if self._known is None:
                self._known = self._load()
        return self._known.get(currency_id.lower(), (currency_id, None))

    def _load(self) -> dict[str, tuple[str, int | None]]:
        payload = self._client.get_json(f"{self._base_url}/currencies/all", auth=self._auth)
        known: dict[str, tuple[str, int | None]] = {}
        for entry in payload.get("currencies", []) if isinstance(payload, dict) else []:
            if isinstance(entry, dict) and entry.get("currencyId") and entry.get("symbol"):
                decimals = entry.get("decimals")
                known[str(entry["currencyId"]).lower()] = (
                    str(entry["symbol"]),
                    decimals if isinstance(decimals, int) else None,
                )
        return known


class RaribleCollectionSource:
    """One Rarible collection (`ETHEREUM:0x…`) through the multichain API."""

    name = "rarible"
    marketplace = "rarible"

    def __init__(
        self,
        client: HttpClient,
        collection: str,
        *,
        api_key: str | None,
        base_url: str = MAINNET_URL,
        page_size: int = 100,
        currencies: RaribleCurrencies | None = None,
    ) -> None:
        if ":" not in collection:
            raise ValueError(
                f"Rarible collection {collection!r} needs its blockchain prefix, "
                "e.g. ETHEREUM:0x60f80121c31a0d46b5279700f9df786054aa5ee5"
            )
        self.client = client
        self.collection = collection
        self.base_url = base_url.rstrip("/")
        self.page_size = min(page_size, MAX_PAGE_SIZE)
        self.auth = rarible_auth(api_key)
        self.auth.headers()  # fail now, with the setting's name, when the key is missing
        self.currencies = currencies or RaribleCurrencies(client, self.base_url, self.auth)

    def fetch_page(self, cursor: str | None, size: int | None = None) -> Page:
        url = f"{self.base_url}/items/byCollection"
        params: dict[str, Any] = {
            "collection": self.collection,
            "size": max(1, min(size or self.page_size, self.page_size)),
        }
        if cursor:
            params["continuation"] = cursor
        payload = self.client.get_json(url, params, auth=self.auth)
        if not isinstance(payload, dict) or not isinstance(payload.get("items"), list):
            raise MalformedResponse(url, "expected an object with an 'items' list")
        page = Page(listings=[], next_cursor=payload.get("continuation") or None)
        for index, item in enumerate(payload["items"]):
            label = item.get("id") if isinstance(item, dict) and item.get("id") else None
            label = label or f"{self.collection} page item #{index}"
            try:
                if item.get("deleted"):
                    raise ValueError("item is marked deleted")
                page.listings.append(self.normalise(item))
            except (ValueError, TypeError, AttributeError) as exc:
                page.failures.append(ItemError(f"rarible item {label}", str(exc)))
        return page

    def normalise(self, item: dict[str, Any]) -> ScrapedListing:
        item_id = str(require(item, "id", "item"))
        meta = item.get("meta") or {}
        creators = item.get("creators") or []
        fields: dict[str, Any] = {
            "source": self.name,
            "marketplace": self.marketplace,
            "item_id": item_id,
            "collection": item.get("collection") or self.collection,
            "title": (item.get("itemCollection") or {}).get("name"),
            "name": meta.get("name"),
            "creator": creators[0].get("account") if creators else None,
            "created_at": parse_time(item.get("mintedAt"), "item.mintedAt"),
            "image_uri": _image_url(meta),
            "raw_json": json.dumps(item, sort_keys=True, separators=(",", ":")),
            # Without an active sell order the item is not for sale: the ask is cleared.
            "price": None,
            "currency": None,
            "currency_decimals": None,
            "price_usd": None,
            "listed_at": None,
        }
        order = item.get("bestSellOrder")
        if order and order.get("status", "ACTIVE") == "ACTIVE":
            currency, decimals = self._currency(require(order, "take", "bestSellOrder"))
            fields.update(
                price=exact_decimal(require(order, "makePrice", "bestSellOrder"), "makePrice"),
                currency=currency,
                currency_decimals=decimals,
                price_usd=_optional_decimal(order.get("makePriceUsd"), "makePriceUsd"),
                listed_at=parse_time(
                    order.get("createdAt") or order.get("startedAt"), "bestSellOrder.createdAt"
                ),
            )
        prices: list[PriceSeen] = []
        bid = item.get("bestBidOrder")
        if bid and bid.get("status", "ACTIVE") == "ACTIVE":
            prices.append(self._bid(bid))
        sale = item.get("lastSale")
        if sale:
            currency, decimals = self._currency({"type": require(sale, "currency", "lastSale")})
            prices.append(
                PriceSeen(
                    kind="sale",
                    price=exact_decimal(require(sale, "price", "lastSale"), "lastSale.price"),
                    currency=currency,
                    currency_decimals=decimals,
                    event_at=parse_time(sale.get("date"), "lastSale.date"),
                )
            )
        return ScrapedListing(fields, prices)

    def _bid(self, bid: dict[str, Any]) -> PriceSeen:
        make = require(bid, "make", "bestBidOrder")  # a bid offers currency for the NFT
        take = require(bid, "take", "bestBidOrder")
        amount = exact_decimal(require(make, "value", "bestBidOrder.make"), "bid make.value")
        quantity = exact_decimal(take.get("value", "1"), "bid take.value", zero=False)
        currency, decimals = self._currency(make)
        return PriceSeen(
            kind="bid",
            price=amount / quantity if quantity != 1 else amount,
            currency=currency,
            currency_decimals=decimals,
            price_usd=_optional_decimal(bid.get("takePriceUsd"), "takePriceUsd"),
            event_at=_optional_time(bid.get("lastUpdatedAt") or bid.get("createdAt")),
        )

    def _currency(self, asset: dict[str, Any]) -> tuple[str, int | None]:
        asset_type = require(asset, "type", "asset")
        kind = asset_type.get("@type")
        if kind in ("ETH", "CURRENCY_NATIVE"):
            return _NATIVE.get(str(asset_type.get("blockchain", "ETHEREUM")), (str(kind), None))
        if kind in ("ERC20", "CURRENCY_TOKEN"):
            return self.currencies.lookup(str(require(asset_type, "contract", "asset.type")))
        raise ValueError(f"currency asset type {kind!r} is not a currency")


def _image_url(meta: dict[str, Any]) -> str | None:
    images = [c for c in meta.get("content") or [] if c.get("@type") == "IMAGE" and c.get("url")]
    for representation in _IMAGE_PREFERENCE:
        for content in images:
            if content.get("representation") == representation:
                return str(content["url"])
    return str(images[0]["url"]) if images else None


def _optional_decimal(value: Any, what: str) -> Decimal | None:
    return None if value is None else exact_decimal(value, what)


def _optional_time(value: Any) -> datetime | None:
    try:
        return parse_time(value, "time")
    except ValueError:
        return None
