from __future__ import annotations

import pytest

from marketplace.token_ids import TokenIdError, check_token_id, local_token_id, token_creator
from tests.marketplace.helpers import SDK_ADDRESS


def test_local_id_is_creator_then_serial() -> None:
    token_id = local_token_id(SDK_ADDRESS, 1)
    assert (
        f"{token_id:#066x}" == "0xc5eac3488524d577a1495492599e8013b1f91efa000000000000000000000001"
    )
    assert token_creator(token_id) == SDK_ADDRESS
    assert check_token_id(token_id, SDK_ADDRESS.lower()) == token_id


def test_prefix_rule_and_bounds() -> None:
    with pytest.raises(TokenIdError, match="must start with creator"):
        check_token_id(local_token_id("0x" + "11" * 20, 1), SDK_ADDRESS)
    with pytest.raises(TokenIdError, match="96 bits"):
        local_token_id(SDK_ADDRESS, 2**96)
    with pytest.raises(TokenIdError, match="not a uint256"):
        check_token_id(2**256, SDK_ADDRESS)


from decimal import Decimal, localcontext  # noqa: E402

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from marketplace.orders import eth_to_wei  # noqa: E402
from marketplace.sync import PublishedItem, parse_bid  # noqa: E402
from marketplace.token_ids import serial_of  # noqa: E402

addresses = st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())


@given(addresses, st.integers(min_value=0, max_value=2**96 - 1))
def test_token_id_round_trips(creator: str, serial: int) -> None:
    token_id = local_token_id(creator, serial)
    assert token_creator(token_id).lower() == creator
    assert serial_of(token_id) == serial
    check_token_id(token_id, creator)


@given(st.integers(min_value=1, max_value=2**256 - 1))
def test_wei_and_eth_convert_exactly(wei: int) -> None:
    with localcontext() as context:
        context.prec = 100
        eth = Decimal(wei).scaleb(-18)
    assert eth_to_wei(eth) == wei
    order = {
        "hash": "0x01",
        "maker": "0x" + "ab" * 20,
        "make": {"assetType": {"assetClass": "ETH"}, "value": str(wei)},
        "take": {"assetType": {"assetClass": "ERC721"}, "value": "1"},
    }
    parsed = parse_bid(order, PublishedItem(1, "0x" + "cd" * 20, 5), None)
    assert parsed["price"] == eth and parsed["make_value"] == Decimal(wei)
