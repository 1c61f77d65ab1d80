"""pinned -> minting -> minted: lazy mint, crash-safe.

The token id reservation, the signed Mint721 payload (the intent) and the move to `minting`
are committed in one transaction before anything is sent. The send (under this process's send
claim) and the reconcile after an interrupted or ambiguous send live in
`marketplace.minting.submit_mint`. An intent another process is sending is left to it (busy).
"""

from __future__ import annotations

import logging

from sqlmodel import Session, select

from bot.pipeline.publish import Publisher, busy, fail_stage, stage_is_due
from marketplace.client import RaribleError
from marketplace.minting import (
    IntentBusy,
    MintError,
    live_mint_intent,
    prepare_mint,
    submit_mint,
)
from marketplace.token_ids import TokenIdError
from storage.artworks import StaleState, transition
from storage.db import session_scope
from storage.models import Artwork, ArtworkState
from storage.models.market import IntentStatus
from storage.models.pin import Pin, PinKind, PinStatus

log = logging.getLogger(__name__)
STAGE = ArtworkState.MINTING


class MissingMetadata(MintError):
    pass


def metadata_uri(session: Session, artwork_id: int) -> str:
    """ipfs://<cid> of the artwork's pinned metadata JSON (written by the IPFS stage)."""
    pin = session.exec(
        select(Pin)
        .where(
            Pin.artwork_id == artwork_id,
            Pin.kind == PinKind.METADATA.value,
            Pin.status == PinStatus.PINNED.value,
        )
        .order_by(Pin.id.desc())  # type: ignore[union-attr]
    ).first()
    if pin is None:
        raise MissingMetadata(f"artwork {artwork_id} has no pinned metadata to mint")
    return f"ipfs://{pin.cid}"


def advance_mint(publisher: Publisher, artwork_id: int) -> ArtworkState:
    """Move the artwork to `minted` if it can; idempotent; returns the state it ends in."""
    try:
        with session_scope(publisher.engine) as session:
            artwork = session.get(Artwork, artwork_id)
            if artwork is None:
                raise MintError(f"artwork {artwork_id} does not exist")
            # Not this stage's business when already minted, or not pinned yet.
            if not stage_is_due(artwork, (ArtworkState.PINNED, ArtworkState.MINTING), STAGE):
                return ArtworkState(artwork.state)
            intent = live_mint_intent(session, artwork_id, publisher.mode)
            if intent is None:
                intent = prepare_mint(
                    session,
                    artwork_id=artwork_id,
                    mode=publisher.mode,
                    network=publisher.network,
                    signer=publisher.signer,
                    metadata_uri=metadata_uri(session, artwork_id),
                    royalty_bps=publisher.royalty_bps,
                    market=publisher.market,
                )
            transition(session, artwork, STAGE)
            intent_id = intent.id or 0
        # committed: the intent and `minting` exist before any request goes out
        intent = submit_mint(publisher.engine, intent_id, publisher.market, publisher.send_claim)
    except (IntentBusy, StaleState) as exc:  # another publisher is on it: not a failure
        return busy(publisher, artwork_id, exc)
    except (RaribleError, MintError, TokenIdError) as exc:
        return fail_stage(publisher, artwork_id, STAGE, str(exc))
    if intent.status != IntentStatus.DONE.value:
        return fail_stage(
            publisher, artwork_id, STAGE, f"mint intent {intent_id} is {intent.status}"
        )
    try:
        with session_scope(publisher.engine) as session:
            artwork = session.get(Artwork, artwork_id)
            assert artwork is not None
            if artwork.state not in (ArtworkState.MINTING.value, ArtworkState.FAILED.value):
                return ArtworkState(artwork.state)  # another process already moved it on
            transition(session, artwork, ArtworkState.MINTED, reason=intent.item_id)
    except StaleState as exc:
        return busy(publisher, artwork_id, exc)
    log.info("artwork %s minted lazily as %s", artwork_id, intent.item_id)
    return ArtworkState.MINTED
