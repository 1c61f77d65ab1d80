"""Scraper: price observations, cursors per source and collection, scrape runs."""

from sqlalchemy import text
from sqlalchemy.engine import Connection

VERSION = 6
DESCRIPTION = "scraper: price observations, cursors, runs; listing listed_at and image_error"


def upgrade(connection: Connection) -> None:
    connection.execute(text("ALTER TABLE listings ADD COLUMN listed_at DATETIME"))
    connection.execute(text("ALTER TABLE listings ADD COLUMN image_error TEXT"))
    connection.execute(
        text(
            """
            CREATE TABLE price_observations (
                id INTEGER PRIMARY KEY,
                listing_id INTEGER NOT NULL REFERENCES listings (id),
                kind VARCHAR NOT NULL,
                price VARCHAR,
                currency VARCHAR,
                currency_decimals INTEGER,
                price_usd VARCHAR,
                source VARCHAR NOT NULL,
                event_at DATETIME,
                observed_at DATETIME NOT NULL
            )
            """
        )
    )
    connection.execute(
        text("CREATE INDEX ix_price_observations_listing_id ON price_observations (listing_id)")
    )
    connection.execute(
        text(
            """
            CREATE TABLE scrape_cursors (
                id INTEGER PRIMARY KEY,
                source VARCHAR NOT NULL,
                collection VARCHAR NOT NULL,
                cursor VARCHAR,
                pages INTEGER NOT NULL DEFAULT 0,
                items INTEGER NOT NULL DEFAULT 0,
                passes_completed INTEGER NOT NULL DEFAULT 0,
                pass_started_at DATETIME,
                pass_completed_at DATETIME,
                updated_at DATETIME NOT NULL,
                CONSTRAINT uq_scrape_cursor UNIQUE (source, collection)
            )
            """
        )
    )
    connection.execute(
        text(
            """
            CREATE TABLE scrape_runs (
                id INTEGER PRIMARY KEY,
                source VARCHAR NOT NULL,
                collection VARCHAR NOT NULL,
                status VARCHAR NOT NULL,
                start_cursor VARCHAR,
                end_cursor VARCHAR,
                pages INTEGER NOT NULL DEFAULT 0,
                new INTEGER NOT NULL DEFAULT 0,
                updated INTEGER NOT NULL DEFAULT 0,
                unchanged INTEGER NOT NULL DEFAULT 0,
                failed INTEGER NOT NULL DEFAULT 0,
                error TEXT,
                started_at DATETIME NOT NULL,
                finished_at DATETIME
            )
            """
        )
    )
