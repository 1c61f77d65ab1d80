"""What a command or the daemon needs, built once from settings and passed in explicitly."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy.engine import Engine

from bot.settings import Settings
from storage.blobstore import BlobStore
from storage.db import make_engine


@dataclass
class AppContext:
    settings: Settings
    _engine: Engine | None = field(default=None, repr=False)

    @cached_property
    def engine(self) -> Engine:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        return self._engine or make_engine(self.settings.db_url)

    @cached_property
    def blobs(self) -> BlobStore:
        return BlobStore(self.settings.blob_dir)
