"""Audit trail of artwork state changes, back-filled with each artwork's current state."""

from sqlalchemy import text
from sqlalchemy.engine import Connection

VERSION = 2
DESCRIPTION = "artwork state-change events"


def upgrade(connection: Connection) -> None:
    connection.execute(
        text(
            """
            CREATE TABLE artwork_events (
                id INTEGER PRIMARY KEY,
                artwork_id INTEGER NOT NULL REFERENCES artworks (id),
                from_state VARCHAR,
                to_state VARCHAR NOT NULL,
                reason VARCHAR,
                at DATETIME NOT NULL
            )
            """
        )
    )
    connection.execute(
        text("CREATE INDEX ix_artwork_events_artwork_id ON artwork_events (artwork_id)")
    )
    # Existing artworks get one event so every artwork has a history from here on.
    connection.execute(
        text(
            "INSERT INTO artwork_events (artwork_id, from_state, to_state, reason, at) "
            "SELECT id, NULL, state, reason, state_changed_at FROM artworks"
        )
    )
