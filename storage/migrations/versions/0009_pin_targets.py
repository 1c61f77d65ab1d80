"""Pins per (CID, target) with the CID profile that made each CID (v9).

`pins.pinner` becomes `pins.target` (the names stay: without BOT_IPFS_TARGETS the one target is
named after BOT_IPFS_PINNER, as before). Every existing CID was made with the legacy profile of
its version: CIDv0 (`Qm…`) by `legacy-v0`, CIDv1 by `legacy-v1` (the bot never made CIDv1 with
dag-pb leaves). `checked_at` is new and empty.

Revision ID: 0009
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("pins") as batch:
        batch.drop_constraint("uq_pin_cid_pinner", type_="unique")
        batch.alter_column(
            "pinner", new_column_name="target", existing_type=sa.String(), existing_nullable=False
        )
        batch.add_column(sa.Column("profile", sa.String()))
        batch.add_column(sa.Column("checked_at", TS))
    op.execute("UPDATE pins SET profile = 'legacy-v0' WHERE cid LIKE 'Qm%'")
    op.execute("UPDATE pins SET profile = 'legacy-v1' WHERE profile IS NULL")
    # A second batch: the constraint names the renamed column, which a batch that renames it
    # does not know yet (SQLite drops such a constraint silently).
    with op.batch_alter_table("pins") as batch:
        batch.alter_column("profile", existing_type=sa.String(), nullable=False)
        batch.create_unique_constraint("uq_pin_cid_target", ["cid", "target"])


def downgrade() -> None:
    with op.batch_alter_table("pins") as batch:
        batch.drop_constraint("uq_pin_cid_target", type_="unique")
        batch.drop_column("checked_at")
        batch.drop_column("profile")
        batch.alter_column(
            "target", new_column_name="pinner", existing_type=sa.String(), existing_nullable=False
        )
    with op.batch_alter_table("pins") as batch:
        batch.create_unique_constraint("uq_pin_cid_pinner", ["cid", "pinner"])
