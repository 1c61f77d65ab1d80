"""ExchangeV2 asset classes, their ABI encodings and their JSON forms (rarible.md §6.2-§6.4).

An `AssetType` carries both what is signed (`asset_class` bytes4 + `data` bytes) and what the
Ethereum indexer API expects in an OrderForm, built from the same values so they cannot drift.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from eth_abi import encode
from eth_utils import keccak, to_checksum_address

PART_TUPLE = "(address,uint96)"
MINT721_DATA_TUPLE = f"(uint256,string,{PART_TUPLE}[],{PART_TUPLE}[],bytes[])"
UINT96_MAX = 2**96 - 1


def class_id(name: str) -> bytes:
    """bytes4(keccak256(name)), e.g. ETH -> 0xaaaebeba."""
    return keccak(text=name)[:4]


@dataclass(frozen=True)
class Part:
    """An account and a share in basis points (creators, royalties, payouts, fees)."""

    account: str
    value: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "account", to_checksum_address(self.account))
        if not 0 <= self.value <= UINT96_MAX:
            raise ValueError(f"part value {self.value} for {self.account} is outside uint96")

    def as_tuple(self) -> tuple[str, int]:
        return (self.account, self.value)

    def as_json(self) -> dict[str, Any]:
        return {"account": self.account.lower(), "value": self.value}


def parts_from_json(items: list[dict[str, Any]]) -> tuple[Part, ...]:
    return tuple(Part(str(item["account"]).split(":")[-1], int(item["value"])) for item in items)


@dataclass(frozen=True)
class LazyMint721:
    """The Mint721Data a lazy ERC-721 carries: what the creator signed, plus the signatures."""

    contract: str
    token_id: int
    uri: str
    creators: tuple[Part, ...]
    royalties: tuple[Part, ...]
    signatures: tuple[str, ...] = field(default=())

    def encode_data(self) -> bytes:
        """abi.encode(address token, Mint721Data): the ERC721_LAZY AssetType.data (vector C)."""
        mint = (
            self.token_id,
            self.uri,
            [p.as_tuple() for p in self.creators],
            [p.as_tuple() for p in self.royalties],
            [bytes.fromhex(s.removeprefix("0x")) for s in self.signatures],
        )
        return encode(["address", MINT721_DATA_TUPLE], [to_checksum_address(self.contract), mint])

    def as_lazy_nft_json(self) -> dict[str, Any]:
        """Body of `POST /v0.1/nft/mints` (LazyNft + LazyErc721, rarible.md §5.4)."""
        return {
            "@type": "ERC721",
            "contract": self.contract.lower(),
            "tokenId": str(self.token_id),
            "uri": self.uri,
            "creators": [p.as_json() for p in self.creators],
            "royalties": [p.as_json() for p in self.royalties],
            "signatures": list(self.signatures),
        }

    @classmethod
    def from_lazy_nft_json(cls, body: dict[str, Any]) -> LazyMint721:
        return cls(
            contract=str(body["contract"]),
            token_id=int(body["tokenId"]),
            uri=str(body["uri"]),
            creators=parts_from_json(body["creators"]),
            royalties=parts_from_json(body["royalties"]),
            signatures=tuple(body["signatures"]),
        )


@dataclass(frozen=True)
class AssetType:
    asset_class: str
    data: bytes
    form: dict[str, Any]

    @property
    def class_bytes(self) -> bytes:
        return class_id(self.asset_class)

    def struct(self) -> dict[str, Any]:
        return {"assetClass": self.class_bytes, "data": self.data}


def eth_asset() -> AssetType:
    return AssetType("ETH", b"", {"assetClass": "ETH"})


def erc20_asset(token: str) -> AssetType:
    token = to_checksum_address(token)
    return AssetType(
        "ERC20", encode(["address"], [token]), {"assetClass": "ERC20", "contract": token.lower()}
    )


def erc721_asset(token: str, token_id: int) -> AssetType:
    token = to_checksum_address(token)
    return AssetType(
        "ERC721",
        encode(["address", "uint256"], [token, token_id]),
        {"assetClass": "ERC721", "contract": token.lower(), "tokenId": str(token_id)},
    )


def erc721_lazy_asset(mint: LazyMint721) -> AssetType:
    form = mint.as_lazy_nft_json()
    form.pop("@type")
    return AssetType("ERC721_LAZY", mint.encode_data(), {"assetClass": "ERC721_LAZY", **form})


@dataclass(frozen=True)
class Asset:
    asset_type: AssetType
    value: int

    def struct(self) -> dict[str, Any]:
        return {"assetType": self.asset_type.struct(), "value": self.value}

    def as_json(self) -> dict[str, Any]:
        return {"assetType": self.asset_type.form, "value": str(self.value)}


class OrderDataVersion(StrEnum):
    """Only the versions the current ExchangeV2 accepts; V3_SELL/V3_BUY revert on-chain (§6.4)."""

    V1 = "RARIBLE_V2_DATA_V1"
    V2 = "RARIBLE_V2_DATA_V2"
    V3 = "RARIBLE_V2_DATA_V3"


_DATA_TYPE_IDS = {
    OrderDataVersion.V1: bytes.fromhex("4c234266"),
    OrderDataVersion.V2: bytes.fromhex("23d235ef"),
    OrderDataVersion.V3: bytes.fromhex("4ade54ca"),
}


@dataclass(frozen=True)
class OrderData:
    version: OrderDataVersion
    payouts: tuple[Part, ...] = ()
    origin_fees: tuple[Part, ...] = ()
    is_make_fill: bool = True

    @property
    def data_type(self) -> bytes:
        return _DATA_TYPE_IDS[self.version]

    def encode(self) -> bytes:
        """abi.encode(struct): a dynamic struct, so it starts with the 0x20 offset word."""
        payouts = [p.as_tuple() for p in self.payouts]
        fees = [p.as_tuple() for p in self.origin_fees]
        if self.version is OrderDataVersion.V1:
            return encode([f"({PART_TUPLE}[],{PART_TUPLE}[])"], [(payouts, fees)])
        return encode(
            [f"({PART_TUPLE}[],{PART_TUPLE}[],bool)"], [(payouts, fees, self.is_make_fill)]
        )

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "dataType": self.version.value,
            "payouts": [p.as_json() for p in self.payouts],
            "originFees": [p.as_json() for p in self.origin_fees],
        }
        if self.version is not OrderDataVersion.V1:
            body["isMakeFill"] = self.is_make_fill
        return body
