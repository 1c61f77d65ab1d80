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
        from storage.db import make_engine

        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        return self._engine or make_engine(self.settings.db_url)

    @cached_property
    def blobs(self) -> BlobStore:
        from storage.blobstore import BlobStore

        return BlobStore(self.settings.blob_dir)
