"""IPFS pins (v4).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "pins",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("cid", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("artwork_id", sa.Integer(), sa.ForeignKey("artworks.id")),
        sa.Column("frame_id", sa.Integer(), sa.ForeignKey("frames.id")),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("pinner", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("request_id", sa.String()),
        sa.Column("error", sa.Text()),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("cid", "pinner", name="uq_pin_cid_pinner"),
    )
    op.create_index("ix_pins_cid", "pins", ["cid"])
    op.create_index("ix_pins_artwork_id", "pins", ["artwork_id"])


def downgrade() -> None:
    op.drop_index("ix_pins_artwork_id", table_name="pins")
    op.drop_index("ix_pins_cid", table_name="pins")
    op.drop_table("pins")
