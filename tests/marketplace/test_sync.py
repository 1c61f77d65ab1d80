"""Bids and sales from the marketplace into the store: exact decimals, incremental, resumable."""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import select

from marketplace.minting import submit_mint
from marketplace.sync import sync_bids, sync_sales
from storage.db import session_scope
from storage.models.market import Bid, Sale, SyncCursor
from tests.marketplace.helpers import prepare_pinned_mint
from tests.marketplace.rarible_server import SEPOLIA_WETH


def _publish(engine, network, wallet, client, n: int) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    artwork_id, intent_id = prepare_pinned_mint(engine, network, wallet, client, n, royalty_bps=0)
    done = submit_mint(engine, intent_id, client)
    return artwork_id, int(done.token_id)


def test_bids_sync_is_exact_and_incremental(engine, network, wallet, client, server) -> None:  # type: ignore[no-untyped-def]
    _, state = server
    art1, token1 = _publish(engine, network, wallet, client, 1)
    art2, token2 = _publish(engine, network, wallet, client, 2)
    bidder = "0x" + "ab" * 20
    first = state.place_bid(network.collection, token1, bidder, 5 * 10**16, price_usd="150.25")
    state.place_bid(network.collection, token1, bidder, 123456789012345678901)
    state.place_bid(network.collection, token2, bidder, 7, currency="0x" + "cd" * 20)

    report = sync_bids(engine, client, "testnet", weth=SEPOLIA_WETH)
    assert (report.new, report.updated, report.unchanged) == (3, 0, 0)
    with session_scope(engine) as session:
        rows = {b.order_id: b for b in session.exec(select(Bid)).all()}
    bid = rows[first]
    assert bid.price == Decimal("0.05") and bid.price_usd == Decimal("150.25")
    assert bid.currency == f"ERC20:{SEPOLIA_WETH}" and bid.currency_symbol == "WETH"
    assert bid.artwork_id == art1 and bid.status == "ACTIVE"
    exact = next(b for b in rows.values() if b.make_value == Decimal(123456789012345678901))
    assert exact.price == Decimal("123.456789012345678901")  # no float ever touched it
    unknown = next(b for b in rows.values() if b.artwork_id == art2)
    assert unknown.currency_symbol is None and unknown.make_value == Decimal(7)

    again = sync_bids(engine, client, "testnet", weth=SEPOLIA_WETH)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 3)
    state.set_bid_status(first, "CANCELLED")
    changed = sync_bids(engine, client, "testnet", weth=SEPOLIA_WETH)
    assert (changed.new, changed.updated, changed.unchanged) == (0, 1, 2)
    with session_scope(engine) as session:
        assert session.exec(select(Bid).where(Bid.order_id == first)).one().status == "CANCELLED"


def test_a_malformed_bid_is_skipped_with_its_reason(
    engine, network, wallet, client, server
) -> None:  # type: ignore[no-untyped-def]
    _, state = server
    _, token = _publish(engine, network, wallet, client, 1)
    bad = state.place_bid(network.collection, token, "0x" + "ab" * 20, 10**18)
    state.place_bid(network.collection, token, "0x" + "ac" * 20, 2 * 10**18)
    state.bids[bad]["take"]["value"] = "0"
    report = sync_bids(engine, client, "testnet", weth=SEPOLIA_WETH)
    assert report.new == 1
    assert any(bad in reason and "takes 0 items" in reason for reason in report.skipped)


def test_sales_sync_resumes_from_its_cursor(engine, network, wallet, client, server) -> None:  # type: ignore[no-untyped-def]
    _, state = server
    art1, token1 = _publish(engine, network, wallet, client, 1)
    _, token2 = _publish(engine, network, wallet, client, 2)
    buyer = "0x" + "ee" * 20
    state.record_sale(
        network.collection,
        token1,
        seller=wallet.address,
        buyer=buyer,
        price_eth="0.05",
        price_usd="160.1",
    )
    state.record_sale(
        network.collection, token2, seller=wallet.address, buyer=buyer, price_eth="9", reverted=True
    )
    state.record_sale(
        network.collection, token2, seller="0x" + "11" * 20, buyer=buyer, price_eth="3"
    )

    report = sync_sales(engine, client, "testnet", wallet.address)
    assert report.new == 1 and report.sold_artwork_ids == [art1]
    with session_scope(engine) as session:
        sale = session.exec(select(Sale)).one()
        assert sale.price == Decimal("0.05") and sale.currency == "ETH"
        assert sale.buyer == buyer and sale.price_usd == Decimal("160.1")
        assert sale.tx_hash and sale.tx_hash.startswith("0x") and sale.kind == "SELL"
        assert session.exec(select(SyncCursor)).one().cursor == "2"

    assert sync_sales(engine, client, "testnet", wallet.address).new == 0
    state.record_sale(
        network.collection,
        token2,
        seller=wallet.address,
        buyer=buyer,
        price_eth="1.25",
        kind="ACCEPT_BID",
    )
    later = sync_sales(engine, client, "testnet", wallet.address)
    assert later.new == 1 and later.unchanged == 0  # read from the cursor, not from the start
    with session_scope(engine) as session:
        kinds = sorted(s.kind for s in session.exec(select(Sale)).all())
    assert kinds == ["ACCEPT_BID", "SELL"]


def test_own_orders_are_reread_until_they_leave_active(
    engine, network, wallet, client, server
) -> None:  # type: ignore[no-untyped-def]
    from marketplace.minting import live_mint_intent
    from marketplace.orders import prepare_sell_order, submit_order
    from marketplace.sync import sync_own_orders
    from storage.models.market import MarketOrder

    _, state = server
    artwork_id, _ = _publish(engine, network, wallet, client, 1)
    with session_scope(engine) as session:
        mint = live_mint_intent(session, artwork_id, "testnet")
        order = prepare_sell_order(
            session, mint=mint, network=network, signer=wallet, price_eth="2", start=0, end=0
        )
        order_id = order.id or 0
    done = submit_order(engine, order_id, client)
    assert sync_own_orders(engine, client, "testnet").unchanged == 1
    state.orders[done.order_hash]["status"] = "FILLED"
    assert sync_own_orders(engine, client, "testnet").updated == 1
    with session_scope(engine) as session:
        assert session.get(MarketOrder, order_id).market_status == "FILLED"  # type: ignore[union-attr]
    assert sync_own_orders(engine, client, "testnet").updated == 0  # no longer re-read


def test_resales_are_read_from_the_feeds_of_items_we_sold(
    engine, network, wallet, client, server
) -> None:  # type: ignore[no-untyped-def]
    from marketplace.sync import sync_item_sales

    _, state = server
    art1, token1 = _publish(engine, network, wallet, client, 1)
    _, token2 = _publish(engine, network, wallet, client, 2)
    buyer, collector = "0x" + "b1" * 20, "0x" + "c1" * 20
    state.record_sale(network.collection, token1, seller=wallet.address, buyer=buyer, price_eth="1")
    state.record_sale(network.collection, token1, seller=buyer, buyer=collector, price_eth="3")
    state.record_sale(network.collection, token2, seller=collector, buyer=buyer, price_eth="9")
    assert sync_sales(engine, client, "testnet", wallet.address).new == 1
    resales = sync_item_sales(engine, client, "testnet")
    assert (resales.new, resales.unchanged) == (1, 1)  # our own sale is already recorded
    with session_scope(engine) as session:
        rows = session.exec(select(Sale).order_by(Sale.id)).all()  # type: ignore[arg-type]
        assert [(s.seller, s.price, s.artwork_id) for s in rows] == [
            (wallet.address.lower(), Decimal("1"), art1),
            (buyer, Decimal("3"), art1),
        ]  # token 2 was never sold by us: its feed is not read
        names = {c.name for c in session.exec(select(SyncCursor)).all()}
    assert f"item-sales:testnet:{network.collection.lower()}:{token1}" in names
    assert sync_item_sales(engine, client, "testnet").new == 0


def test_the_protocol_fee_is_asked_once_and_recorded_with_each_new_sale(
    engine, network, wallet, client, server
) -> None:  # type: ignore[no-untyped-def]
    from marketplace.sync import api_protocol_fee

    _, state = server
    state.order_fees["RARIBLE_V2"] = 250
    _, token1 = _publish(engine, network, wallet, client, 1)

    def fee_requests() -> int:
        return sum(1 for _, path in state.requests if path == "/v0.1/orders/settings/fees")

    lookup = lambda: api_protocol_fee(client)  # noqa: E731
    assert sync_sales(engine, client, "testnet", wallet.address, protocol_fee=lookup).new == 0
    assert fee_requests() == 0  # no new sale, no question
    for price in ("1", "2"):
        state.record_sale(
            network.collection,
            token1,
            seller=wallet.address,
            buyer="0x" + "b1" * 20,
            price_eth=price,
        )
    assert sync_sales(engine, client, "testnet", wallet.address, protocol_fee=lookup).new == 2
    assert fee_requests() == 1
    with session_scope(engine) as session:
        assert [s.protocol_fee_bps for s in session.exec(select(Sale)).all()] == [250, 250]
    state.add_fault("GET", "/v0.1/orders/settings/fees", "500", times=100)
    assert api_protocol_fee(client) is None  # unknown, not a failed sync


def test_an_absurd_bid_or_sale_never_stops_the_sync(
    engine, network, wallet, client, server
) -> None:  # type: ignore[no-untyped-def]
    """A bid worth 1E+999999999 used to raise decimal.Overflow and stop every sync."""
    from bot.pipeline.sold_stage import sync_market

    _, state = server
    _, token = _publish(engine, network, wallet, client, 1)
    bidder = "0x" + "ab" * 20
    absurd = state.place_bid(network.collection, token, bidder, 10**18)
    state.bids[absurd]["make"]["value"] = "1E+999999999"
    nan_usd = state.place_bid(network.collection, token, bidder, 2 * 10**18, price_usd="NaN")
    good = state.place_bid(network.collection, token, bidder, 3 * 10**18)
    state.record_sale(
        network.collection, token, seller=wallet.address, buyer=bidder, price_eth="1E+99999999"
    )
    state.record_sale(network.collection, token, seller=wallet.address, buyer=bidder, price_eth="2")

    result = sync_market(engine, client, mode="testnet", seller=wallet.address, weth=SEPOLIA_WETH)
    assert result.bids.new == 1 and result.sales.new == 1
    skipped = result.bids.skipped + result.sales.skipped
    assert len(skipped) == 3
    assert any(absurd in s and "exponent out of range" in s for s in skipped)
    assert any(nan_usd in s and "not a finite number" in s for s in skipped)
    assert any("sale" in s and "1E+99999999" in s for s in skipped)
    with session_scope(engine) as session:
        assert [b.order_id for b in session.exec(select(Bid)).all()] == [good]
        assert [s.price for s in session.exec(select(Sale)).all()] == [Decimal(2)]
