"""Reports and notifications: sales.protocol_fee_bps; the notifications ledger.

Revision ID: 0012
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("sales", sa.Column("protocol_fee_bps", sa.Integer()))
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("event_key", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("summary", sa.Text()),
        sa.Column("error", sa.Text()),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("sent_at", TS),
        sa.UniqueConstraint("kind", "event_key", name="uq_notification_event"),
    )


def downgrade() -> None:
    op.drop_table("notifications")
    with op.batch_alter_table("sales") as batch:
        batch.drop_column("protocol_fee_bps")
