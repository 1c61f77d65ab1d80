"""The HTTP client: retries for reads, never for writes, paging, auth, clear errors."""

from __future__ import annotations

import pytest

from marketplace.client import (
    AmbiguousSubmission,
    RaribleAuthError,
    RaribleClient,
    RaribleUnavailable,
    RetryPolicy,
)
from marketplace.networks import MAINNET, SEPOLIA, network_for_mode
from tests.marketplace.helpers import SDK_ADDRESS
from tests.marketplace.rarible_server import SEPOLIA_COLLECTION, running_rarible_server


def _client(
    base: str, *, api_key: str | None = "k", sleeps: list[float] | None = None
) -> RaribleClient:
    return RaribleClient(
        indexer_url=base,
        union_url=base,
        api_key=api_key,
        mode="testnet",
        timeout_s=0.5,
        retry=RetryPolicy(first_delay_s=0.01, max_delay_s=0.05, give_up_after_s=0.5),
        sleep=(sleeps.append if sleeps is not None else (lambda _s: None)),
    )


def test_modes_map_to_networks() -> None:
    assert network_for_mode("testnet") is SEPOLIA and SEPOLIA.chain_id == 11155111
    assert network_for_mode("dry-run") is SEPOLIA
    assert network_for_mode("mainnet") is MAINNET and MAINNET.chain_id == 1
    assert SEPOLIA.indexer_url == "https://testnet-ethereum-api.rarible.org"
    with pytest.raises(ValueError, match="unknown marketplace mode"):
        network_for_mode("prod")


def test_read_retries_429_honouring_retry_after(server) -> None:  # type: ignore[no-untyped-def]
    base, state = server
    state.add_fault("GET", "/v0.1/nft/collections/", "429", times=2)
    sleeps: list[float] = []
    token_id = _client(base, sleeps=sleeps).generate_token_id(SEPOLIA_COLLECTION, SDK_ADDRESS)
    assert token_id >> 96 == int(SDK_ADDRESS, 16)
    assert sleeps == [0.0, 0.0]  # Retry-After: 0 from the server, not our own backoff


def test_read_backs_off_exponentially_on_5xx_then_gives_up(server) -> None:  # type: ignore[no-untyped-def]
    base, state = server
    state.add_fault("GET", "/v0.1/nft/items/", "500", times=1000)
    sleeps: list[float] = []
    with pytest.raises(RaribleUnavailable, match=r"/v0.1/nft/items/.*HTTP 500"):
        _client(base, sleeps=sleeps).get_item(SEPOLIA_COLLECTION, 1)
    assert len(sleeps) >= 3
    assert sleeps[1] > sleeps[0] * 1.2  # x1.5 with +-10 % jitter


def test_writes_are_never_retried(server) -> None:  # type: ignore[no-untyped-def]
    base, state = server
    state.add_fault("POST", "/v0.1/nft/mints", "429")
    with pytest.raises(AmbiguousSubmission, match="HTTP 429"):
        _client(base).mint_lazy({"contract": SEPOLIA_COLLECTION, "tokenId": "1"})
    assert [r for r in state.requests if r[0] == "POST"] == [("POST", "/v0.1/nft/mints")]


def test_api_key_is_sent_and_required() -> None:
    with running_rarible_server(api_key="secret-key") as (base, _state):
        with pytest.raises(RaribleAuthError, match="HTTP 401") as caught:
            _client(base, api_key="wrong").mint_lazy({"contract": "0x1", "tokenId": "1"})
        assert "secret-key" not in str(caught.value)
        assert _client(base, api_key="secret-key").get_item(SEPOLIA_COLLECTION, 5) is None


def test_bids_are_paged_with_continuation(server) -> None:  # type: ignore[no-untyped-def]
    base, state = server
    for n in range(7):
        state.place_bid(SEPOLIA_COLLECTION, 42, f"0x{n + 1:040x}", 10**16 * (n + 1))
    client = _client(base)
    bids = list(
        client._pages(  # small pages to exercise the continuation
            f"{base}/v0.1/order/orders/bids/byItemAndByStatus",
            {"contract": SEPOLIA_COLLECTION.lower(), "tokenId": "42", "status": ["ACTIVE"]},
            "orders",
            3,
        )
    )
    assert len(bids) == 7 and len({b["hash"] for b in bids}) == 7
    pages = [p for m, p in state.requests if p.endswith("byItemAndByStatus")]
    assert len(pages) == 3
