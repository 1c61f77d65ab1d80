"""64-bit integer columns where values outgrow 32 bits: a seed given with --seed, a pin's size
(> 2 GiB), an order's end time (after 2038), a chain id, marketplace counters. SQLite stores
any integer in 64 bits whatever the declared type; PostgreSQL's INTEGER is 32-bit and refuses
larger values ("integer out of range").

Revision ID: 0010
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0006"
branch_labels = None
depends_on = None

WIDENED = {
    "frames": ("seed",),
    "pins": ("size",),
    "market_orders": ("start_ts", "end_ts"),
    "mint_intents": ("chain_id",),
    "listings": ("likes", "token_count"),
}


def upgrade() -> None:
    for table, columns in WIDENED.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(column, type_=sa.BigInteger(), existing_type=sa.Integer())


def downgrade() -> None:
    for table, columns in WIDENED.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(column, type_=sa.Integer(), existing_type=sa.BigInteger())
