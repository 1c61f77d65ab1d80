"""The test server refuses what Rarible refuses, so the publisher's tests can fail."""

from __future__ import annotations

import secrets

import pytest

from marketplace.assets import (
    Asset,
    LazyMint721,
    OrderData,
    OrderDataVersion,
    Part,
    erc721_lazy_asset,
    eth_asset,
)
from marketplace.client import RaribleRejected
from marketplace.eip712 import Order, mint721_typed_data, order_typed_data
from marketplace.networks import Network
from marketplace.token_ids import local_token_id
from marketplace.wallet import Wallet


def _signed_mint(wallet: Wallet, network: Network, **changes) -> LazyMint721:  # type: ignore[no-untyped-def]
    fields = {
        "contract": network.collection,
        "token_id": local_token_id(wallet.address, 7),
        "uri": "/ipfs/bafyexample",
        "creators": (Part(wallet.address, 10000),),
        "royalties": (Part(wallet.address, 500),),
    }
    fields.update(changes)
    mint = LazyMint721(**fields)
    signature = wallet.sign_typed_data(mint721_typed_data(mint, network.chain_id))
    return LazyMint721(**{**fields, "signatures": (signature,)})


def test_valid_mint_is_stored(client, network, wallet, server) -> None:  # type: ignore[no-untyped-def]
    client.mint_lazy(_signed_mint(wallet, network).as_lazy_nft_json())
    assert len(server[1].items) == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("foreign_token_id", "must start with first creator address"),
        ("creators_9000", "creators must sum to 10000"),
        ("royalty_10000", "Royalty total value should be < 10000"),
        ("royalty_5001", r"Royalties are too high \(>50%\)"),
        ("wrong_chain", "InvalidCreatorSignature"),
        ("other_signer", "InvalidCreatorSignature"),
    ],
)
def test_invalid_mints_are_refused(client, network, wallet, change, message) -> None:  # type: ignore[no-untyped-def]
    other = Wallet(secrets.token_bytes(32))
    if change == "foreign_token_id":
        body = _signed_mint(wallet, network, token_id=local_token_id(other.address, 7))
    elif change == "creators_9000":
        body = _signed_mint(wallet, network, creators=(Part(wallet.address, 9000),))
    elif change == "royalty_10000":
        body = _signed_mint(wallet, network, royalties=(Part(wallet.address, 10000),))
    elif change == "royalty_5001":  # two parts: the total counts, as in transferRoyalties
        parts = (Part(wallet.address, 2500), Part(other.address, 2501))
        body = _signed_mint(wallet, network, royalties=parts)
    elif change == "wrong_chain":
        body = _signed_mint(wallet, Network(**{**network.__dict__, "chain_id": 1}))
    else:
        signed = _signed_mint(other, network, token_id=local_token_id(wallet.address, 7))
        body = LazyMint721(**{**signed.__dict__, "creators": (Part(wallet.address, 10000),)})
    with pytest.raises(RaribleRejected, match=message):
        client.mint_lazy(body.as_lazy_nft_json())


def _order(wallet: Wallet, network: Network, mint: LazyMint721, version: OrderDataVersion) -> Order:
    return Order(
        maker=wallet.address,
        make=Asset(erc721_lazy_asset(mint), 1),
        take=Asset(eth_asset(), 10**17),
        salt=12345,
        start=0,
        end=0,
        data=OrderData(version),
    )


@pytest.mark.parametrize("version", list(OrderDataVersion))
def test_orders_of_each_accepted_version_match_our_hash(
    client, network, wallet, server, version
) -> None:  # type: ignore[no-untyped-def]
    mint = _signed_mint(wallet, network)
    client.mint_lazy(mint.as_lazy_nft_json())
    order = _order(wallet, network, mint, version)
    signature = wallet.sign_typed_data(order_typed_data(order, network.chain_id, network.exchange))
    response = client.upsert_order(order.as_form(signature), order_hash=order.hash_key())
    assert response["hash"] == order.hash_key()


def test_order_signed_by_someone_else_and_v3_sell_are_refused(client, network, wallet) -> None:  # type: ignore[no-untyped-def]
    mint = _signed_mint(wallet, network)
    client.mint_lazy(mint.as_lazy_nft_json())
    order = _order(wallet, network, mint, OrderDataVersion.V2)
    other = Wallet(secrets.token_bytes(32))
    forged = other.sign_typed_data(order_typed_data(order, network.chain_id, network.exchange))
    with pytest.raises(RaribleRejected, match="Maker's signature is not valid"):
        client.upsert_order(order.as_form(forged), order_hash=order.hash_key())
    signature = wallet.sign_typed_data(order_typed_data(order, network.chain_id, network.exchange))
    form = order.as_form(signature)
    form["data"]["dataType"] = "RARIBLE_V2_DATA_V3_SELL"
    with pytest.raises(RaribleRejected, match="Unknown Order data type"):
        client.upsert_order(form, order_hash=order.hash_key())


def test_a_sell_order_whose_lazy_item_pays_over_half_in_royalties_is_refused(
    client, network, wallet, server
) -> None:  # type: ignore[no-untyped-def]
    """ExchangeV2 would revert every sale of it, so the order is refused like the mint."""
    mint = _signed_mint(wallet, network, royalties=(Part(wallet.address, 6000),))
    order = _order(wallet, network, mint, OrderDataVersion.V2)
    signature = wallet.sign_typed_data(order_typed_data(order, network.chain_id, network.exchange))
    with pytest.raises(RaribleRejected, match="Royalties are too high"):
        client.upsert_order(order.as_form(signature), order_hash=order.hash_key())
    assert server[1].orders == {}
    half = _signed_mint(wallet, network, royalties=(Part(wallet.address, 5000),))
    client.mint_lazy(half.as_lazy_nft_json())
    assert len(server[1].items) == 1
