"""Scraper: price observations, cursors, runs; listings.listed_at and image_error (v6).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("listings", sa.Column("listed_at", TS))
    op.add_column("listings", sa.Column("image_error", sa.Text()))
    op.create_table(
        "price_observations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("listing_id", sa.Integer(), sa.ForeignKey("listings.id"), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("price", sa.String()),
        sa.Column("currency", sa.String()),
        sa.Column("currency_decimals", sa.Integer()),
        sa.Column("price_usd", sa.String()),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("event_at", TS),
        sa.Column("observed_at", TS, nullable=False),
    )
    op.create_index("ix_price_observations_listing_id", "price_observations", ["listing_id"])
    op.create_table(
        "scrape_cursors",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("collection", sa.String(), nullable=False),
        sa.Column("cursor", sa.String()),
        sa.Column("pages", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("items", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("passes_completed", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("pass_started_at", TS),
        sa.Column("pass_completed_at", TS),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("source", "collection", name="uq_scrape_cursor"),
    )
    op.create_table(
        "scrape_runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("collection", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("start_cursor", sa.String()),
        sa.Column("end_cursor", sa.String()),
        sa.Column("pages", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("new", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("updated", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("unchanged", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("failed", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("error", sa.Text()),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS),
    )


def downgrade() -> None:
    op.drop_table("scrape_runs")
    op.drop_table("scrape_cursors")
    op.drop_index("ix_price_observations_listing_id", table_name="price_observations")
    op.drop_table("price_observations")
    with op.batch_alter_table("listings") as batch:
        batch.drop_column("image_error")
        batch.drop_column("listed_at")
