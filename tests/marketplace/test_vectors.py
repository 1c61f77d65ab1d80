"""The three SDK test vectors of rarible.md §8, byte for byte, plus encodings around them."""

from __future__ import annotations

import pytest
from eth_utils import keccak

from marketplace.assets import (
    Asset,
    LazyMint721,
    OrderData,
    OrderDataVersion,
    Part,
    class_id,
    erc20_asset,
    erc721_asset,
    erc721_lazy_asset,
)
from marketplace.eip712 import (
    Order,
    digest,
    mint721_typed_data,
    order_typed_data,
    recover_signer,
    sign_with_key,
)
from tests.marketplace.helpers import SDK_ADDRESS, SDK_KEY

KEY = bytes.fromhex(SDK_KEY)
VECTOR_C = "0x" + (
    "00000000000000000000000044953ab2e88391176576d49ca23df0b8acd793be"
    "0000000000000000000000000000000000000000000000000000000000000040"
    "000000000000000000000000000000000000000000000000000000000000000a"
    "00000000000000000000000000000000000000000000000000000000000000a0"
    "00000000000000000000000000000000000000000000000000000000000000e0"
    "0000000000000000000000000000000000000000000000000000000000000180"
    "0000000000000000000000000000000000000000000000000000000000000220"
    "0000000000000000000000000000000000000000000000000000000000000004"
    "7465737400000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000002"
    "00000000000000000000000044953ab2e88391176576d49ca23df0b8acd793be"
    "0000000000000000000000000000000000000000000000000000000000000064"
    "00000000000000000000000044953ab2e88391176576d49ca23df0b8acd793be"
    "0000000000000000000000000000000000000000000000000000000000000064"
    "0000000000000000000000000000000000000000000000000000000000000002"
    "00000000000000000000000044953ab2e88391176576d49ca23df0b8acd793be"
    "0000000000000000000000000000000000000000000000000000000000000064"
    "00000000000000000000000044953ab2e88391176576d49ca23df0b8acd793be"
    "0000000000000000000000000000000000000000000000000000000000000064"
    "0000000000000000000000000000000000000000000000000000000000000001"
    "0000000000000000000000000000000000000000000000000000000000000020"
    "0000000000000000000000000000000000000000000000000000000000000000"
)


def test_vector_a_mint721_signature() -> None:
    mint = LazyMint721(
        contract="0x2547760120aED692EB19d22A5d9CCfE0f7872fcE",
        token_id=1,
        uri="ipfs://ipfs/hash",
        creators=(Part(SDK_ADDRESS, 10000),),
        royalties=(),
    )
    typed = mint721_typed_data(mint, 300500)
    assert digest(typed).hex() == "8f84e33e4ec84becfa7b6cb7be541ec3a087665498d277bbef07cb699322bd44"
    signature = sign_with_key(typed, KEY)
    assert signature == (
        "0xc0630ed85471ebfcd191b4ef45676520164be53689dd2bc88e9936a6352f653d"
        "7e641d5b1777aaef7e48366ab4e4436963fb0149ae9652b899551799cb02486f1b"
    )
    assert recover_signer(typed, signature) == SDK_ADDRESS


def test_vector_b_v2_order_signature_with_v1_data() -> None:
    one = "0x0000000000000000000000000000000000000001"
    asset = Asset(erc721_asset(one, 10), 10)
    order = Order(
        SDK_ADDRESS, asset, asset, salt=10, start=0, end=0, data=OrderData(OrderDataVersion.V1)
    )
    assert order.struct()["data"].hex() == "".join(
        f"{word:064x}" for word in (0x20, 0x40, 0x60, 0, 0)
    )
    typed = order_typed_data(order, 300500, "0x6aABb267a1c440CfB5C200Ebcd078Efa9249492A")
    assert digest(typed).hex() == "4a02d0ff4adddbbbac65ccbf456801a204bc3c1a7257f86b1a68d79ab8c8479c"
    assert sign_with_key(typed, KEY) == (
        "0xf2f467bd5cd30de2cd6a2b83b8d3b8405a730a0453589ce252b2f25a38b19052"
        "236e0a18d0f44023617f4055822b5f4fbf54dd091e87cf71c4f8f9a133136cf51c"
    )


def test_vector_c_erc721_lazy_asset_data() -> None:
    contract = "0x44953ab2e88391176576d49ca23df0b8acd793be"
    two = (Part(contract, 100), Part(contract, 100))
    lazy = erc721_lazy_asset(LazyMint721(contract, 10, "test", two, two, ("0x",)))
    assert lazy.class_bytes.hex() == "d8f960c1"
    assert "0x" + lazy.data.hex() == VECTOR_C


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ETH", "aaaebeba"),
        ("ERC20", "8ae85d84"),
        ("ERC721", "73ad2146"),
        ("ERC721_LAZY", "d8f960c1"),
        ("ERC1155", "973bb640"),
        ("V1", "4c234266"),
        ("V2", "23d235ef"),
        ("V3", "4ade54ca"),
    ],
)
def test_class_ids(name: str, expected: str) -> None:
    assert class_id(name).hex() == expected


def test_v2_data_keeps_the_leading_offset_word() -> None:
    data = OrderData(OrderDataVersion.V2, is_make_fill=True).encode()
    words = [int.from_bytes(data[i : i + 32], "big") for i in range(0, len(data), 32)]
    assert words == [0x20, 0x60, 0x80, 1, 0, 0]
    assert OrderData(OrderDataVersion.V3).data_type.hex() == "4ade54ca"


def test_deprecated_v3_sell_and_buy_cannot_be_built() -> None:
    assert {v.value for v in OrderDataVersion} == {
        "RARIBLE_V2_DATA_V1",
        "RARIBLE_V2_DATA_V2",
        "RARIBLE_V2_DATA_V3",
    }
    with pytest.raises(ValueError):
        OrderDataVersion("RARIBLE_V2_DATA_V3_SELL")


def test_erc20_asset_data_is_the_abi_encoded_address() -> None:
    weth = "0xfff9976782d46cc05630d1f6ebab18b2324d6b14"
    asset = erc20_asset(weth)
    assert asset.data.hex() == "00" * 12 + weth[2:]
    assert asset.form == {"assetClass": "ERC20", "contract": weth}


def test_hash_key_includes_data_for_v2_only() -> None:
    one = "0x0000000000000000000000000000000000000001"
    asset = Asset(erc721_asset(one, 10), 1)
    v1 = Order(SDK_ADDRESS, asset, asset, 5, 0, 0, OrderData(OrderDataVersion.V1))
    v2 = Order(SDK_ADDRESS, asset, asset, 5, 0, 0, OrderData(OrderDataVersion.V2))
    assert v1.hash_key() != v2.hash_key()
    assert v1.hash_key().startswith("0x") and len(v1.hash_key()) == 66
    assert (
        keccak(
            text="Order(address maker,Asset makeAsset,address taker,Asset takeAsset,"
            "uint256 salt,uint256 start,uint256 end,bytes4 dataType,bytes data)"
            "Asset(AssetType assetType,uint256 value)AssetType(bytes4 assetClass,bytes data)"
        ).hex()
        == "477ed43b8020849b755512278536c3766a3b4ab547519949a75f483372493f8d"
    )
