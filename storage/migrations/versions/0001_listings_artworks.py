"""Listings and artworks (schema v1 of the releases before Alembic).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "listings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("marketplace", sa.String(), nullable=False),
        sa.Column("item_id", sa.String(), nullable=False),
        sa.Column("collection", sa.String()),
        sa.Column("title", sa.String()),
        sa.Column("name", sa.String()),
        sa.Column("creator", sa.String()),
        sa.Column("price", sa.String()),
        sa.Column("currency", sa.String()),
        sa.Column("currency_decimals", sa.Integer()),
        sa.Column("price_usd", sa.String()),
        sa.Column("likes", sa.Integer()),
        sa.Column("nsfw", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("media_type", sa.String()),
        sa.Column("token_count", sa.Integer()),
        sa.Column("year", sa.Integer()),
        sa.Column("created_at", TS),
        sa.Column("rights", sa.String()),
        sa.Column("royalty", sa.String()),
        sa.Column("image_uri", sa.String()),
        sa.Column("image_cid", sa.String()),
        sa.Column("image_blob", sa.String()),
        sa.Column("image_path", sa.String()),
        sa.Column("raw_json", sa.Text()),
        sa.Column("first_seen_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("marketplace", "item_id", name="uq_listing_item"),
    )
    op.create_table(
        "artworks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("listing_id", sa.Integer(), sa.ForeignKey("listings.id"), nullable=False),
        sa.Column("state", sa.String(), nullable=False, server_default="candidate"),
        sa.Column("reason", sa.String()),
        sa.Column("failed_stage", sa.String()),
        sa.Column("error", sa.Text()),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("category", sa.String()),
        sa.Column("value_score", sa.Float()),
        sa.Column("rank", sa.Integer()),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("state_changed_at", TS, nullable=False),
        sa.Column("next_attempt_at", TS),
        sa.UniqueConstraint("listing_id"),
    )
    op.create_index("ix_artworks_state", "artworks", ["state"])


def downgrade() -> None:
    op.drop_index("ix_artworks_state", table_name="artworks")
    op.drop_table("artworks")
    op.drop_table("listings")
