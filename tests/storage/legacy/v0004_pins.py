"""IPFS pins."""

from sqlalchemy import text
from sqlalchemy.engine import Connection

VERSION = 4
DESCRIPTION = "ipfs pins"


def upgrade(connection: Connection) -> None:
    connection.execute(
        text(
            """
            CREATE TABLE pins (
                id INTEGER PRIMARY KEY,
                cid VARCHAR NOT NULL,
                kind VARCHAR NOT NULL,
                artwork_id INTEGER REFERENCES artworks (id),
                frame_id INTEGER REFERENCES frames (id),
                size INTEGER NOT NULL,
                pinner VARCHAR NOT NULL,
                status VARCHAR NOT NULL,
                request_id VARCHAR,
                error TEXT,
                created_at DATETIME NOT NULL,
                updated_at DATETIME NOT NULL,
                CONSTRAINT uq_pin_cid_pinner UNIQUE (cid, pinner)
            )
            """
        )
    )
    connection.execute(text("CREATE INDEX ix_pins_cid ON pins (cid)"))
    connection.execute(text("CREATE INDEX ix_pins_artwork_id ON pins (artwork_id)"))
