"""The Kaggle "NFT art collection 2021" CSV behind the same `fetch_page(cursor)` interface.

Parsing and validation are the foundation's (`scraper.kaggle_csv.read_kaggle_csv`); this
adapter only pages through its result so that `bot scrape kaggle` gets cursors, runs and the
same summary as the live sources. The cursor is the index of the next row.
"""

from __future__ import annotations

from pathlib import Path

from scraper.errors import ItemError
from scraper.kaggle_csv import MARKETPLACE, SOURCE, KaggleReadResult, read_kaggle_csv
from scraper.source import Page, ScrapedListing


class KaggleCsvSource:
    name = SOURCE
    marketplace = MARKETPLACE

    def __init__(self, csv_path: Path, images_dir: Path | None = None, page_size: int = 500):
        self.csv_path = Path(csv_path)
        self.images_dir = images_dir
        self.collection = self.csv_path.stem
        self.page_size = page_size
        self._read: KaggleReadResult | None = None

    def fetch_page(self, cursor: str | None, size: int | None = None) -> Page:
        if self._read is None:
            self._read = read_kaggle_csv(self.csv_path, self.images_dir)
        rows = self._read.rows
        try:
            start = int(cursor) if cursor else 0
        except ValueError:
            raise ValueError(f"Kaggle cursor {cursor!r} is not a row index") from None
        stop = min(len(rows), start + min(size or self.page_size, self.page_size))
        page = Page(
            listings=[ScrapedListing(dict(row)) for row in rows[start:stop]],
            next_cursor=str(stop) if stop < len(rows) else None,
        )
        if start == 0:  # the file's bad rows are reported once per pass, with the first page
            page.failures = [
                ItemError(f"{self.csv_path.name} line {e.line} ({e.item})", e.reason)
                for e in self._read.errors
            ]
        return page
