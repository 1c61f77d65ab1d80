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
