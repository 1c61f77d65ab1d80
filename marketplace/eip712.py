"""EIP-712 typed data for `Mint721` (lazy mint) and the ExchangeV2 `Order` (rarible.md §5.2, §6.1).

The three SDK vectors of rarible.md §8 are reproduced byte for byte in tests/marketplace.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from eth_abi import encode
from eth_utils import keccak, to_checksum_address

from marketplace.assets import Asset, AssetType, LazyMint721, OrderData, Part
from marketplace.signing_stack import Account, encode_typed_data

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"

DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
PART_TYPE = [{"name": "account", "type": "address"}, {"name": "value", "type": "uint96"}]
MINT721_TYPES = {
    "EIP712Domain": DOMAIN_TYPE,
    "Mint721": [
        {"name": "tokenId", "type": "uint256"},
        {"name": "tokenURI", "type": "string"},
        {"name": "creators", "type": "Part[]"},
        {"name": "royalties", "type": "Part[]"},
    ],
    "Part": PART_TYPE,
}
ORDER_TYPES = {
    "EIP712Domain": DOMAIN_TYPE,
    "AssetType": [{"name": "assetClass", "type": "bytes4"}, {"name": "data", "type": "bytes"}],
    "Asset": [{"name": "assetType", "type": "AssetType"}, {"name": "value", "type": "uint256"}],
    "Order": [
        {"name": "maker", "type": "address"},
        {"name": "makeAsset", "type": "Asset"},
        {"name": "taker", "type": "address"},
        {"name": "takeAsset", "type": "Asset"},
        {"name": "salt", "type": "uint256"},
        {"name": "start", "type": "uint256"},
        {"name": "end", "type": "uint256"},
        {"name": "dataType", "type": "bytes4"},
        {"name": "data", "type": "bytes"},
    ],
}
ASSET_TYPE_TYPEHASH = keccak(text="AssetType(bytes4 assetClass,bytes data)")


class Signer(Protocol):
    """Anything that signs EIP-712 typed data for one address (the unlocked wallet)."""

    @property
    def address(self) -> str: ...

    def sign_typed_data(self, typed_data: dict[str, Any]) -> str: ...


def _domain(name: str, version: str, chain_id: int, contract: str) -> dict[str, Any]:
    return {
        "name": name,
        "version": version,
        "chainId": chain_id,
        "verifyingContract": to_checksum_address(contract),
    }


def _parts(parts: tuple[Part, ...]) -> list[dict[str, Any]]:
    return [{"account": p.account, "value": p.value} for p in parts]


def mint721_typed_data(mint: LazyMint721, chain_id: int) -> dict[str, Any]:
    """Domain Mint721/1/chainId/collection; the signatures themselves are not signed."""
    return {
        "types": MINT721_TYPES,
        "primaryType": "Mint721",
        "domain": _domain("Mint721", "1", chain_id, mint.contract),
        "message": {
            "tokenId": mint.token_id,
            "tokenURI": mint.uri,
            "creators": _parts(mint.creators),
            "royalties": _parts(mint.royalties),
        },
    }


@dataclass(frozen=True)
class Order:
    """An ExchangeV2 order (LibOrder.Order) with its data struct."""

    maker: str
    make: Asset
    take: Asset
    salt: int
    start: int
    end: int
    data: OrderData
    taker: str = ZERO_ADDRESS

    def struct(self) -> dict[str, Any]:
        return {
            "maker": to_checksum_address(self.maker),
            "makeAsset": self.make.struct(),
            "taker": to_checksum_address(self.taker),
            "takeAsset": self.take.struct(),
            "salt": self.salt,
            "start": self.start,
            "end": self.end,
            "dataType": self.data.data_type,
            "data": self.data.encode(),
        }

    def hash_key(self) -> str:
        """LibOrder.hashKey: the order id the API reports and Match/Cancel events carry."""
        values: list[Any] = [
            to_checksum_address(self.maker),
            asset_type_hash(self.make.asset_type),
            asset_type_hash(self.take.asset_type),
            self.salt,
        ]
        types = ["address", "bytes32", "bytes32", "uint256"]
        if self.data.data_type != bytes.fromhex("4c234266"):  # V2+ put the data in the key
            values.append(self.data.encode())
            types.append("bytes")
        return "0x" + keccak(encode(types, values)).hex()

    def as_form(self, signature: str) -> dict[str, Any]:
        """Body of `POST /v0.1/order/orders` (OrderForm + RaribleV2OrderForm, §6.6)."""
        form: dict[str, Any] = {
            "type": "RARIBLE_V2",
            "maker": self.maker.lower(),
            "make": self.make.as_json(),
            "take": self.take.as_json(),
            "salt": str(self.salt),
            "start": self.start,
            "end": self.end,
            "data": self.data.as_json(),
            "signature": signature,
        }
        if self.taker != ZERO_ADDRESS:  # an open order has no taker field at all
            form["taker"] = self.taker.lower()
        return form


def asset_type_hash(asset_type: AssetType) -> bytes:
    """LibAsset.hash(AssetType)."""
    return keccak(
        encode(
            ["bytes32", "bytes4", "bytes32"],
            [ASSET_TYPE_TYPEHASH, asset_type.class_bytes, keccak(asset_type.data)],
        )
    )


def order_typed_data(order: Order, chain_id: int, exchange: str) -> dict[str, Any]:
    return {
        "types": ORDER_TYPES,
        "primaryType": "Order",
        "domain": _domain("Exchange", "2", chain_id, exchange),
        "message": order.struct(),
    }


def digest(typed_data: dict[str, Any]) -> bytes:
    """The 32 bytes actually signed: keccak256(0x1901 ‖ domainSeparator ‖ structHash)."""
    signable = encode_typed_data(full_message=typed_data)
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def sign_with_key(typed_data: dict[str, Any], private_key: bytes) -> str:
    """r‖s‖v with v in {27, 28}, as the contracts and the API expect (§5.2)."""
    signed = Account.sign_message(encode_typed_data(full_message=typed_data), private_key)
    signature = bytes(signed.signature)
    if signature[64] < 27:
        signature = signature[:64] + bytes([signature[64] + 27])
    return "0x" + signature.hex()


def recover_signer(typed_data: dict[str, Any], signature: str) -> str:
    return Account.recover_message(encode_typed_data(full_message=typed_data), signature=signature)
