"""Revision 0009: pins per (CID, target) with a profile; existing rows keep their data."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from storage import schema
from storage.db import make_engine

V0 = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
V1 = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"


def _before(revision: str) -> str:
    """The revision this one follows (they are re-chained as branches land)."""
    return next(down for rev, down, _message in schema.history() if rev == revision)


def test_existing_pins_get_their_target_and_the_legacy_profile_of_their_version(
    db_url: str,
) -> None:
    engine = make_engine(db_url, schema_policy="skip")
    schema.upgrade(engine, "0006")
    with engine.begin() as connection:
        for cid, pinner in ((V0, "local"), (V1, "local"), (V1, "pinning-service")):
            connection.execute(
                text(
                    "INSERT INTO pins (cid, kind, size, pinner, status, request_id, created_at,"
                    " updated_at) VALUES (:cid, 'image', 12, :pinner, 'pinned', 'r', "
                    "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"
                ),
                {"cid": cid, "pinner": pinner},
            )
    schema.upgrade(engine)
    with engine.begin() as connection:
        rows = connection.execute(
            text(
                "SELECT cid, target, profile, status, request_id, checked_at FROM pins ORDER BY id"
            )
        ).all()
        assert [tuple(row) for row in rows] == [
            (V0, "local", "legacy-v0", "pinned", "r", None),
            (V1, "local", "legacy-v1", "pinned", "r", None),
            (V1, "pinning-service", "legacy-v1", "pinned", "r", None),
        ]
    with pytest.raises(IntegrityError), engine.begin() as connection:  # still one per target
        connection.execute(
            text(
                "INSERT INTO pins (cid, kind, size, target, profile, status, created_at,"
                " updated_at) VALUES (:cid, 'image', 1, 'local', 'legacy-v1', 'pinned',"
                " '2026-01-01', '2026-01-01')"
            ),
            {"cid": V1},
        )


def test_0009_downgrades_to_the_pinner_column(db_url: str) -> None:
    engine = make_engine(db_url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO pins (cid, kind, size, target, profile, status, created_at,"
                " updated_at) VALUES (:cid, 'image', 1, 'kubo', 'unixfs-v1-2025', 'pinned',"
                " '2026-01-01', '2026-01-01')"
            ),
            {"cid": V1},
        )
    from alembic import command

    with engine.begin() as connection:
        command.downgrade(schema.alembic_config(connection), _before("0009"))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT cid, pinner FROM pins")).one() == (V1, "kubo")
