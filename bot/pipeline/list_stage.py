"""minted -> listing -> listed: open for bids, or a fixed-price sell order (crash-safe).

Open for bids: the lazily minted item already takes bids, so there is nothing to send.
Fixed price: the signed order (with its locally computed hash) and the move to `listing` are
committed together before the upsert; `marketplace.orders.submit_order` sends it under this
process's send claim and reconciles by hash. The database holds at most one live order per
artwork: a second publisher's insert fails and it leaves the artwork to the first (busy).
A listing that failed is retried as a listing: the ambiguous order is looked up by its hash
first, and only an order the marketplace refused is replaced by a new one.
When an artwork reaches `listed`, `on_listed` runs the publisher's hooks (the lead wires the
IPFS engineer's `unpin_unchosen_frames` there).
"""

from __future__ import annotations

import logging
import time

from bot.pipeline.publish import Publisher, busy, fail_stage, stage_is_due
from marketplace.client import RaribleError
from marketplace.minting import live_mint_intent
from marketplace.orders import (
    OrderError,
    expired_orders,
    live_order,
    prepare_sell_order,
    submit_order,
)
from marketplace.sending import IntentBusy
from storage.artworks import StaleState, transition
from storage.db import session_scope
from storage.models import Artwork, ArtworkState
from storage.models.market import IntentStatus, MarketOrder

log = logging.getLogger(__name__)
STAGE = ArtworkState.LISTING


def on_listed(publisher: Publisher, artwork_id: int) -> None:
    """Runs once an artwork is listed: every hook gets the artwork id. A failing hook is
    logged and does not undo the listing (the artwork stays listed)."""
    for hook in publisher.on_listed_hooks:
        try:
            hook(artwork_id)
        except Exception:
            log.exception("artwork %s: on_listed hook %r failed", artwork_id, hook)


def _finish(publisher: Publisher, artwork_id: int, reason: str) -> ArtworkState:
    with session_scope(publisher.engine) as session:
        artwork = session.get(Artwork, artwork_id)
        assert artwork is not None
        if artwork.state not in (ArtworkState.LISTING.value, ArtworkState.FAILED.value):
            return ArtworkState(artwork.state)  # another process listed it (and ran the hooks)
        transition(session, artwork, ArtworkState.LISTED, reason=reason)
    on_listed(publisher, artwork_id)
    return ArtworkState.LISTED


def advance_listing(publisher: Publisher, artwork_id: int) -> ArtworkState:
    """Move a minted artwork to `listed`; idempotent; returns the state it ends in."""
    try:
        with session_scope(publisher.engine) as session:
            artwork = session.get(Artwork, artwork_id)
            if artwork is None:
                raise OrderError(f"artwork {artwork_id} does not exist")
            if not stage_is_due(artwork, (ArtworkState.MINTED, ArtworkState.LISTING), STAGE):
                return ArtworkState(artwork.state)
            mint = live_mint_intent(session, artwork_id, publisher.mode)
            if mint is None or mint.status != IntentStatus.DONE.value:
                raise OrderError(f"artwork {artwork_id} has no finished mint in {publisher.mode}")
            order = live_order(session, artwork_id, publisher.mode)
            if order is None and publisher.listing_kind == "fixed-price":
                now = int(time.time())
                order = prepare_sell_order(
                    session,
                    mint=mint,
                    network=publisher.network,
                    signer=publisher.signer,
                    price_eth=publisher.price_eth,
                    start=now,
                    end=now + publisher.duration_s,
                )
            transition(session, artwork, STAGE)
            order_id = order.id if order is not None else None
        if order_id is None:
            return _finish(publisher, artwork_id, "open for bids")
        row = submit_order(publisher.engine, order_id, publisher.market, publisher.send_claim)
    except (IntentBusy, StaleState) as exc:  # another publisher is on it: not a failure
        return busy(publisher, artwork_id, exc)
    except (RaribleError, OrderError) as exc:
        return fail_stage(publisher, artwork_id, STAGE, str(exc))
    if row.status != IntentStatus.DONE.value:
        return fail_stage(publisher, artwork_id, STAGE, f"order {row.order_hash} is {row.status}")
    try:
        return _finish(publisher, artwork_id, f"sell order {row.remote_id} at {row.price} ETH")
    except StaleState as exc:
        return busy(publisher, artwork_id, exc)


def relist_expired(publisher: Publisher, *, now: int | None = None) -> dict[int, ArtworkState]:
    """Fixed-price listings whose sell order ran out unsold get a fresh order (listed ->
    listing -> listed). Expiry only: an order someone cancelled on the marketplace stays
    cancelled, since that may be the owner's decision."""
    if publisher.listing_kind != "fixed-price":
        return {}
    moment = int(time.time()) if now is None else now
    relisted: dict[int, ArtworkState] = {}
    with session_scope(publisher.engine) as session:
        expired = [
            (o.id or 0, o.artwork_id) for o in expired_orders(session, publisher.mode, moment)
        ]
    for order_id, artwork_id in expired:
        try:
            with session_scope(publisher.engine) as session:
                order = session.get(MarketOrder, order_id)
                artwork = session.get(Artwork, artwork_id)
                if order is None or order.status != IntentStatus.DONE.value:
                    continue  # another process retired it first
                if artwork is None or artwork.state != ArtworkState.LISTED.value:
                    continue
                # Retire the old order and move to `listing` together: a crash in between cannot
                # leave a listed artwork without a live order or with two.
                order.status = IntentStatus.EXPIRED.value
                session.add(order)
                reason = f"sell order {order.order_hash} expired"
                transition(session, artwork, STAGE, reason=reason)
        except StaleState as exc:  # another publisher is relisting it
            busy(publisher, artwork_id, exc)
            continue
        relisted[artwork_id] = ArtworkState.LISTING
    for artwork_id in relisted:
        relisted[artwork_id] = advance_listing(publisher, artwork_id)
    return relisted
