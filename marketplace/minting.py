"""Lazy mint with "write the intent, then act, then reconcile" (DESIGN.md, rarible.md §5).

1. `prepare_mint` (inside the caller's transaction): reserve a token id, sign Mint721 and store
   the signed body as a `MintIntent` in status `signed`. Nothing has been sent.
2. `submit_mint`: mark the intent `sending` and commit, *then* send once. If a previous attempt
   may have reached the marketplace (`sending`/`ambiguous`), look the item up first and only
   send again when the marketplace says it does not have it. The same signed body is resent,
   never a new token id, so even a resend cannot create a second item. A resend the
   marketplace refuses is looked up again and stays `ambiguous` (never `rejected`, which would
   let a new token id be reserved) unless the item shows up.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy import BigInteger, cast, func, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from marketplace.assets import LazyMint721, Part
from marketplace.client import AmbiguousSubmission, RaribleAuthError, RaribleRejected
from marketplace.eip712 import Signer, digest, mint721_typed_data
from marketplace.market import Market
from marketplace.networks import Network
from marketplace.token_ids import check_token_id, local_token_id, serial_of
from storage.db import session_scope
from storage.models.market import IntentStatus, MintIntent, TokenReservation
from storage.types import utcnow

log = logging.getLogger(__name__)


class MintError(ValueError):
    """A mint that cannot go on, naming the artwork and the reason."""


class IntentBusy(MintError):
    """Another process (the daemon and a manual `bot publish`) holds this intent right now."""


def signed_token_uri(metadata_uri: str) -> str:
    """ipfs://<cid> -> /ipfs/<cid>: the form Rarible's collections store and the SDK signs."""
    if metadata_uri.startswith("ipfs://ipfs/"):
        return "/ipfs/" + metadata_uri.removeprefix("ipfs://ipfs/")
    if metadata_uri.startswith("ipfs://"):
        return "/ipfs/" + metadata_uri.removeprefix("ipfs://")
    if metadata_uri.startswith("/ipfs/"):
        return metadata_uri
    raise MintError(f"token uri {metadata_uri!r} is not an ipfs:// uri")


def live_mint_intent(session: Session, artwork_id: int, mode: str) -> MintIntent | None:
    return session.exec(
        select(MintIntent).where(
            MintIntent.artwork_id == artwork_id,
            MintIntent.mode == mode,
            MintIntent.status != IntentStatus.REJECTED.value,
        )
    ).first()


def reserve_token_id(
    session: Session,
    *,
    artwork_id: int,
    mode: str,
    collection: str,
    creator: str,
    market: Market,
) -> int:
    """Ask the API for the next free id (testnet/mainnet) or make one locally, check the prefix
    rule and record the reservation before any signature uses it."""
    collection = collection.lower()
    api_id = market.generate_token_id(collection, creator)
    if api_id is not None:
        token_id, source = api_id, "api"
    else:
        highest = session.exec(
            select(func.max(cast(col(TokenReservation.serial), BigInteger))).where(
                TokenReservation.collection == collection,
                TokenReservation.creator == creator.lower(),
                TokenReservation.source == "local",
            )
        ).one()
        token_id, source = local_token_id(creator, int(highest or 0) + 1), "local"
    check_token_id(token_id, creator)
    session.add(
        TokenReservation(
            collection=collection,
            token_id=str(token_id),
            creator=creator.lower(),
            serial=str(serial_of(token_id)),
            source=source,
            mode=mode,
            artwork_id=artwork_id,
        )
    )
    try:
        session.flush()  # the unique (collection, token_id) constraint speaks now, not later
    except IntegrityError:
        raise MintError(
            f"artwork {artwork_id}: token id {token_id} of {collection} is already reserved"
        ) from None
    return token_id


def prepare_mint(
    session: Session,
    *,
    artwork_id: int,
    mode: str,
    network: Network,
    signer: Signer,
    metadata_uri: str,
    royalty_bps: int,
    market: Market,
) -> MintIntent:
    """Return the artwork's live intent, or reserve, sign and store a new one (not sent)."""
    existing = live_mint_intent(session, artwork_id, mode)
    if existing is not None:
        return existing
    if not 0 <= royalty_bps < 10000:
        raise MintError(f"artwork {artwork_id}: royalty {royalty_bps} bps must be below 10000")
    uri = signed_token_uri(metadata_uri)
    token_id = reserve_token_id(
        session,
        artwork_id=artwork_id,
        mode=mode,
        collection=network.collection,
        creator=signer.address,
        market=market,
    )
    unsigned = LazyMint721(
        contract=network.collection,
        token_id=token_id,
        uri=uri,
        creators=(Part(signer.address, 10000),),
        royalties=(Part(signer.address, royalty_bps),) if royalty_bps else (),
    )
    typed = mint721_typed_data(unsigned, network.chain_id)
    signature = signer.sign_typed_data(typed)
    signed = LazyMint721(**{**unsigned.__dict__, "signatures": (signature,)})
    intent = MintIntent(
        artwork_id=artwork_id,
        mode=mode,
        chain_id=network.chain_id,
        collection=network.collection.lower(),
        token_id=str(token_id),
        creator=signer.address.lower(),
        token_uri=uri,
        payload_json=json.dumps(signed.as_lazy_nft_json(), sort_keys=True),
        digest="0x" + digest(typed).hex(),
    )
    session.add(intent)
    try:
        session.flush()
    except IntegrityError:  # the partial unique index: another publisher was first
        raise IntentBusy(f"artwork {artwork_id} is being minted by another process") from None
    return intent


def _matches(item: dict[str, Any], intent: MintIntent) -> bool:
    if item.get("deleted"):
        return False
    creators = [str(c.get("account", "")).split(":")[-1].lower() for c in item.get("creators", [])]
    return not creators or creators[0] == intent.creator


def reconcile_mint(engine: Engine, intent_id: int, market: Market) -> MintIntent:
    """Ask the marketplace whether the intent's item exists; mark it done if so."""
    with session_scope(engine) as session:
        intent = session.get(MintIntent, intent_id)
        if intent is None:
            raise MintError(f"mint intent {intent_id} does not exist")
        item = market.get_item(intent.collection, int(intent.token_id))
        if item is not None and _matches(item, intent):
            _mark_done(intent, str(item.get("id") or f"{intent.collection}:{intent.token_id}"))
            log.info("mint intent %s: item %s found on reconcile", intent.id, intent.item_id)
        session.add(intent)
        return intent


def _mark_done(intent: MintIntent, item_id: str) -> None:
    now = utcnow()
    intent.status = IntentStatus.DONE.value
    intent.item_id = item_id
    intent.error = None
    intent.done_at = now
    intent.updated_at = now


def submit_mint(engine: Engine, intent_id: int, market: Market) -> MintIntent:
    """Send the signed lazy mint at most once per "not found" answer (see module docstring)."""
    with session_scope(engine) as session:
        intent = session.get(MintIntent, intent_id)
        if intent is None:
            raise MintError(f"mint intent {intent_id} does not exist")
        status = IntentStatus(intent.status)
    if status in (IntentStatus.DONE, IntentStatus.REJECTED):
        return intent
    if status in (IntentStatus.SENDING, IntentStatus.AMBIGUOUS):
        intent = reconcile_mint(engine, intent_id, market)
        if intent.status == IntentStatus.DONE.value:
            return intent
    with session_scope(engine) as session:
        claimed = claim_for_sending(session, MintIntent, intent_id, intent.status, intent.sends)
        intent = session.get(MintIntent, intent_id)
        assert intent is not None
        if not claimed:
            raise IntentBusy(f"mint intent {intent_id} is being sent by another process")
        resend = intent.sends > 1
    # committed: from here on a crash leaves `sending`, which the next run reconciles
    body = json.loads(intent.payload_json)
    try:
        response = market.mint_lazy(body)
    except RaribleAuthError as exc:
        _finish(engine, intent_id, IntentStatus.SIGNED, error=str(exc))
        raise
    except RaribleRejected as exc:
        if resend:
            # A refused resend may mean "already exists": the earlier send got through and the
            # lookup lagged behind the indexer. Never let that become a second token id.
            intent = reconcile_mint(engine, intent_id, market)
            if intent.status == IntentStatus.DONE.value:
                return intent
            _finish(engine, intent_id, IntentStatus.AMBIGUOUS, error=f"resend refused: {exc}")
            raise
        _finish(engine, intent_id, IntentStatus.REJECTED, error=str(exc))
        raise
    except AmbiguousSubmission as exc:
        _finish(engine, intent_id, IntentStatus.AMBIGUOUS, error=str(exc))
        log.warning("mint intent %s: %s; looking the item up", intent_id, exc)
        intent = reconcile_mint(engine, intent_id, market)
        if intent.status != IntentStatus.DONE.value:
            raise
        return intent
    item_id = str(response.get("id") or f"{intent.collection}:{intent.token_id}")
    return _finish(engine, intent_id, IntentStatus.DONE, item_id=item_id)


def claim_for_sending(
    session: Session, model: Any, row_id: int, expected_status: str, expected_sends: int
) -> bool:
    """Compare-and-set to `sending` in one UPDATE, versioned by the send counter, so two
    publishers (the daemon and a manual run) that read the same row cannot both claim it."""
    table = model.__table__
    now = utcnow()
    result = session.execute(
        update(table)
        .where(
            table.c.id == row_id,
            table.c.status == expected_status,
            table.c.sends == expected_sends,
        )
        .values(
            status=IntentStatus.SENDING.value, sends=expected_sends + 1, sent_at=now, updated_at=now
        )
    )
    session.expire_all()
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _finish(
    engine: Engine,
    intent_id: int,
    status: IntentStatus,
    *,
    error: str | None = None,
    item_id: str | None = None,
) -> MintIntent:
    with session_scope(engine) as session:
        intent = session.get(MintIntent, intent_id)
        assert intent is not None
        if status is IntentStatus.DONE:
            _mark_done(intent, item_id or "")
        else:
            intent.status = status.value
            intent.error = (error or "")[:4000]
            intent.updated_at = utcnow()
        session.add(intent)
        return intent
