from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from scraper.http import HttpClient, HttpPolicy
from storage.db import make_engine
from tests.scraper.fake_marketplace import FakeMarketplace, RunningServer

FAST = HttpPolicy(
    rate_per_second=50.0,
    burst=1,
    concurrency=4,
    timeout_s=2.0,
    max_attempts=4,
    backoff_base_s=0.01,
    backoff_cap_s=0.05,
    user_agent="nftbot-tests/1.0 (+scraper suite)",
)


@pytest.fixture
def market() -> FakeMarketplace:
    return FakeMarketplace()


@pytest.fixture
def server(market: FakeMarketplace) -> Iterator[RunningServer]:
    with RunningServer(market) as running:
        yield running


@pytest.fixture
def client() -> Iterator[HttpClient]:
    with HttpClient(FAST) as http:
        yield http


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return make_engine(f"sqlite:///{tmp_path / 'bot.db'}")
