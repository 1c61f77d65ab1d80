"""Alembic revisions of the store's schema (`versions/`), run by `storage.schema`.

Revisions are written with SQLAlchemy types and `op.batch_alter_table`, so one revision runs
on SQLite and PostgreSQL alike. Revisions 0001–0006 reproduce, step by step, the hand-written
schema v1–v6 that releases before Alembic created, so such a database is stamped at its
matching revision and upgraded with its data (`storage.schema.adopt_legacy`).
"""
