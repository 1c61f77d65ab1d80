"""Where each mode talks to and which contracts it signs for (rarible.md §1.1 and §4)."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Network:
    """One Rarible environment: chain, API hosts and the contracts the signatures name."""

    name: str
    chain_id: int
    indexer_url: str  # Ethereum indexer API: lazy mint, token ids, order upsert, bids
    union_url: str  # Multichain API: sale activities
    exchange: str  # ExchangeV2, the EIP-712 verifyingContract of orders
    collection: str  # shared lazy-mint ERC-721 (ERC721RaribleMinimal)
    weth: str  # the ERC-20 bids are made in

    def with_overrides(self, *, api_url: str | None, collection: str | None) -> Network:
        """One base URL for both APIs (tests, proxies) and/or another collection."""
        network = self
        if api_url:
            base = api_url.rstrip("/")
            network = replace(network, indexer_url=base, union_url=base)
        if collection:
            network = replace(network, collection=collection)
        return network


SEPOLIA = Network(
    name="sepolia",
    chain_id=11155111,
    indexer_url="https://testnet-ethereum-api.rarible.org",
    union_url="https://testnet-api.rarible.org",
    exchange="0x3e52D660b69d1bDacb6C513cE085D924F5Cb9c77",
    collection="0xe10605b2026884aCc669C2A9Cd4A5ec5f5FFf494",
    weth="0xfff9976782d46cc05630d1f6ebab18b2324d6b14",
)

MAINNET = Network(
    name="mainnet",
    chain_id=1,
    indexer_url="https://ethereum-api.rarible.org",
    union_url="https://api.rarible.org",
    exchange="0x9757F2d2b135150BBeb65308D4a91804107cd8D6",
    collection="0xc9154424B823b10579895cCBE442d41b9Abd96Ed",
    weth="0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2",
)


def network_for_mode(mode: str) -> Network:
    """dry-run signs exactly what testnet would send; only mainnet signs for chain 1."""
    if mode == "mainnet":
        return MAINNET
    if mode in {"testnet", "dry-run"}:
        return SEPOLIA
    raise ValueError(f"unknown marketplace mode {mode!r}: use dry-run, testnet or mainnet")
