"""OpenSea API v2: a collection's listings, and its sale events (shared/docs/rarible.md §10).

- listings: `GET /api/v2/listings/collection/{slug}/all?limit=&next=` -> `{listings, next}`.
  A listing is a Seaport order: the NFT is `protocol_data.parameters.offer[0]` and the price
  is `price.current {currency, decimals, value}` in base units (wei). Listings carry no name
  or image, so each page's NFTs are looked up (`/api/v2/chain/{chain}/contract/{addr}/nfts/
  {id}`, concurrently, inside the same rate limit) unless `enrich=False`.
- sales: `GET /api/v2/events/collection/{slug}?event_type=sale&limit=&next=` ->
  `{asset_events, next}`; each sale becomes a `sale` price observation of its listing and
  refreshes the listing's name and image, never its ask.

The item id is `<chain>:<contract>:<token id>` with the contract in lower case.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

from scraper.errors import ItemError, MalformedResponse, ScrapeError
from scraper.http import ApiAuth, HttpClient
from scraper.source import (
    Page,
    PriceSeen,
    ScrapedListing,
    exact_decimal,
    parse_time,
    require,
    scaled,
)

log = logging.getLogger(__name__)

BASE_URL = "https://api.opensea.io"
REGISTER_URL = "https://docs.opensea.io/reference/api-keys"
MAX_PAGE_SIZE = 100  # the listings and events endpoints' own maximum `limit`
MARKETPLACE = "opensea"


def opensea_auth(api_key: str | None) -> ApiAuth:
    return ApiAuth("OpenSea API", "BOT_OPENSEA_API_KEY", REGISTER_URL, api_key)


def item_id_for(chain: str, contract: str, token_id: str) -> str:
    return f"{chain.lower()}:{contract.lower()}:{token_id}"


class _OpenSeaSource:
    path: str
    list_key: str

    def __init__(
        self,
        client: HttpClient,
        slug: str,
        *,
        api_key: str | None,
        base_url: str = BASE_URL,
        page_size: int = 50,
    ) -> None:
        if not slug or "/" in slug:
            raise ValueError(f"OpenSea collection slug {slug!r} is not a slug")
        self.client = client
        self.collection = slug
        self.base_url = base_url.rstrip("/")
        self.page_size = min(page_size, MAX_PAGE_SIZE)
        self.auth = opensea_auth(api_key)
        self.auth.headers()  # fail now, with the setting's name, when the key is missing

    def _get_page(self, cursor: str | None, size: int | None, extra: dict[str, Any]) -> Any:
        url = self.base_url + self.path.format(slug=quote(self.collection, safe=""))
        params = {**extra, "limit": max(1, min(size or self.page_size, self.page_size))}
        if cursor:
            params["next"] = cursor
        payload = self.client.get_json(url, params, auth=self.auth)
        if not isinstance(payload, dict) or not isinstance(payload.get(self.list_key), list):
            raise MalformedResponse(url, f"expected an object with a {self.list_key!r} list")
        return payload


class OpenSeaListingsSource(_OpenSeaSource):
    name = "opensea"
    path = "/api/v2/listings/collection/{slug}/all"
    list_key = "listings"

    def __init__(
        self,
        client: HttpClient,
        slug: str,
        *,
        enrich: bool = True,
        needs_details: Callable[[list[str]], set[str]] | None = None,
        **kw: Any,
    ) -> None:
        """`needs_details(item_ids)` says which items still lack a name or image (the CLI
        asks the store), so a new pass spends one request per *new* NFT, not per listing."""
        super().__init__(client, slug, **kw)
        self.enrich = enrich
        self.needs_details = needs_details

    def fetch_page(self, cursor: str | None, size: int | None = None) -> Page:
        payload = self._get_page(cursor, size, {})
        page = Page(listings=[], next_cursor=payload.get("next") or None)
        for index, entry in enumerate(payload["listings"]):
            label = (entry.get("order_hash") if isinstance(entry, dict) else None) or f"#{index}"
            try:
                page.listings.append(self.normalise(entry))
            except (ValueError, TypeError, AttributeError, KeyError) as exc:
                page.failures.append(ItemError(f"opensea listing {label}", str(exc)))
        if self.enrich and page.listings:
            todo = page.listings
            if self.needs_details is not None:
                wanted = self.needs_details([x.fields["item_id"] for x in todo])
                todo = [x for x in todo if x.fields["item_id"] in wanted]
            if todo:
                self._add_nft_details(todo)
        return page

    def normalise(self, entry: dict[str, Any]) -> ScrapedListing:
        require(entry, "order_hash", "listing")  # an order without a hash is not a listing
        chain = str(require(entry, "chain", "listing"))
        current = require(require(entry, "price", "listing"), "current", "listing.price")
        decimals = int(require(current, "decimals", "listing.price.current"))
        total = scaled(require(current, "value", "listing.price.current"), decimals, "price")
        parameters = require(
            require(entry, "protocol_data", "listing"), "parameters", "listing.protocol_data"
        )
        offer = require(parameters, "offer", "protocol_data.parameters")
        if not offer:
            raise ValueError("listing offers nothing (empty protocol_data.parameters.offer)")
        nft = offer[0]
        quantity = exact_decimal(nft.get("startAmount", "1"), "offer[0].startAmount", zero=False)
        token_id = str(require(nft, "identifierOrCriteria", "offer[0]"))
        contract = str(require(nft, "token", "offer[0]"))
        fields: dict[str, Any] = {
            "source": self.name,
            "marketplace": MARKETPLACE,
            "item_id": item_id_for(chain, contract, token_id),
            "collection": self.collection,
            "price": total / quantity if quantity > 1 else total,  # per unit for ERC-1155
            "currency": str(require(current, "currency", "listing.price.current")),
            "currency_decimals": decimals,
            "listed_at": parse_time(parameters.get("startTime"), "startTime"),
            "raw_json": json.dumps(entry, sort_keys=True, separators=(",", ":")),
        }
        return ScrapedListing(fields)

    def _add_nft_details(self, listings: list[ScrapedListing]) -> None:
        def details(listing: ScrapedListing) -> None:
            chain, contract, token_id = listing.fields["item_id"].split(":", 2)
            url = f"{self.base_url}/api/v2/chain/{chain}/contract/{contract}/nfts/{token_id}"
            try:
                nft = self.client.get_json(url, auth=self.auth).get("nft") or {}
            except (ScrapeError, AttributeError) as exc:
                # The listing (price) is still right; name and image come on a later run.
                log.warning("no NFT details for %s: %s", listing.key, exc)
                return
            listing.fields.update(_nft_fields(nft))

        workers = max(1, min(self.client.policy.concurrency, len(listings)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="opensea-nft") as pool:
            list(pool.map(details, listings))


class OpenSeaSalesSource(_OpenSeaSource):
    name = "opensea-sales"
    path = "/api/v2/events/collection/{slug}"
    list_key = "asset_events"

    def fetch_page(self, cursor: str | None, size: int | None = None) -> Page:
        payload = self._get_page(cursor, size, {"event_type": "sale"})
        page = Page(listings=[], next_cursor=payload.get("next") or None)
        for index, event in enumerate(payload["asset_events"]):
            label = (event.get("transaction") if isinstance(event, dict) else None) or f"#{index}"
            try:
                if event.get("event_type") != "sale":
                    continue  # the API filters; a stray event type is not a failure
                page.listings.append(self.normalise(event))
            except (ValueError, TypeError, AttributeError, KeyError) as exc:
                page.failures.append(ItemError(f"opensea sale {label}", str(exc)))
        return page

    def normalise(self, event: dict[str, Any]) -> ScrapedListing:
        nft = require(event, "nft", "sale")
        chain = str(require(event, "chain", "sale"))
        payment = require(event, "payment", "sale")
        decimals = int(require(payment, "decimals", "sale.payment"))
        total = scaled(require(payment, "quantity", "sale.payment"), decimals, "payment")
        quantity = exact_decimal(event.get("quantity") or 1, "sale.quantity", zero=False)
        item_id = item_id_for(
            chain,
            str(require(nft, "contract", "sale.nft")),
            str(require(nft, "identifier", "sale.nft")),
        )
        fields: dict[str, Any] = {
            "source": MARKETPLACE,  # same importer family as the listings: no churn
            "marketplace": MARKETPLACE,
            "item_id": item_id,
            "collection": nft.get("collection") or self.collection,
            **_nft_fields(nft),
        }
        sale = PriceSeen(
            kind="sale",
            price=total / quantity if quantity > 1 else total,
            currency=str(require(payment, "symbol", "sale.payment")),
            currency_decimals=decimals,
            event_at=parse_time(event.get("event_timestamp"), "event_timestamp"),
        )
        return ScrapedListing(fields, [sale])


def _nft_fields(nft: dict[str, Any]) -> dict[str, Any]:
    """Name, image, creator of an OpenSea NFT object; only the keys it actually has."""
    found: dict[str, Any] = {}
    if nft.get("name"):
        found["name"] = str(nft["name"])
    image = nft.get("image_url") or nft.get("display_image_url")
    if image:
        found["image_uri"] = str(image)
    if nft.get("creator"):
        found["creator"] = str(nft["creator"])
    if isinstance(nft.get("is_nsfw"), bool):
        found["nsfw"] = nft["is_nsfw"]
    return found
