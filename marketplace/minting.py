"""Lazy mint with "write the intent, then act, then reconcile" (DESIGN.md, rarible.md §5).

1. `prepare_mint` (inside the caller's transaction): reserve a token id, sign Mint721 and store
   the signed body as a `MintIntent` in status `signed`. Nothing has been sent.
2. `submit_mint`: under the intent's send claim (one owner at a time), mark it `sending` and
   commit, *then* send once. If a previous attempt may have reached the marketplace
   (`sending`/`ambiguous`), look the item up first and only send again when the marketplace says
   it does not have it. The same signed body is resent, never a new token id, so even a resend
   cannot create a second item. A refusal after any earlier send is looked up and stays
   `ambiguous` (never `rejected`, which would let a new token id be reserved) unless the item
   shows up. The rules are shared with sell orders: `marketplace/sending.py`.

Royalties are capped at 5000 bps before anything is signed: Rarible's ExchangeV2
(`RaribleTransferManager.transferRoyalties`) reverts every sale whose royalties total more than
50% ("Royalties are too high (>50%)"), so such an item could be listed but never bought.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy import BigInteger, cast, func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from marketplace.assets import LazyMint721, Part
from marketplace.eip712 import Signer, digest, mint721_typed_data
from marketplace.market import Market
from marketplace.networks import Network
from marketplace.royalties import MAX_ROYALTY_BPS
from marketplace.sending import IntentBusy, IntentMissing, Send, SendClaim, send_once
from marketplace.token_ids import check_token_id, local_token_id, serial_of
from storage.models.market import IntentStatus, MintIntent, TokenReservation

log = logging.getLogger(__name__)


class MintError(ValueError):
    """A mint that cannot go on, naming the artwork and the reason."""


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
    if not 0 <= royalty_bps <= MAX_ROYALTY_BPS:
        raise MintError(
            f"artwork {artwork_id}: royalty {royalty_bps} bps is outside 0-{MAX_ROYALTY_BPS}:"
            " Rarible's exchange reverts every sale whose royalties total more than 50%"
        )
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


def _describe(intent: MintIntent) -> str:
    return f"mint intent {intent.id} (artwork {intent.artwork_id})"


def mint_sending(market: Market) -> Send:
    """How a lazy mint is sent, looked up (by collection and token id) and recorded."""

    def lookup(intent: MintIntent) -> dict[str, Any] | None:
        item = market.get_item(intent.collection, int(intent.token_id))
        return item if item is not None and _matches(item, intent) else None

    def done_values(intent: MintIntent, response: dict[str, Any]) -> dict[str, Any]:
        return {"item_id": str(response.get("id") or f"{intent.collection}:{intent.token_id}")}

    return Send(
        describe=_describe,
        lookup=lookup,
        request=lambda intent: market.mint_lazy(json.loads(intent.payload_json)),
        done_values=done_values,
    )


def submit_mint(
    engine: Engine, intent_id: int, market: Market, claim: SendClaim | None = None
) -> MintIntent:
    """Send the signed lazy mint under a send claim (rules in `marketplace/sending.py`).
    Without a claim, this call gets an owner of its own."""
    claim = claim or SendClaim.fresh(market.claim_ttl_s)
    try:
        return send_once(engine, MintIntent, intent_id, claim, mint_sending(market))
    except IntentMissing:
        raise MintError(f"mint intent {intent_id} does not exist") from None
