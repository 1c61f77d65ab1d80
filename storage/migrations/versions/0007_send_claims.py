"""Send claims on mint and order intents; at most one live sell order per artwork and mode.

- `claim_owner` / `claim_expires_at` on `mint_intents` and `market_orders` (storage/claims.py):
  a send has one owner until its claim expires.
- `uq_market_order_live`: a partial unique index on market_orders (artwork_id, mode) over the
  live statuses, like `uq_mint_intent_live`. Before it is built, a second live order an older
  release made for the same artwork (two publishers listing at once) is kept for the record as
  status `duplicate`: it may still be live on the marketplace until it expires or is cancelled
  there, and `bot doctor` reports it.

Revision ID: 0007
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0008"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
NOT_LIVE = ("rejected", "expired", "duplicate")
LIVE_ORDER = sa.text("status NOT IN ('rejected', 'expired', 'duplicate')")
DUPLICATE_NOTE = (
    "a second live sell order for this artwork, made before revision 0007 enforced one; it may "
    "still be live on the marketplace until it expires or is cancelled there"
)


def upgrade() -> None:
    for table in ("mint_intents", "market_orders"):
        op.add_column(table, sa.Column("claim_owner", sa.String()))
        op.add_column(table, sa.Column("claim_expires_at", TS))
    _mark_duplicate_live_orders()
    op.create_index(
        "uq_market_order_live",
        "market_orders",
        ["artwork_id", "mode"],
        unique=True,
        sqlite_where=LIVE_ORDER,
        postgresql_where=LIVE_ORDER,
    )


def _mark_duplicate_live_orders() -> None:
    """Keep one live order per (artwork, mode): a `done` one before an unsent one, then the
    oldest; the others become `duplicate`."""
    orders = sa.table(
        "market_orders",
        sa.column("id", sa.Integer()),
        sa.column("artwork_id", sa.Integer()),
        sa.column("mode", sa.String()),
        sa.column("status", sa.String()),
        sa.column("error", sa.Text()),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(orders.c.id, orders.c.artwork_id, orders.c.mode, orders.c.status)
        .where(orders.c.status.not_in(NOT_LIVE))
        .order_by(orders.c.id)
    ).all()
    kept: dict[tuple[int, str], tuple[bool, int]] = {}
    for order_id, artwork_id, mode, status in rows:
        rank = (status != "done", order_id)
        key = (artwork_id, mode)
        if key not in kept or rank < kept[key]:
            kept[key] = rank
    keep_ids = {order_id for _done, order_id in kept.values()}
    extra = [row[0] for row in rows if row[0] not in keep_ids]
    if extra:
        bind.execute(
            orders.update()
            .where(orders.c.id.in_(extra))
            .values(status="duplicate", error=DUPLICATE_NOTE)
        )


def downgrade() -> None:
    op.drop_index("uq_market_order_live", table_name="market_orders")
    for table in ("market_orders", "mint_intents"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("claim_expires_at")
            batch.drop_column("claim_owner")
