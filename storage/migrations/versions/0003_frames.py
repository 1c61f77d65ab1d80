"""Generated frames; artworks.init_image_blob (v3).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "frames",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("artwork_id", sa.Integer(), sa.ForeignKey("artworks.id"), nullable=False),
        sa.Column("iteration", sa.Integer(), nullable=False),
        sa.Column("blob_sha256", sa.String(), nullable=False),
        sa.Column("loss", sa.Float()),
        sa.Column("prompt", sa.String(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("chosen", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("artwork_id", "seed", "iteration", name="uq_frame_run_iteration"),
    )
    op.create_index("ix_frames_artwork_id", "frames", ["artwork_id"])
    op.add_column("artworks", sa.Column("init_image_blob", sa.String()))


def downgrade() -> None:
    with op.batch_alter_table("artworks") as batch:
        batch.drop_column("init_image_blob")
    op.drop_index("ix_frames_artwork_id", table_name="frames")
    op.drop_table("frames")
