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


def _bid(bidder: Wallet, mint: LazyMint721, price: int, **changes) -> Order:  # type: ignore[no-untyped-def]
    from marketplace.assets import erc20_asset
    from tests.marketplace.rarible_server import SEPOLIA_WETH

    fields = {
        "maker": bidder.address,
        "make": Asset(erc20_asset(SEPOLIA_WETH), price),
        "take": Asset(erc721_lazy_asset(mint), 1),
        "salt": secrets.randbits(64) + 1,
        "start": 0,
        "end": 0,
        "data": OrderData(OrderDataVersion.V2, is_make_fill=False),
    }
    fields.update(changes)
    return Order(**fields)


def _post(client, network, signer: Wallet, order: Order) -> dict:  # type: ignore[no-untyped-def, type-arg]
    signature = signer.sign_typed_data(order_typed_data(order, network.chain_id, network.exchange))
    return client.upsert_order(order.as_form(signature), order_hash=order.hash_key())


def test_signed_bids_are_checked_like_orders(client, network, wallet, server) -> None:  # type: ignore[no-untyped-def]
    from marketplace.assets import erc721_asset

    state = server[1]
    mint = _signed_mint(wallet, network)
    client.mint_lazy(mint.as_lazy_nft_json())
    bidder = Wallet(secrets.token_bytes(32))
    posted = _post(client, network, bidder, _bid(bidder, mint, 5 * 10**16))
    assert posted["hash"] in state.bids and posted["make"]["valueDecimal"] == "0.05"
    listed = list(client.bids_by_item(network.collection, mint.token_id, ("ACTIVE",)))
    assert [b["hash"] for b in listed] == [posted["hash"]]
    with pytest.raises(RaribleRejected, match="ETH cannot be pulled"):
        _post(client, network, bidder, _bid(bidder, mint, 1, make=Asset(eth_asset(), 1)))
    with pytest.raises(RaribleRejected, match="owner cannot bid"):
        _post(client, network, wallet, _bid(wallet, mint, 10**16))
    plain = Asset(erc721_asset(network.collection, mint.token_id), 1)
    with pytest.raises(RaribleRejected, match="is lazy: use its ERC721_LAZY form"):
        _post(client, network, bidder, _bid(bidder, mint, 10**16, take=plain))
    forged = _bid(bidder, mint, 10**16)
    other = Wallet(secrets.token_bytes(32))
    with pytest.raises(RaribleRejected, match="Maker's signature is not valid"):
        client.upsert_order(
            forged.as_form(
                other.sign_typed_data(order_typed_data(forged, network.chain_id, network.exchange))
            ),
            order_hash=forged.hash_key(),
        )
    stranger_sells = _order(other, network, mint, OrderDataVersion.V2)
    with pytest.raises(RaribleRejected, match="does not own"):
        _post(client, network, other, stranger_sells)


def test_fill_order_is_the_exchange_match(client, network, wallet, server) -> None:  # type: ignore[no-untyped-def]
    import time

    from tests.marketplace.rarible_checks import Invalid

    state = server[1]
    mint = _signed_mint(wallet, network)
    client.mint_lazy(mint.as_lazy_nft_json())
    sell = _post(client, network, wallet, _order(wallet, network, mint, OrderDataVersion.V2))
    bidder, buyer = Wallet(secrets.token_bytes(32)), Wallet(secrets.token_bytes(32))
    bid = _post(client, network, bidder, _bid(bidder, mint, 10**17))
    with pytest.raises(Invalid, match="not owner"):
        state.fill_order(bid["hash"], buyer.address)  # only the owner can accept a bid
    state.orders[sell["hash"]]["end"] = int(time.time()) - 5
    with pytest.raises(Invalid, match="Order end validation failed"):
        state.fill_order(sell["hash"], buyer.address)
    state.orders[sell["hash"]]["end"] = 0
    activity_id = state.fill_order(sell["hash"], buyer.address)
    item = state.items[f"{network.collection.lower()}:{mint.token_id}"]
    assert item["owner"] == buyer.address.lower() and item["lazySupply"] == "0"
    assert state.orders[sell["hash"]]["status"] == "FILLED"
    (activity,) = [a for a in state.activities if a["id"] == activity_id]
    assert activity["price"] == "0.1" and activity["sellerOrderHash"] == sell["hash"]
    assert activity["seller"] == f"ETHEREUM:{wallet.address.lower()}"
    with pytest.raises(Invalid, match="is FILLED"):
        state.fill_order(sell["hash"], bidder.address)
    with pytest.raises(Invalid, match="not owner"):  # we sold it: the bid cannot be accepted
        state.fill_order(bid["hash"], wallet.address)
    with pytest.raises(RaribleRejected, match="is minted: ERC721_LAZY is refused"):
        _post(client, network, bidder, _bid(bidder, mint, 10**16))


def test_order_fees_endpoint(client, server) -> None:  # type: ignore[no-untyped-def]
    import requests

    state = server[1]
    state.order_fees["RARIBLE_V2"] = 200
    fees = client.order_fees()
    assert fees is not None and fees["RARIBLE_V2"] == 200 and len(fees) == 10
    refused = requests.get(f"{server[0]}/v0.1/orders/settings/fees", timeout=5)
    assert refused.status_code == 400 and "blockchain" in refused.json()["message"]
