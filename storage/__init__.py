"""Storage: SQLite database (models, sessions, migrations), content-addressed blobs, IPFS."""
