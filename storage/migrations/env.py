"""Alembic environment: always run on a connection the bot hands in (`storage.schema`).

There is no alembic.ini and no URL here: the engine is built by `storage.db.make_engine` from
the settings, and `storage.schema` passes its connection in `config.attributes`. SQLite gets
batch mode (ALTER TABLE by copy), PostgreSQL runs the same revisions directly.
"""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from storage.models import load_all_models

load_all_models()
connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    transaction_per_migration=True,
)
with context.begin_transaction():
    context.run_migrations()
