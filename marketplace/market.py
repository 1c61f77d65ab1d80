"""What the publisher and the sync need from a marketplace: `RaribleClient` (testnet, mainnet)
and `OutboxMarket` (dry-run) both provide it, so the mode switch lives in one place."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from marketplace.client import RaribleClient, RetryPolicy
from marketplace.networks import Network
from marketplace.outbox import OutboxMarket


class Market(Protocol):
    mode: str

    @property
    def claim_ttl_s(self) -> float:
        """How long one send may hold its claim: the lookups around it and the request's whole
        timeout, with a margin (a send claim must outlast the send it covers)."""
        ...

    def generate_token_id(self, collection: str, minter: str) -> int | None: ...
    def mint_lazy(self, body: dict[str, Any]) -> dict[str, Any]: ...
    def get_item(self, collection: str, token_id: int) -> dict[str, Any] | None: ...
    def upsert_order(self, form: dict[str, Any], *, order_hash: str) -> dict[str, Any]: ...
    def get_order(self, order_hash: str) -> dict[str, Any] | None: ...
    def sell_orders_by_item(self, collection: str, token_id: int) -> Iterator[dict[str, Any]]: ...
    def bids_by_item(
        self, collection: str, token_id: int, statuses: tuple[str, ...]
    ) -> Iterator[dict[str, Any]]: ...
    def sale_activities(
        self, seller: str, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]: ...
    def item_sale_activities(
        self, collection: str, token_id: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]: ...
    def order_fees(self) -> dict[str, Any] | None: ...


def open_market(
    mode: str,
    network: Network,
    *,
    outbox_dir: Path,
    api_key: str | None,
    timeout_s: float = 30.0,
    retry: RetryPolicy | None = None,
    user_agent: str = "nftbot",
) -> Market:
    """dry-run -> the outbox; testnet/mainnet -> the real API of `network`."""
    if mode == "dry-run":
        return OutboxMarket(outbox_dir)
    return RaribleClient(
        indexer_url=network.indexer_url,
        union_url=network.union_url,
        api_key=api_key,
        mode=mode,
        timeout_s=timeout_s,
        retry=retry,
        user_agent=user_agent,
    )
