"""Audit trail of artwork state changes, back-filled with each artwork's current state (v2).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "artwork_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("artwork_id", sa.Integer(), sa.ForeignKey("artworks.id"), nullable=False),
        sa.Column("from_state", sa.String()),
        sa.Column("to_state", sa.String(), nullable=False),
        sa.Column("reason", sa.String()),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_artwork_events_artwork_id", "artwork_events", ["artwork_id"])
    # Existing artworks get one event so every artwork has a history from here on.
    op.execute(
        "INSERT INTO artwork_events (artwork_id, from_state, to_state, reason, at) "
        "SELECT id, NULL, state, reason, state_changed_at FROM artworks"
    )


def downgrade() -> None:
    op.drop_index("ix_artwork_events_artwork_id", table_name="artwork_events")
    op.drop_table("artwork_events")
