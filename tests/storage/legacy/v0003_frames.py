"""Generated frames, and the prepared init image of an artwork."""

from sqlalchemy import text
from sqlalchemy.engine import Connection

VERSION = 3
DESCRIPTION = "generated frames; artworks.init_image_blob"


def upgrade(connection: Connection) -> None:
    connection.execute(
        text(
            """
            CREATE TABLE frames (
                id INTEGER PRIMARY KEY,
                artwork_id INTEGER NOT NULL REFERENCES artworks (id),
                iteration INTEGER NOT NULL,
                blob_sha256 VARCHAR NOT NULL,
                loss FLOAT,
                prompt VARCHAR NOT NULL,
                seed INTEGER NOT NULL,
                model VARCHAR NOT NULL,
                width INTEGER NOT NULL,
                height INTEGER NOT NULL,
                chosen BOOLEAN NOT NULL DEFAULT 0,
                created_at DATETIME NOT NULL,
                CONSTRAINT uq_frame_run_iteration UNIQUE (artwork_id, seed, iteration)
            )
            """
        )
    )
    connection.execute(text("CREATE INDEX ix_frames_artwork_id ON frames (artwork_id)"))
    connection.execute(text("ALTER TABLE artworks ADD COLUMN init_image_blob VARCHAR"))
