"""Driving the local Rarible server as other people would: bidders sign bids and post them to
the order API, buyers fill orders (the exchange's match), owners list what they bought."""

from __future__ import annotations

import secrets
import time

import requests

from marketplace.assets import (
    Asset,
    LazyMint721,
    OrderData,
    OrderDataVersion,
    erc20_asset,
    erc721_asset,
    erc721_lazy_asset,
    eth_asset,
)
from marketplace.eip712 import Order, order_typed_data
from marketplace.wallet import Wallet
from tests.marketplace.rarible_server import (
    SEPOLIA_CHAIN_ID,
    SEPOLIA_EXCHANGE,
    SEPOLIA_WETH,
    RaribleState,
)


def post_order(base: str, api_key: str, order: Order, wallet: Wallet) -> str:
    """Sign `order` with `wallet` and post it like any client would; returns its hash."""
    signature = wallet.sign_typed_data(order_typed_data(order, SEPOLIA_CHAIN_ID, SEPOLIA_EXCHANGE))
    response = requests.post(
        f"{base}/v0.1/order/orders",
        json=order.as_form(signature),
        headers={"X-API-KEY": api_key},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["hash"])


def place_signed_bid(
    base: str, api_key: str, state: RaribleState, item_id: str, bidder: Wallet, price_wei: int
) -> str:
    """A WETH bid on a lazy item, in the item's lazy form (as the SDK sends it)."""
    lazy = LazyMint721.from_lazy_nft_json({"@type": "ERC721", **state.items[item_id]["lazy"]})
    order = Order(
        maker=bidder.address,
        make=Asset(erc20_asset(SEPOLIA_WETH), price_wei),
        take=Asset(erc721_lazy_asset(lazy), 1),
        salt=secrets.randbits(255) + 1,
        start=0,
        end=int(time.time()) + 86400,
        data=OrderData(OrderDataVersion.V2, is_make_fill=False),
    )
    return post_order(base, api_key, order, bidder)


def list_minted(base: str, api_key: str, item_id: str, owner: Wallet, price_wei: int) -> str:
    """The owner of a bought (now minted) item lists it for ETH."""
    contract, token_id = item_id.split(":")
    order = Order(
        maker=owner.address,
        make=Asset(erc721_asset(contract, int(token_id)), 1),
        take=Asset(eth_asset(), price_wei),
        salt=secrets.randbits(255) + 1,
        start=0,
        end=int(time.time()) + 86400,
        data=OrderData(OrderDataVersion.V2, is_make_fill=True),
    )
    return post_order(base, api_key, order, owner)
