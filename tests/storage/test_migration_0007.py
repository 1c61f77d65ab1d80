"""Revision 0007 on a database an older release used: two publishers may have left two live
sell orders for one artwork; one is kept live, the other is kept for the record as `duplicate`
(the new unique index could not be built otherwise), and `bot doctor` reports it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from bot.context import AppContext
from bot.doctor import run_checks
from bot.settings import load_settings
from storage import schema
from storage.db import make_engine

ORDER = (
    "INSERT INTO market_orders (id, artwork_id, mint_intent_id, mode, order_hash, side,"
    " make_value, take_currency, price, price_wei, salt, start_ts, end_ts, data_type,"
    " payload_json, status, sends, created_at, updated_at) VALUES (:id, 1, 1, 'testnet', :hash,"
    " 'sell', '1', 'ETH', '0.1', '100000000000000000', :id, 0, 0, 'V2', '{}', :status, 1,"
    " '2024-01-01 00:00:00', '2024-01-01 00:00:00')"
)


def test_a_second_live_order_becomes_duplicate_and_doctor_reports_it(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir.mkdir(parents=True)
    engine = make_engine(f"sqlite:///{data_dir / 'bot.db'}", schema_policy="skip")
    schema.upgrade(engine, "0006")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO listings (id, source, marketplace, item_id, nsfw, first_seen_at,"
                " updated_at) VALUES (1, 'test', 'test', 'a', 0, '2024-01-01 00:00:00',"
                " '2024-01-01 00:00:00')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO artworks (id, listing_id, state, attempts, created_at, updated_at,"
                " state_changed_at) VALUES (1, 1, 'listed', 0, '2024-01-01 00:00:00',"
                " '2024-01-01 00:00:00', '2024-01-01 00:00:00')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO mint_intents (id, artwork_id, mode, chain_id, collection, token_id,"
                " creator, token_uri, payload_json, digest, status, sends, created_at,"
                " updated_at) VALUES (1, 1, 'testnet', 1, '0xc', '1', '0xa', '/ipfs/x',"
                ' \'{"royalties": [{"account": "0xa", "value": 1000}]}\', \'0x\', \'done\', 1,'
                " '2024-01-01 00:00:00', '2024-01-01 00:00:00')"
            )
        )
        for order_id, status in ((1, "expired"), (2, "signed"), (3, "done")):
            connection.execute(
                text(ORDER), {"id": order_id, "hash": f"0x{order_id}", "status": status}
            )
    schema.upgrade(engine)
    with engine.connect() as connection:
        statuses = dict(connection.execute(text("SELECT id, status FROM market_orders")).all())
    assert statuses == {1: "expired", 2: "duplicate", 3: "done"}  # the live one on the market
    engine.dispose()

    (check,) = [r for r in run_checks(AppContext(load_settings())) if r.name == "published"]
    assert check.status == "warn"
    assert check.detail == "1 second sell order(s) may still be live on the market: artwork 1: 0x2"
