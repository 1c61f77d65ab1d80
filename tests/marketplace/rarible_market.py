"""What happens on the market outside the API, as tests make it happen on the local Rarible
server's state (tests/marketplace/rarible_server.py): a bid placed directly, a bid's status
changed, an order filled on-chain (`fill_order`: what ExchangeV2's match does to the indexer's
view), a bare sale activity. A mixin of `RaribleState`, which holds the data and the lock."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from eth_utils import keccak

from tests.marketplace.rarible_checks import Invalid

SEPOLIA_WETH = "0xfff9976782d46cc05630d1f6ebab18b2324d6b14"  # the default bid currency


def eth_units(wei: str) -> str:
    """'50000000000000000' -> '0.05' (18 decimals, exact)."""
    return format(Decimal(int(wei)).scaleb(-18).normalize(), "f")


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class MarketActions:
    """Bids, fills and sales, done to the state under its lock."""

    lock: threading.Lock
    items: dict[str, dict[str, Any]]
    orders: dict[str, dict[str, Any]]
    bids: dict[str, dict[str, Any]]
    activities: list[dict[str, Any]]

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
                "createdAt": now_iso(),
                "lastUpdateAt": now_iso(),
            }
            return order_hash

    def set_bid_status(self, order_hash: str, status: str) -> None:
        with self.lock:
            self.bids[order_hash]["status"] = status
            self.bids[order_hash]["cancelled"] = status == "CANCELLED"
            self.bids[order_hash]["lastUpdateAt"] = now_iso()

    def fill_order(self, order_hash: str, taker: str) -> str:
        """Match `order_hash` (a sell order or a bid) as ExchangeV2 would, `taker` on the other
        side; returns the SELL activity's id. Raises Invalid with the contract's reason."""
        taker = taker.lower()
        with self.lock:
            order = self.orders.get(order_hash) or self.bids.get(order_hash)
            if order is None:
                raise Invalid("NOT_FOUND", f"order {order_hash} not found", 404)
            if order.get("cancelled") or order["status"] != "ACTIVE":
                raise Invalid("VALIDATION", f"order {order_hash} is {order['status']}")
            now = time.time()
            if order.get("end") and int(order["end"]) < now:
                raise Invalid("VALIDATION", "Order end validation failed")
            if int(order.get("start") or 0) > now:
                raise Invalid("VALIDATION", "Order start validation failed")
            is_bid = order_hash in self.bids
            nft, payment = (
                (order["take"], order["make"]) if is_bid else (order["make"], order["take"])
            )
            seller, buyer = (taker, order["maker"]) if is_bid else (order["maker"], taker)
            item_id = f"{nft['assetType']['contract'].lower()}:{int(nft['assetType']['tokenId'])}"
            item = self.items.get(item_id)
            if item is None:
                raise Invalid("VALIDATION", f"item {item_id} not found")
            if item["owner"] != seller:
                raise Invalid("VALIDATION", "ERC721: transfer caller is not owner nor approved")
            if seller == buyer:
                raise Invalid("VALIDATION", "the buyer owns the item already")
            order.update(status="FILLED", fill=order["make"]["value"], makeStock="0")
            order["lastUpdateAt"] = now_iso()
            for other in self.orders.values():  # the seller cannot sell it again
                asset = other["make"]["assetType"]
                if (
                    other is not order
                    and other["status"] == "ACTIVE"
                    and asset.get("contract") == item["contract"]
                    and asset.get("tokenId") == item["tokenId"]
                ):
                    other["status"] = "INACTIVE"
            item.update(owner=buyer, lazySupply="0", lastUpdatedAt=now_iso())
            pay_type = payment["assetType"]
            if pay_type["assetClass"] == "ETH":
                currency, rate = (
                    {"@type": "ETH", "blockchain": "ETHEREUM"},
                    self.usd_rates.get("ETH"),
                )
            else:
                token = pay_type["contract"].lower()
                currency = {"@type": "ERC20", "contract": f"ETHEREUM:{token}"}
                rate = self.usd_rates.get(token)
            units = Decimal(int(payment["value"])).scaleb(-18) / Decimal(int(nft["value"]))
            price = format(units.normalize(), "f")
            price_usd = None if rate is None else format((units * rate).normalize(), "f")
            activity_id = f"ETHEREUM:{keccak(text=f'match-{len(self.activities)}').hex()}"
            self.activities.append(
                {
                    "@type": "SELL",
                    "id": activity_id,
                    "date": now_iso(),
                    "reverted": False,
                    "type": "ACCEPT_BID" if is_bid else "SELL",
                    "nft": {
                        "type": {
                            "@type": "ERC721" if item["lazySupply"] == "0" else "ERC721_Lazy",
                            "contract": f"ETHEREUM:{item['contract']}",
                            "tokenId": item["tokenId"],
                        },
                        "value": str(int(nft["value"])),
                    },
                    "payment": {"type": currency, "value": price},
                    "buyer": f"ETHEREUM:{buyer}",
                    "seller": f"ETHEREUM:{seller}",
                    "buyerOrderHash": order_hash if is_bid else None,
                    "sellerOrderHash": None if is_bid else order_hash,
                    "orderId": f"ETHEREUM:{order_hash}",
                    "price": price,
                    "priceUsd": price_usd,
                    "amountUsd": price_usd,
                    "source": "RARIBLE",
                    "transactionHash": "0x" + keccak(text=activity_id).hex(),
                }
            )
            return activity_id

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
                    "date": now_iso(),
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
