"""Listings and artworks."""

from sqlalchemy import text
from sqlalchemy.engine import Connection

VERSION = 1
DESCRIPTION = "listings and artworks"


def upgrade(connection: Connection) -> None:
    connection.execute(
        text(
            """
            CREATE TABLE listings (
                id INTEGER PRIMARY KEY,
                source VARCHAR NOT NULL,
                marketplace VARCHAR NOT NULL,
                item_id VARCHAR NOT NULL,
                collection VARCHAR,
                title VARCHAR,
                name VARCHAR,
                creator VARCHAR,
                price VARCHAR,
                currency VARCHAR,
                currency_decimals INTEGER,
                price_usd VARCHAR,
                likes INTEGER,
                nsfw BOOLEAN NOT NULL DEFAULT 0,
                media_type VARCHAR,
                token_count INTEGER,
                year INTEGER,
                created_at DATETIME,
                rights VARCHAR,
                royalty VARCHAR,
                image_uri VARCHAR,
                image_cid VARCHAR,
                image_blob VARCHAR,
                image_path VARCHAR,
                raw_json TEXT,
                first_seen_at DATETIME NOT NULL,
                updated_at DATETIME NOT NULL,
                CONSTRAINT uq_listing_item UNIQUE (marketplace, item_id)
            )
            """
        )
    )
    connection.execute(
        text(
            """
            CREATE TABLE artworks (
                id INTEGER PRIMARY KEY,
                listing_id INTEGER NOT NULL UNIQUE REFERENCES listings (id),
                state VARCHAR NOT NULL DEFAULT 'candidate',
                reason VARCHAR,
                failed_stage VARCHAR,
                error TEXT,
                attempts INTEGER NOT NULL DEFAULT 0,
                category VARCHAR,
                value_score FLOAT,
                rank INTEGER,
                created_at DATETIME NOT NULL,
                updated_at DATETIME NOT NULL,
                state_changed_at DATETIME NOT NULL,
                next_attempt_at DATETIME
            )
            """
        )
    )
    connection.execute(text("CREATE INDEX ix_artworks_state ON artworks (state)"))
