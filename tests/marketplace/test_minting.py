"""Lazy mint and sell orders against the local Rarible server, including every crash window."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine

from marketplace.client import AmbiguousSubmission, RaribleClient, RaribleRejected
from marketplace.minting import prepare_mint, signed_token_uri, submit_mint
from marketplace.networks import Network
from marketplace.orders import eth_to_wei, prepare_sell_order, submit_order
from marketplace.wallet import Wallet
from storage import claims
from storage.db import session_scope
from storage.models.market import IntentStatus, MarketOrder, MintIntent, TokenReservation
from tests.marketplace.helpers import CID_PREFIX, prepare_pinned_mint


class SimulatedCrash(BaseException):
    """Stands for kill -9: nothing after it runs, open transactions roll back."""


class CrashBeforeSend:
    def __init__(self, inner: RaribleClient) -> None:
        self.inner = inner

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self.inner, name)

    def mint_lazy(self, body):  # type: ignore[no-untyped-def]
        raise SimulatedCrash

    def upsert_order(self, form, *, order_hash):  # type: ignore[no-untyped-def]
        raise SimulatedCrash


class CrashAfterSend(CrashBeforeSend):
    def mint_lazy(self, body):  # type: ignore[no-untyped-def]
        self.inner.mint_lazy(body)
        raise SimulatedCrash

    def upsert_order(self, form, *, order_hash):  # type: ignore[no-untyped-def]
        self.inner.upsert_order(form, order_hash=order_hash)
        raise SimulatedCrash


def _claim_runs_out(engine: Engine, model, row_id: int) -> None:  # type: ignore[no-untyped-def]
    """A killed sender's claim expires (a crash simulated in this very process cannot be told
    from a live sender by its pid, as a real kill -9 can)."""
    with engine.begin() as connection:
        connection.execute(
            update(model.__table__)
            .where(model.__table__.c.id == row_id)
            .values(claim_expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )


def _prepare(engine: Engine, network: Network, wallet: Wallet, client, n: int = 1) -> int:  # type: ignore[no-untyped-def]
    return prepare_pinned_mint(engine, network, wallet, client, n)[1]


def _status(engine: Engine, intent_id: int) -> str:
    with session_scope(engine) as session:
        intent = session.get(MintIntent, intent_id)
        assert intent is not None
        return intent.status


def test_token_uri_is_the_form_rarible_stores() -> None:
    assert signed_token_uri("ipfs://bafyabc") == "/ipfs/bafyabc"
    assert signed_token_uri("ipfs://ipfs/Qmabc") == "/ipfs/Qmabc"
    with pytest.raises(ValueError, match="not an ipfs"):
        signed_token_uri("https://example.org/x.json")


def test_mint_and_list_reach_the_server_once(engine, network, wallet, client, server) -> None:  # type: ignore[no-untyped-def]
    _, state = server
    intent_id = _prepare(engine, network, wallet, client)
    intent = submit_mint(engine, intent_id, client)
    assert intent.status == IntentStatus.DONE.value
    assert state.mint_posts == 1
    item = state.items[intent.item_id or ""]
    assert item["creators"] == [{"account": wallet.address.lower(), "value": 10000}]
    assert int(intent.token_id) >> 96 == int(wallet.address, 16)
    with session_scope(engine) as session:
        reservation = session.exec(__import__("sqlmodel").select(TokenReservation)).one()
        assert reservation.source == "api" and reservation.token_id == intent.token_id
    assert submit_mint(engine, intent_id, client).status == IntentStatus.DONE.value
    assert state.mint_posts == 1  # running the stage again sends nothing new

    now = int(time.time())
    with session_scope(engine) as session:
        order = prepare_sell_order(
            session,
            mint=intent,
            network=network,
            signer=wallet,
            price_eth="0.05",
            start=now,
            end=now + 86400,
        )
        order_id = order.id or 0
    done = submit_order(engine, order_id, client)
    assert done.status == IntentStatus.DONE.value
    # The server computed the order id itself from the posted form: it equals our hashKey.
    assert done.order_hash in state.orders
    assert state.orders[done.order_hash]["take"]["value"] == str(eth_to_wei("0.05"))
    assert done.market_status == "ACTIVE"
    assert (
        next(iter(client.sell_orders_by_item(intent.collection, int(intent.token_id))))["hash"]
        == done.order_hash
    )
    submit_order(engine, order_id, client)
    assert state.order_posts == 1


def test_tampered_signature_is_rejected_and_nothing_is_stored(
    engine, network, wallet, client, server
) -> None:  # type: ignore[no-untyped-def]
    _, state = server
    intent_id = _prepare(engine, network, wallet, client)
    with session_scope(engine) as session:
        intent = session.get(MintIntent, intent_id)
        assert intent is not None
        body = json.loads(intent.payload_json)
        body["uri"] = "/ipfs/somethingelse"  # signed uri no longer matches
        intent.payload_json = json.dumps(body)
    with pytest.raises(RaribleRejected, match="InvalidCreatorSignature"):
        submit_mint(engine, intent_id, client)
    assert _status(engine, intent_id) == IntentStatus.REJECTED.value
    assert state.items == {}


def test_500_after_the_item_was_stored_is_reconciled_not_resent(
    engine, network, wallet, client, server
) -> None:  # type: ignore[no-untyped-def]
    _, state = server
    state.add_fault("POST", "/v0.1/nft/mints", "500_after_store")
    intent_id = _prepare(engine, network, wallet, client)
    intent = submit_mint(engine, intent_id, client)
    assert intent.status == IntentStatus.DONE.value
    assert state.mint_posts == 1 and len(state.items) == 1


def test_500_before_storing_leaves_it_ambiguous_then_one_resend(
    engine, network, wallet, client, server
) -> None:  # type: ignore[no-untyped-def]
    _, state = server
    state.add_fault("POST", "/v0.1/nft/mints", "500")
    intent_id = _prepare(engine, network, wallet, client)
    with pytest.raises(AmbiguousSubmission):
        submit_mint(engine, intent_id, client)
    assert _status(engine, intent_id) == IntentStatus.AMBIGUOUS.value
    assert state.items == {}
    assert submit_mint(engine, intent_id, client).status == IntentStatus.DONE.value
    assert len(state.items) == 1
    lookups = [p for m, p in state.requests if m == "GET" and p.startswith("/v0.1/nft/items/")]
    assert len(lookups) >= 2  # looked up after the failure and again before the resend


@pytest.mark.timeout(30)
def test_timeout_is_ambiguous(engine, network, wallet, client, server) -> None:  # type: ignore[no-untyped-def]
    _, state = server
    state.add_fault("POST", "/v0.1/nft/mints", "timeout")
    intent_id = _prepare(engine, network, wallet, client)
    with pytest.raises(AmbiguousSubmission, match="Timeout"):
        submit_mint(engine, intent_id, client)
    assert submit_mint(engine, intent_id, client).status == IntentStatus.DONE.value
    assert len(state.items) == 1


def test_crash_after_intent_before_send_sends_exactly_once(
    engine, network, wallet, client, server
) -> None:  # type: ignore[no-untyped-def]
    _, state = server
    intent_id = _prepare(engine, network, wallet, client)
    with pytest.raises(SimulatedCrash):
        submit_mint(engine, intent_id, CrashBeforeSend(client))
    assert _status(engine, intent_id) == IntentStatus.SENDING.value
    assert state.mint_posts == 0
    _claim_runs_out(engine, MintIntent, intent_id)
    assert submit_mint(engine, intent_id, client).status == IntentStatus.DONE.value
    assert state.mint_posts == 1


def test_crash_after_send_before_recording_never_mints_twice(
    engine, network, wallet, client, server
) -> None:  # type: ignore[no-untyped-def]
    _, state = server
    intent_id = _prepare(engine, network, wallet, client)
    with pytest.raises(SimulatedCrash):
        submit_mint(engine, intent_id, CrashAfterSend(client))
    assert _status(engine, intent_id) == IntentStatus.SENDING.value
    _claim_runs_out(engine, MintIntent, intent_id)
    assert submit_mint(engine, intent_id, client).status == IntentStatus.DONE.value
    assert state.mint_posts == 1 and len(state.items) == 1


@pytest.mark.parametrize("fault", ["500_after_store", "crash_after_send"])
def test_order_ambiguity_is_reconciled_by_hash(
    engine, network, wallet, client, server, fault
) -> None:  # type: ignore[no-untyped-def]
    _, state = server
    intent = submit_mint(engine, _prepare(engine, network, wallet, client), client)
    with session_scope(engine) as session:
        order_id = (
            prepare_sell_order(
                session,
                mint=intent,
                network=network,
                signer=wallet,
                price_eth="1.5",
                start=0,
                end=0,
            ).id
            or 0
        )
    if fault == "500_after_store":
        state.add_fault("POST", "/v0.1/order/orders", "500_after_store")
        assert submit_order(engine, order_id, client).status == IntentStatus.DONE.value
    else:
        with pytest.raises(SimulatedCrash):
            submit_order(engine, order_id, CrashAfterSend(client))
        _claim_runs_out(engine, MarketOrder, order_id)
        assert submit_order(engine, order_id, client).status == IntentStatus.DONE.value
    assert state.order_posts == 1 and len(state.orders) == 1
    with session_scope(engine) as session:
        row = session.get(MarketOrder, order_id)
        assert row is not None and str(row.price_wei) == "1500000000000000000"


def test_one_live_intent_per_artwork(engine, network, wallet, client) -> None:  # type: ignore[no-untyped-def]
    first = _prepare(engine, network, wallet, client)
    with session_scope(engine) as session:
        again = prepare_mint(
            session,
            artwork_id=1,
            mode="testnet",
            network=network,
            signer=wallet,
            metadata_uri=f"ipfs://{CID_PREFIX}0001",
            royalty_bps=1000,
            market=client,
        )
        assert again.id == first


def test_prices_must_be_whole_wei() -> None:
    assert eth_to_wei("0.000000000000000001") == 1
    with pytest.raises(ValueError, match="whole number of wei"):
        eth_to_wei("0.0000000000000000001")
    with pytest.raises(ValueError):
        eth_to_wei("0")


def test_lagging_lookup_then_refused_resend_never_reserves_a_new_token(
    engine, network, wallet, client, server
) -> None:  # type: ignore[no-untyped-def]
    _, state = server
    state.add_fault("POST", "/v0.1/nft/mints", "500_after_store")
    state.add_fault("GET", "/v0.1/nft/items/", "404", times=2)  # the indexer lags twice
    intent_id = _prepare(engine, network, wallet, client)
    with pytest.raises(AmbiguousSubmission):
        submit_mint(engine, intent_id, client)  # stored, but the lookup says "not found"
    # Next run: lookup still lags -> the same body is resent -> "already exists" -> lookup finds it.
    assert submit_mint(engine, intent_id, client).status == IntentStatus.DONE.value
    assert state.mint_posts == 2 and len(state.items) == 1
    with session_scope(engine) as session:
        assert len(session.exec(__import__("sqlmodel").select(TokenReservation)).all()) == 1


def test_refused_resend_stays_ambiguous_when_the_item_is_not_there(
    engine, network, wallet, client, server
) -> None:  # type: ignore[no-untyped-def]
    _, state = server
    state.add_fault("POST", "/v0.1/nft/mints", "500")
    intent_id = _prepare(engine, network, wallet, client)
    with pytest.raises(AmbiguousSubmission):
        submit_mint(engine, intent_id, client)
    state.collections.clear()  # the resend is now refused for a reason of its own
    with pytest.raises(RaribleRejected, match="MINT_AND_TRANSFER"):
        submit_mint(engine, intent_id, client)
    assert _status(engine, intent_id) == IntentStatus.AMBIGUOUS.value  # not free to re-mint


def test_two_publishers_cannot_both_claim_an_intent(
    engine, network, wallet, client, server
) -> None:  # type: ignore[no-untyped-def]
    from marketplace.sending import IntentBusy, SendClaim

    intent_id = _prepare(engine, network, wallet, client)
    first, second = SendClaim.fresh(60), SendClaim.fresh(60)
    # Both read the intent unclaimed; only the first conditional UPDATE wins.
    assert claims.take(engine, MintIntent, intent_id, first.owner, first.ttl_s)
    assert not claims.take(engine, MintIntent, intent_id, second.owner, second.ttl_s)
    with pytest.raises(IntentBusy, match="is being sent by"):
        submit_mint(engine, intent_id, client, second)
    assert server[1].mint_posts == 0
    # The holder sends; the other one then finds it done and sends nothing.
    assert submit_mint(engine, intent_id, client, first).status == IntentStatus.DONE.value
    assert submit_mint(engine, intent_id, client, second).status == IntentStatus.DONE.value
    assert server[1].mint_posts == 1


def test_a_refusal_after_another_process_sent_is_looked_up_not_taken(
    engine, network, wallet, client, server
) -> None:  # type: ignore[no-untyped-def]
    """Our claim runs out while our request is slow; another process takes the intent over and
    its send is stored; ours then comes back "already exists". That is looked up: done."""
    from marketplace.sending import SendClaim

    _, state = server
    intent_id = _prepare(engine, network, wallet, client)
    ours, theirs = SendClaim.fresh(60), SendClaim.fresh(60)

    class SlowThenRefused(CrashBeforeSend):
        def mint_lazy(self, body):  # type: ignore[no-untyped-def]
            _claim_runs_out(engine, MintIntent, intent_id)
            assert submit_mint(engine, intent_id, client, theirs).status == "done"
            return self.inner.mint_lazy(body)  # the same body again: "already exists"

    assert submit_mint(engine, intent_id, SlowThenRefused(client), ours).status == "done"
    assert len(state.items) == 1 and state.mint_posts == 2
    with session_scope(engine) as session:
        assert len(session.exec(__import__("sqlmodel").select(TokenReservation)).all()) == 1


def test_royalties_above_half_are_refused_before_signing(engine, network, wallet, client) -> None:  # type: ignore[no-untyped-def]
    from marketplace.minting import MintError

    with pytest.raises(MintError, match=r"artwork \d+: royalty 5001 bps .* more than 50%"):
        prepare_pinned_mint(engine, network, wallet, client, 1, royalty_bps=5001)
    with session_scope(engine) as session:
        assert session.exec(__import__("sqlmodel").select(MintIntent)).all() == []
    _, intent_id = prepare_pinned_mint(engine, network, wallet, client, 2, royalty_bps=5000)
    assert submit_mint(engine, intent_id, client).status == IntentStatus.DONE.value


def test_a_second_live_order_for_an_artwork_is_refused_by_the_database(
    engine, network, wallet, client, server, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Two publishers both read "no live order" and both insert one: the partial unique index
    refuses the second, which leaves the artwork to the first (busy, not failed)."""
    import marketplace.orders
    from marketplace.minting import live_mint_intent
    from marketplace.sending import IntentBusy

    intent = submit_mint(engine, _prepare(engine, network, wallet, client), client)

    def order(session):  # type: ignore[no-untyped-def]
        mint = live_mint_intent(session, intent.artwork_id, "testnet")  # as the list stage does
        return prepare_sell_order(
            session, mint=mint, network=network, signer=wallet, price_eth="1", start=0, end=0
        )

    with session_scope(engine) as session:
        first = order(session).id
    monkeypatch.setattr(marketplace.orders, "live_order", lambda *_args: None)  # read too early
    with (
        pytest.raises(IntentBusy, match="being listed by another process"),
        session_scope(engine) as session,
    ):
        order(session)
    with session_scope(engine) as session:
        (row,) = session.exec(__import__("sqlmodel").select(MarketOrder)).all()
        assert row.id == first
