from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from marketplace.client import RaribleClient, RetryPolicy
from marketplace.networks import SEPOLIA, Network
from marketplace.wallet import Wallet
from storage.db import make_engine
from tests.marketplace.rarible_server import RaribleState, running_rarible_server

FAST_RETRY = RetryPolicy(first_delay_s=0.01, factor=1.5, max_delay_s=0.05, give_up_after_s=1.0)


@pytest.fixture
def server() -> Iterator[tuple[str, RaribleState]]:
    with running_rarible_server(timeout_fault_s=2.0) as running:
        yield running


@pytest.fixture
def network(server: tuple[str, RaribleState]) -> Network:
    return SEPOLIA.with_overrides(api_url=server[0], collection=None)


@pytest.fixture
def client(network: Network) -> RaribleClient:
    return RaribleClient(
        indexer_url=network.indexer_url,
        union_url=network.union_url,
        api_key="test-key",
        mode="testnet",
        timeout_s=0.5,
        retry=FAST_RETRY,
    )


@pytest.fixture
def wallet() -> Wallet:
    return Wallet(secrets.token_bytes(32))


@pytest.fixture
def engine(db_url: str) -> Engine:
    """A migrated store on each engine (SQLite, PostgreSQL: see tests/conftest.py db_url)."""
    return make_engine(db_url)
