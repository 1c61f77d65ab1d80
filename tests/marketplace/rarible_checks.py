"""What Rarible checks before it stores a lazy item or an order, written independently of
`marketplace/` (straight from the contracts' type strings and rarible.md §5.2, §6, §9), so a bug
in the bot's encoder makes a signature fail here instead of agreeing with itself.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from eth_abi import encode
from eth_utils import keccak, to_checksum_address

_limit = sys.getrecursionlimit()
try:  # py_ecc (imported by eth_account) raises the recursion limit; the suite keeps it
    from eth_account import Account
    from eth_account.messages import encode_typed_data
finally:
    sys.setrecursionlimit(_limit)

_DOMAIN = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
_PART = [{"name": "account", "type": "address"}, {"name": "value", "type": "uint96"}]
# RaribleTransferManager.transferRoyalties: require(totalRoyalties <= 5000, "Royalties are too
# high (>50%)"). The lazy asset carries its royalties, so mints and sell orders are refused here.
MAX_ROYALTIES_BPS = 5000
_DATA_TYPES = {"RARIBLE_V2_DATA_V1": "V1", "RARIBLE_V2_DATA_V2": "V2", "RARIBLE_V2_DATA_V3": "V3"}


class Invalid(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def as_address(value: Any) -> str:
    return to_checksum_address(str(value).split(":")[-1])


def _parts(items: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [(as_address(p["account"]), int(p["value"])) for p in items]


class RaribleChecks:
    """The validators: Mint721 signatures, the token id prefix rule, creator and royalty sums,
    order signatures and data types. `RaribleState` (the server's store) inherits them."""

    def __init__(self, *, chain_id: int, exchange: str, collections: set[str]) -> None:
        self.chain_id = chain_id
        self.exchange = to_checksum_address(exchange)
        self.collections = {c.lower() for c in collections}

    def _mint721_typed(self, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "types": {
                "EIP712Domain": _DOMAIN,
                "Mint721": [
                    {"name": "tokenId", "type": "uint256"},
                    {"name": "tokenURI", "type": "string"},
                    {"name": "creators", "type": "Part[]"},
                    {"name": "royalties", "type": "Part[]"},
                ],
                "Part": _PART,
            },
            "primaryType": "Mint721",
            "domain": {
                "name": "Mint721",
                "version": "1",
                "chainId": self.chain_id,
                "verifyingContract": as_address(body["contract"]),
            },
            "message": {
                "tokenId": int(body["tokenId"]),
                "tokenURI": body["uri"],
                "creators": [{"account": a, "value": v} for a, v in _parts(body["creators"])],
                "royalties": [{"account": a, "value": v} for a, v in _parts(body["royalties"])],
            },
        }

    def verify_lazy(self, body: dict[str, Any]) -> None:
        for key in ("contract", "tokenId", "uri", "creators", "royalties", "signatures"):
            if key not in body:
                raise Invalid("VALIDATION", f"missing field {key}")
        if "tokenURI" in body:
            raise Invalid("VALIDATION", "send uri, not tokenURI")
        if str(body["contract"]).lower() not in self.collections:
            raise Invalid("VALIDATION", "collection does not support MINT_AND_TRANSFER")
        token_id = int(body["tokenId"])
        if not 0 <= token_id < 2**256:
            raise Invalid("VALIDATION", f"TokenId {token_id} has invalid hex size")
        creators = _parts(body["creators"])
        if not creators:
            raise Invalid("VALIDATION", "no creators")
        first = to_checksum_address((token_id >> 96).to_bytes(20, "big"))
        if first != creators[0][0]:
            raise Invalid("VALIDATION", f"TokenId {token_id} must start with first creator address")
        if sum(v for _, v in creators) != 10000:
            raise Invalid("VALIDATION", "creators must sum to 10000")
        if len({a for a, _ in creators}) != len(creators):
            raise Invalid("VALIDATION", "NotUniqCreators")
        royalties = sum(v for _, v in _parts(body["royalties"]))
        if royalties >= 10000:
            raise Invalid("VALIDATION", "Royalty total value should be < 10000")
        if royalties > MAX_ROYALTIES_BPS:
            # ExchangeV2 (RaribleTransferManager.transferRoyalties) reverts every sale of such an
            # item, so accepting the mint would list something no one can ever buy.
            raise Invalid("VALIDATION", "Royalties are too high (>50%)")
        if len(body["signatures"]) != len(creators):
            raise Invalid("VALIDATION", "InvalidCreatorAndSignatureSize")
        signable = encode_typed_data(full_message=self._mint721_typed(body))
        for (creator, _), signature in zip(creators, body["signatures"], strict=True):
            try:
                recovered = Account.recover_message(signable, signature=signature)
            except Exception:
                recovered = None
            if recovered != creator:
                raise Invalid("INCORRECT_SIGNATURE", f"InvalidCreatorSignature for {creator}")

    def _asset_type(self, form: dict[str, Any]) -> tuple[bytes, bytes]:
        asset_class = form["assetClass"]
        class_id = keccak(text=asset_class)[:4]
        if asset_class == "ETH":
            return class_id, b""
        if asset_class == "ERC20":
            return class_id, encode(["address"], [as_address(form["contract"])])
        if asset_class == "ERC721":
            return class_id, encode(
                ["address", "uint256"], [as_address(form["contract"]), int(form["tokenId"])]
            )
        if asset_class == "ERC721_LAZY":
            self.verify_lazy(form)
            mint = (
                int(form["tokenId"]),
                form["uri"],
                _parts(form["creators"]),
                _parts(form["royalties"]),
                [bytes.fromhex(s[2:]) for s in form["signatures"]],
            )
            tuple_type = "(uint256,string,(address,uint96)[],(address,uint96)[],bytes[])"
            return class_id, encode(["address", tuple_type], [as_address(form["contract"]), mint])
        raise Invalid("VALIDATION", f"asset class {asset_class} not supported here")

    def _order_data(self, data: dict[str, Any]) -> tuple[bytes, bytes]:
        data_type = data.get("dataType")
        if data_type not in _DATA_TYPES:
            raise Invalid("VALIDATION", f"Unknown Order data type {data_type}")
        payouts, fees = _parts(data.get("payouts", [])), _parts(data.get("originFees", []))
        name = _DATA_TYPES[data_type]
        type_id = keccak(text=name)[:4]
        if name == "V1":
            return type_id, encode(["((address,uint96)[],(address,uint96)[])"], [(payouts, fees)])
        return type_id, encode(
            ["((address,uint96)[],(address,uint96)[],bool)"],
            [(payouts, fees, bool(data["isMakeFill"]))],
        )

    def verify_order(self, form: dict[str, Any]) -> str:
        """Checks an OrderForm and returns its hashKey (the order id)."""
        if form.get("type") != "RARIBLE_V2":
            raise Invalid("VALIDATION", f"order type {form.get('type')} not supported")
        make_class, make_data = self._asset_type(form["make"]["assetType"])
        take_class, take_data = self._asset_type(form["take"]["assetType"])
        data_type, data = self._order_data(form["data"])
        salt, start, end = int(form["salt"]), int(form.get("start") or 0), int(form["end"])
        if salt == 0:
            raise Invalid("VALIDATION", "salt 0 orders cannot be posted")
        if end and end < time.time():
            raise Invalid("VALIDATION", "Order end validation failed")
        if end and start > end:
            raise Invalid("VALIDATION", "Order start validation failed")
        taker = as_address(form.get("taker") or "0x" + "00" * 20)
        message = {
            "maker": as_address(form["maker"]),
            "makeAsset": {
                "assetType": {"assetClass": make_class, "data": make_data},
                "value": int(form["make"]["value"]),
            },
            "taker": taker,
            "takeAsset": {
                "assetType": {"assetClass": take_class, "data": take_data},
                "value": int(form["take"]["value"]),
            },
            "salt": salt,
            "start": start,
            "end": end,
            "dataType": data_type,
            "data": data,
        }
        typed = {
            "types": {
                "EIP712Domain": _DOMAIN,
                "AssetType": [
                    {"name": "assetClass", "type": "bytes4"},
                    {"name": "data", "type": "bytes"},
                ],
                "Asset": [
                    {"name": "assetType", "type": "AssetType"},
                    {"name": "value", "type": "uint256"},
                ],
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
            },
            "primaryType": "Order",
            "domain": {
                "name": "Exchange",
                "version": "2",
                "chainId": self.chain_id,
                "verifyingContract": self.exchange,
            },
            "message": message,
        }
        try:
            recovered = Account.recover_message(
                encode_typed_data(full_message=typed), signature=form["signature"]
            )
        except Exception:
            recovered = None
        if recovered != message["maker"]:
            raise Invalid("INCORRECT_SIGNATURE", "Maker's signature is not valid for V2 order")
        type_hash = keccak(text="AssetType(bytes4 assetClass,bytes data)")

        def asset_hash(class_id: bytes, body: bytes) -> bytes:
            return keccak(
                encode(["bytes32", "bytes4", "bytes32"], [type_hash, class_id, keccak(body)])
            )

        key_types = ["address", "bytes32", "bytes32", "uint256"]
        key_values: list[Any] = [
            message["maker"],
            asset_hash(make_class, make_data),
            asset_hash(take_class, take_data),
            salt,
        ]
        if _DATA_TYPES[form["data"]["dataType"]] != "V1":
            key_types.append("bytes")
            key_values.append(data)
        return "0x" + keccak(encode(key_types, key_values)).hex()
