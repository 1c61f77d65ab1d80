"""Marketplace: token reservations, mint and order intents, bids, sales, sync cursors (v5).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
LIVE_MINT = sa.text("status != 'rejected'")


def upgrade() -> None:
    op.create_table(
        "token_reservations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("collection", sa.String(), nullable=False),
        sa.Column("token_id", sa.String(), nullable=False),
        sa.Column("creator", sa.String(), nullable=False),
        sa.Column("serial", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("mode", sa.String(), nullable=False),
        sa.Column("artwork_id", sa.Integer(), sa.ForeignKey("artworks.id")),
        sa.Column("reserved_at", TS, nullable=False),
        sa.UniqueConstraint("collection", "token_id", name="uq_token_reservation"),
    )
    op.create_index("ix_token_reservations_artwork_id", "token_reservations", ["artwork_id"])
    op.create_table(
        "mint_intents",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("artwork_id", sa.Integer(), sa.ForeignKey("artworks.id"), nullable=False),
        sa.Column("mode", sa.String(), nullable=False),
        sa.Column("chain_id", sa.Integer(), nullable=False),
        sa.Column("collection", sa.String(), nullable=False),
        sa.Column("token_id", sa.String(), nullable=False),
        sa.Column("creator", sa.String(), nullable=False),
        sa.Column("token_uri", sa.String(), nullable=False),
        sa.Column("payload_json", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("item_id", sa.String()),
        sa.Column("sends", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("error", sa.Text()),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("sent_at", TS),
        sa.Column("done_at", TS),
    )
    op.create_index("ix_mint_intents_artwork_id", "mint_intents", ["artwork_id"])
    op.create_index("ix_mint_intents_status", "mint_intents", ["status"])
    # At most one live (not rejected) mint per artwork and mode, even with two publishers.
    op.create_index(
        "uq_mint_intent_live",
        "mint_intents",
        ["artwork_id", "mode"],
        unique=True,
        sqlite_where=LIVE_MINT,
        postgresql_where=LIVE_MINT,
    )
    op.create_table(
        "market_orders",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("artwork_id", sa.Integer(), sa.ForeignKey("artworks.id"), nullable=False),
        sa.Column("mint_intent_id", sa.Integer(), sa.ForeignKey("mint_intents.id"), nullable=False),
        sa.Column("mode", sa.String(), nullable=False),
        sa.Column("order_hash", sa.String(), nullable=False),
        sa.Column("remote_id", sa.String()),
        sa.Column("side", sa.String(), nullable=False),
        sa.Column("make_value", sa.String(), nullable=False),
        sa.Column("take_currency", sa.String(), nullable=False),
        sa.Column("price", sa.String(), nullable=False),
        sa.Column("price_wei", sa.String(), nullable=False),
        sa.Column("salt", sa.String(), nullable=False),
        sa.Column("start_ts", sa.Integer(), nullable=False),
        sa.Column("end_ts", sa.Integer(), nullable=False),
        sa.Column("data_type", sa.String(), nullable=False),
        sa.Column("payload_json", sa.Text(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("market_status", sa.String()),
        sa.Column("sends", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("error", sa.Text()),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("sent_at", TS),
        sa.Column("done_at", TS),
        sa.UniqueConstraint("order_hash"),
    )
    op.create_index("ix_market_orders_artwork_id", "market_orders", ["artwork_id"])
    op.create_index("ix_market_orders_status", "market_orders", ["status"])
    op.create_table(
        "bids",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("order_id", sa.String(), nullable=False),
        sa.Column("artwork_id", sa.Integer(), sa.ForeignKey("artworks.id")),
        sa.Column("item_id", sa.String(), nullable=False),
        sa.Column("maker", sa.String(), nullable=False),
        sa.Column("currency", sa.String(), nullable=False),
        sa.Column("currency_symbol", sa.String()),
        sa.Column("price", sa.String()),
        sa.Column("make_value", sa.String(), nullable=False),
        sa.Column("take_value", sa.String(), nullable=False),
        sa.Column("price_usd", sa.String()),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("mode", sa.String(), nullable=False),
        sa.Column("first_seen_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("raw_json", sa.Text()),
        sa.UniqueConstraint("order_id"),
    )
    op.create_index("ix_bids_artwork_id", "bids", ["artwork_id"])
    op.create_index("ix_bids_item_id", "bids", ["item_id"])
    op.create_table(
        "sales",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("activity_id", sa.String(), nullable=False),
        sa.Column("tx_hash", sa.String()),
        sa.Column("artwork_id", sa.Integer(), sa.ForeignKey("artworks.id")),
        sa.Column("item_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("buyer", sa.String(), nullable=False),
        sa.Column("seller", sa.String()),
        sa.Column("price", sa.String(), nullable=False),
        sa.Column("amount", sa.String()),
        sa.Column("currency", sa.String(), nullable=False),
        sa.Column("price_usd", sa.String()),
        sa.Column("sold_at", TS, nullable=False),
        sa.Column("mode", sa.String(), nullable=False),
        sa.Column("seen_at", TS, nullable=False),
        sa.Column("raw_json", sa.Text()),
        sa.UniqueConstraint("activity_id"),
    )
    op.create_index("ix_sales_tx_hash", "sales", ["tx_hash"])
    op.create_index("ix_sales_artwork_id", "sales", ["artwork_id"])
    op.create_index("ix_sales_item_id", "sales", ["item_id"])
    op.create_table(
        "sync_cursors",
        sa.Column("name", sa.String(), primary_key=True),
        sa.Column("cursor", sa.String()),
        sa.Column("updated_at", TS, nullable=False),
    )


def downgrade() -> None:
    for table in ("sync_cursors", "sales", "bids", "market_orders", "mint_intents"):
        op.drop_table(table)
    op.drop_table("token_reservations")
