"""A store with known artworks, events, mint intents, sell orders, bids and sales, and the
exact figures the reports must derive from it (worked out by hand in the comments)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy.engine import Engine

from storage.db import session_scope
from storage.models import Artwork, ArtworkEvent, Listing
from storage.models.market import Bid, IntentStatus, MarketOrder, MintIntent, Sale

US = "0x" + "a1" * 20
COLLAB = "0x" + "c0" * 20  # a second royalty account (not ours)
MARKET_FEE = "0x" + "fe" * 20  # an origin fee receiver (not ours)
BUYER = "0x" + "b1" * 20
BUYER2 = "0x" + "b2" * 20
BIDDER1 = "0x" + "d1" * 20
BIDDER2 = "0x" + "d2" * 20
COLLECTION = "0xe10605b2026884acc669c2a9cd4a5ec5f5fff494"
WETH = "0xfff9976782d46cc05630d1f6ebab18b2324d6b14"
SCRIPT_TITLE = "Cat <script>alert('x')</script> $x^2$"
T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
# CIDs and hashes longer than any terminal column: piped output must keep them whole.
LONG_TX = "0x" + "7" * 64
ORDER_V3 = "0x" + "3" * 64
ORDER_V2 = "0x" + "2" * 64


def token(n: int) -> str:
    return str((int(US, 16) << 96) | n)


def item(n: int) -> str:
    return f"{COLLECTION}:{token(n)}"


def _lazy(n: int, royalties: list[tuple[str, int]]) -> str:
    return json.dumps(
        {
            "@type": "ERC721",
            "contract": COLLECTION,
            "tokenId": token(n),
            "uri": f"/ipfs/bafy{n}",
            "creators": [{"account": US, "value": 10000}],
            "royalties": [{"account": a, "value": v} for a, v in royalties],
            "signatures": ["0x" + "00" * 65],
        }
    )


def _order_form(origin_fees: list[tuple[str, int]], version: str) -> str:
    return json.dumps(
        {
            "type": "RARIBLE_V2",
            "maker": US,
            "data": {
                "dataType": f"RARIBLE_V2_DATA_{version}",
                "payouts": [],
                "originFees": [{"account": a, "value": v} for a, v in origin_fees],
                "isMakeFill": True,
            },
        }
    )


def build_store(engine: Engine) -> dict[str, int]:
    """Artworks 1-4 published, 5 failed, 6-7 rejected, 8 a candidate. Returns their ids."""
    ids: dict[str, int] = {}
    with session_scope(engine) as session:

        def artwork(
            key: str, *, state: str, category: str | None, listing: Listing, **kw
        ) -> Artwork:  # type: ignore[no-untyped-def]
            session.add(listing)
            session.flush()
            row = Artwork(listing_id=listing.id or 0, state=state, category=category, **kw)
            session.add(row)
            session.flush()
            ids[key] = row.id or 0
            return row

        def events(row: Artwork, steps: list[tuple[str, float]], reason: str | None = None) -> None:
            before = None
            for state, hours in steps:
                session.add(
                    ArtworkEvent(
                        artwork_id=row.id or 0,
                        from_state=before,
                        to_state=state,
                        reason=reason if state in ("failed", "rejected") else None,
                        at=T0 + timedelta(hours=hours),
                    )
                )
                before = state

        def kaggle(n: int, price: str, title: str) -> Listing:
            return Listing(
                source="kaggle",
                marketplace="hive",
                item_id=f"series-{n}:bafysource{n}",
                title=title,
                price=Decimal(price),
                currency="SWAP.HIVE",
            )

        published = [
            "candidate",
            "prepared",
            "generated",
            "chosen",
            "pinned",
            "minting",
            "minted",
            "listing",
            "listed",
        ]
        a1 = artwork("a1", state="sold", category="Animals", listing=kaggle(1, "100", SCRIPT_TITLE))
        # 1 h per stage, then sold 10 h after listing
        events(a1, [*((s, float(i)) for i, s in enumerate(published)), ("sold", 18.0)])
        a2 = artwork(
            "a2",
            state="sold",
            category="Faces",
            listing=Listing(
                source="rarible",
                marketplace="rarible",
                item_id="0xsource:7",
                name="Face seven",
                price=Decimal("0.02"),
                currency="ETH",
                price_usd=Decimal("60"),
            ),
        )
        # 3 h per stage
        events(a2, [(s, 3.0 * i) for i, s in enumerate([*published, "sold"])])
        a3 = artwork("a3", state="sold", category="Animals", listing=kaggle(3, "40", "Owl"))
        events(a3, [(s, 2.0 * i) for i, s in enumerate([*published, "sold"])])
        a4 = artwork("a4", state="listed", category="Scenery", listing=kaggle(4, "25", "Lake"))
        events(a4, [(s, float(i)) for i, s in enumerate(published)])
        a5 = artwork(
            "a5",
            state="failed",
            category="Objects",
            listing=kaggle(5, "10", "Vase"),
            failed_stage="generated",
            error="CUDA out of memory: tried to allocate 123 MiB (attempt 3)",
            attempts=3,
        )
        events(a5, [("candidate", 0.0), ("prepared", 1.0), ("failed", 1.5)], "generated failed")
        for key, n in (("a6", 6), ("a7", 7)):
            artwork(
                key,
                state="rejected",
                category=None,
                listing=kaggle(n, "1", "Low"),
                reason=f"ranked #{n}, below the top 5",
            )
        artwork("a8", state="candidate", category="People", listing=kaggle(8, "5", "Crowd"))

        royalties = {
            1: [(US, 1000)],
            2: [(US, 1000)],
            3: [(US, 500), (COLLAB, 500)],
            4: [(US, 1000)],
        }
        intents = {}
        for n, key in ((1, "a1"), (2, "a2"), (3, "a3"), (4, "a4")):
            intent = MintIntent(
                artwork_id=ids[key],
                mode="testnet",
                chain_id=11155111,
                collection=COLLECTION,
                token_id=token(n),
                creator=US,
                token_uri=f"/ipfs/bafy{n}",
                payload_json=_lazy(n, royalties[n]),
                digest="0x00",
                status=IntentStatus.DONE.value,
            )
            session.add(intent)
            session.flush()
            intents[n] = intent.id or 0
        for n, order_hash, version, fees, price in (
            (1, ORDER_V3, "V3", [(MARKET_FEE, 100)], "0.05"),
            (2, ORDER_V2, "V2", [], "0.1"),
        ):
            session.add(
                MarketOrder(
                    artwork_id=ids[f"a{n}"],
                    mint_intent_id=intents[n],
                    mode="testnet",
                    order_hash=order_hash,
                    make_value="1",
                    take_currency="ETH",
                    price=Decimal(price),
                    price_wei=Decimal(price) * 10**18,
                    salt="1",
                    start_ts=0,
                    end_ts=0,
                    data_type=f"RARIBLE_V2_DATA_{version}",
                    payload_json=_order_form(fees, version),
                    status=IntentStatus.DONE.value,
                    market_status="FILLED",
                )
            )

        def sale(
            n: int,
            activity: str,
            *,
            price: str,
            currency: str,
            seller: str,
            buyer: str,
            at: datetime,
            usd: str | None = None,
            kind: str = "SELL",
            order_hash: str | None = None,
            fee: int | None = None,
        ) -> None:
            session.add(
                Sale(
                    activity_id=activity,
                    tx_hash=LONG_TX if n == 1 else f"0xtx{activity}",
                    artwork_id=ids[f"a{n}"],
                    item_id=item(n),
                    kind=kind,
                    buyer=buyer,
                    seller=seller,
                    price=Decimal(price),
                    amount=Decimal(price),
                    currency=currency,
                    price_usd=Decimal(usd) if usd else None,
                    sold_at=at,
                    mode="testnet",
                    protocol_fee_bps=fee,
                    raw_json=json.dumps({"id": activity, "sellerOrderHash": order_hash}),
                )
            )

        # a1: V3 order, fee 200 bps recorded, 1% origin fee to the market, our 10% royalty
        #     (royalty == payout account: no transfer). 0.05 - 0.001 - 0.0005 = 0.0485 ETH;
        #     USD 0.0485 * 150 / 0.05 = 145.50
        sale(
            1,
            "ETHEREUM:s1",
            price="0.05",
            currency="ETH",
            seller=US,
            buyer=BUYER,
            at=T0 + timedelta(hours=18),
            usd="150",
            order_hash=ORDER_V3,
            fee=200,
        )
        # a2: V2 order: no protocol fee even though 200 bps is recorded: 0.1 ETH, $300
        sale(
            2,
            "ETHEREUM:s2",
            price="0.1",
            currency="ETH",
            seller=US,
            buyer=BUYER,
            at=T0 + timedelta(days=31),
            usd="300",
            order_hash=ORDER_V2,
            fee=200,
        )
        # a2 resold by BUYER for 1 ETH: our 10% royalty = 0.1 ETH; USD 0.1 * 3000 / 1 = 300
        sale(
            2,
            "ETHEREUM:s3",
            price="1",
            currency="ETH",
            seller=BUYER,
            buyer=BUYER2,
            at=T0 + timedelta(days=32),
            usd="3000",
            fee=200,
        )
        # a3: accepted bid of 1 WETH, our side's order unknown -> V3 assumed, 250 bps:
        #     1 - 0.025 = 0.975; royalties (two parts, so paid): us 0.05, COLLAB 0.05;
        #     payout 0.875 to us -> revenue 0.925 WETH, no USD price
        sale(
            3,
            "ETHEREUM:s4",
            price="1",
            currency=f"ERC20:{WETH}",
            seller=US,
            buyer=BIDDER1,
            at=T0 + timedelta(days=32, hours=1),
            kind="ACCEPT_BID",
            fee=250,
        )

        def bid(
            n: int,
            order_id: str,
            maker: str,
            price: str,
            status: str = "ACTIVE",
            usd: str | None = None,
        ) -> None:
            session.add(
                Bid(
                    order_id=order_id,
                    artwork_id=ids[f"a{n}"],
                    item_id=item(n),
                    maker=maker,
                    currency=f"ERC20:{WETH}",
                    currency_symbol="WETH",
                    price=Decimal(price),
                    make_value=Decimal(price) * 10**18,
                    take_value=Decimal(1),
                    price_usd=Decimal(usd) if usd else None,
                    status=status,
                    mode="testnet",
                    first_seen_at=T0 + timedelta(days=2),
                )
            )

        bid(4, "0x" + "41" * 32, BIDDER1, "0.3")
        bid(4, "0x" + "42" * 32, BIDDER2, "0.5", usd="1500")
        bid(4, "0x" + "43" * 32, BIDDER1, "0.9", status="CANCELLED")
        bid(3, "0x" + "31" * 32, BIDDER1, "1", status="FILLED")
    return ids
