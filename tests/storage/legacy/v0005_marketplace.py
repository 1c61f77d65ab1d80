"""Marketplace: token reservations, mint and order intents, bids, sales, sync cursors."""

from sqlalchemy import text
from sqlalchemy.engine import Connection

VERSION = 5
DESCRIPTION = "marketplace intents, orders, bids and sales"

_STATEMENTS = [
    """
    CREATE TABLE token_reservations (
        id INTEGER PRIMARY KEY,
        collection VARCHAR NOT NULL,
        token_id VARCHAR NOT NULL,
        creator VARCHAR NOT NULL,
        serial VARCHAR NOT NULL,
        source VARCHAR NOT NULL,
        mode VARCHAR NOT NULL,
        artwork_id INTEGER REFERENCES artworks (id),
        reserved_at DATETIME NOT NULL,
        CONSTRAINT uq_token_reservation UNIQUE (collection, token_id)
    )
    """,
    "CREATE INDEX ix_token_reservations_artwork_id ON token_reservations (artwork_id)",
    """
    CREATE TABLE mint_intents (
        id INTEGER PRIMARY KEY,
        artwork_id INTEGER NOT NULL REFERENCES artworks (id),
        mode VARCHAR NOT NULL,
        chain_id INTEGER NOT NULL,
        collection VARCHAR NOT NULL,
        token_id VARCHAR NOT NULL,
        creator VARCHAR NOT NULL,
        token_uri VARCHAR NOT NULL,
        payload_json TEXT NOT NULL,
        digest VARCHAR NOT NULL,
        status VARCHAR NOT NULL,
        item_id VARCHAR,
        sends INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        created_at DATETIME NOT NULL,
        updated_at DATETIME NOT NULL,
        sent_at DATETIME,
        done_at DATETIME
    )
    """,
    "CREATE INDEX ix_mint_intents_artwork_id ON mint_intents (artwork_id)",
    "CREATE INDEX ix_mint_intents_status ON mint_intents (status)",
    # At most one live (not rejected) mint per artwork and mode, even with two publishers.
    "CREATE UNIQUE INDEX uq_mint_intent_live ON mint_intents (artwork_id, mode)"
    " WHERE status != 'rejected'",
    """
    CREATE TABLE market_orders (
        id INTEGER PRIMARY KEY,
        artwork_id INTEGER NOT NULL REFERENCES artworks (id),
        mint_intent_id INTEGER NOT NULL REFERENCES mint_intents (id),
        mode VARCHAR NOT NULL,
        order_hash VARCHAR NOT NULL UNIQUE,
        remote_id VARCHAR,
        side VARCHAR NOT NULL,
        make_value VARCHAR NOT NULL,
        take_currency VARCHAR NOT NULL,
        price VARCHAR NOT NULL,
        price_wei VARCHAR NOT NULL,
        salt VARCHAR NOT NULL,
        start_ts INTEGER NOT NULL,
        end_ts INTEGER NOT NULL,
        data_type VARCHAR NOT NULL,
        payload_json TEXT NOT NULL,
        status VARCHAR NOT NULL,
        market_status VARCHAR,
        sends INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        created_at DATETIME NOT NULL,
        updated_at DATETIME NOT NULL,
        sent_at DATETIME,
        done_at DATETIME
    )
    """,
    "CREATE INDEX ix_market_orders_artwork_id ON market_orders (artwork_id)",
    "CREATE INDEX ix_market_orders_status ON market_orders (status)",
    """
    CREATE TABLE bids (
        id INTEGER PRIMARY KEY,
        order_id VARCHAR NOT NULL UNIQUE,
        artwork_id INTEGER REFERENCES artworks (id),
        item_id VARCHAR NOT NULL,
        maker VARCHAR NOT NULL,
        currency VARCHAR NOT NULL,
        currency_symbol VARCHAR,
        price VARCHAR,
        make_value VARCHAR NOT NULL,
        take_value VARCHAR NOT NULL,
        price_usd VARCHAR,
        status VARCHAR NOT NULL,
        mode VARCHAR NOT NULL,
        first_seen_at DATETIME NOT NULL,
        updated_at DATETIME NOT NULL,
        raw_json TEXT
    )
    """,
    "CREATE INDEX ix_bids_artwork_id ON bids (artwork_id)",
    "CREATE INDEX ix_bids_item_id ON bids (item_id)",
    """
    CREATE TABLE sales (
        id INTEGER PRIMARY KEY,
        activity_id VARCHAR NOT NULL UNIQUE,
        tx_hash VARCHAR,
        artwork_id INTEGER REFERENCES artworks (id),
        item_id VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,
        buyer VARCHAR NOT NULL,
        seller VARCHAR,
        price VARCHAR NOT NULL,
        amount VARCHAR,
        currency VARCHAR NOT NULL,
        price_usd VARCHAR,
        sold_at DATETIME NOT NULL,
        mode VARCHAR NOT NULL,
        seen_at DATETIME NOT NULL,
        raw_json TEXT
    )
    """,
    "CREATE INDEX ix_sales_tx_hash ON sales (tx_hash)",
    "CREATE INDEX ix_sales_artwork_id ON sales (artwork_id)",
    "CREATE INDEX ix_sales_item_id ON sales (item_id)",
    """
    CREATE TABLE sync_cursors (
        name VARCHAR PRIMARY KEY,
        cursor VARCHAR,
        updated_at DATETIME NOT NULL
    )
    """,
]


def upgrade(connection: Connection) -> None:
    for statement in _STATEMENTS:
        connection.execute(text(statement))
