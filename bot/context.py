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
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        if self._engine is not None:
            return self._engine
        from storage.db import make_engine

        # Commands never migrate silently: an older database is refused with the command that
        # upgrades it (`bot db upgrade`), a newer one always (storage/schema.py).
        return make_engine(self.settings.db_url, schema_policy="check")

    @cached_property
    def blobs(self) -> BlobStore:
        from storage.blobstore import BlobStore

        return BlobStore(self.settings.blob_dir)
