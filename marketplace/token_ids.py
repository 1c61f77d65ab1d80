"""Lazy-mint token ids: the top 160 bits are the creator's address (rarible.md §5.1)."""

from __future__ import annotations

from eth_utils import to_checksum_address

LOW_BITS = 96
MAX_SERIAL = 2**LOW_BITS - 1


class TokenIdError(ValueError):
    pass


def local_token_id(creator: str, serial: int) -> int:
    """(creator << 96) | serial, the form ERC721LazyMinimal.mintAndTransfer requires."""
    if not 0 <= serial <= MAX_SERIAL:
        raise TokenIdError(f"token serial {serial} does not fit in 96 bits")
    return (int(to_checksum_address(creator), 16) << LOW_BITS) | serial


def token_creator(token_id: int) -> str:
    return to_checksum_address((token_id >> LOW_BITS).to_bytes(20, "big"))


def check_token_id(token_id: int, creator: str) -> int:
    """Raise unless the id is a uint256 whose prefix is `creator` ("tokenId incorrect")."""
    if not 0 <= token_id < 2**256:
        raise TokenIdError(f"token id {token_id} is not a uint256")
    if token_creator(token_id) != to_checksum_address(creator):
        raise TokenIdError(
            f"token id {token_id:#066x} must start with creator {to_checksum_address(creator)}"
        )
    return token_id


def serial_of(token_id: int) -> int:
    return token_id & MAX_SERIAL
