"""Storage: the database (SQLite or PostgreSQL: models, sessions, Alembic revisions, store
errors), content-addressed blobs, IPFS."""
