"""What a command or the daemon needs, built once from settings and passed in explicitly."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from bot.settings import Settings

if TYPE_CHECKING:  # imported when used: `bot --help` and completion load no database code
    from sqlalchemy.engine import Engine

    from storage.blobstore import BlobStore


@dataclass
class AppContext:
    settings: Settings
    _engine: Engine | None = field(default=None, repr=False)

    @cached_property
    def engine(self) -> Engine:
        """The store for commands that write: created at the head revision when missing."""
        if self._engine is not None:
            return self._engine
        from storage.db import make_engine, refuse_damaged
        from storage.errors import StoreUnavailable, classify_os_error

        try:
            self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise classify_os_error(exc) or StoreUnavailable(
                f"cannot create the data dir {self.settings.data_dir}: {exc.strerror}"
            ) from exc
        # Commands never migrate silently: an older database is refused with the command that
        # upgrades it (`bot db upgrade`), a newer one always (storage/schema.py).
        engine = make_engine(self.settings.db_url, schema_policy="check")
        # Random bytes over a page SQLite would only notice when a query reads that page:
        # check the file once before a command writes (SQLite; ~2 ms per MB).
        refuse_damaged(engine)
        return engine

    @cached_property
    def reader(self) -> Engine:
        """The store for commands that only read (status, reports, listings): opened
        read-only, so they work on a read-only data dir and never create or change anything;
        a database that does not exist yet reads as empty."""
        if self._engine is not None:
            return self._engine
        from storage.db import make_engine

        return make_engine(self.settings.db_url, schema_policy="check", read_only=True)

    @cached_property
    def blobs(self) -> BlobStore:
        from storage.blobstore import BlobStore

        return BlobStore(self.settings.blob_dir)
