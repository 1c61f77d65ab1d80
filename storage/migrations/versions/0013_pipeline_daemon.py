"""The bot's own bookkeeping: artwork leases, the store's marketplace mode, the daemon's
heartbeat and APScheduler's job store.

- `artworks.claim_owner` / `artworks.claim_expires_at`: the lease of a worker on an artwork
  in work (storage/leases.py); the same column names as the send claims of mint and order
  intents, so one set of claim functions serves every claimable table.
- `store_info`: key/value facts about the store itself; `marketplace_mode` records the mode
  (dry-run, testnet, mainnet) the database belongs to (storage/store_mode.py).
- `daemon_heartbeats`: one row per daemon start: who (host, pid), when it started, its last
  beat, when and how it stopped, what it cannot do yet.
- `apscheduler_jobs`: exactly the table APScheduler 3's SQLAlchemyJobStore creates (a 191-char
  unicode id, an 8-byte float next run time with its index, the pickled job), so the job store
  finds it and creates nothing, and the schema stays under Alembic.

Revision ID: 0013
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("artworks", sa.Column("claim_owner", sa.String()))
    op.add_column("artworks", sa.Column("claim_expires_at", TS))
    op.create_table(
        "store_info",
        sa.Column("key", sa.String(), primary_key=True),
        sa.Column("value", sa.String(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "daemon_heartbeats",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("owner", sa.String(), nullable=False),
        sa.Column("host", sa.String(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("beat_at", TS, nullable=False),
        sa.Column("stopped_at", TS),
        sa.Column("note", sa.Text()),
    )
    op.create_index("ix_daemon_heartbeats_owner", "daemon_heartbeats", ["owner"], unique=True)
    op.create_table(
        "apscheduler_jobs",
        sa.Column("id", sa.Unicode(191), primary_key=True),
        sa.Column("next_run_time", sa.Float(25)),
        sa.Column("job_state", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_apscheduler_jobs_next_run_time", "apscheduler_jobs", ["next_run_time"])


def downgrade() -> None:
    op.drop_index("ix_apscheduler_jobs_next_run_time", table_name="apscheduler_jobs")
    op.drop_table("apscheduler_jobs")
    op.drop_index("ix_daemon_heartbeats_owner", table_name="daemon_heartbeats")
    op.drop_table("daemon_heartbeats")
    op.drop_table("store_info")
    with op.batch_alter_table("artworks") as batch:
        batch.drop_column("claim_expires_at")
        batch.drop_column("claim_owner")
