"""Shared test helpers: a migrated store, pinned artworks as the IPFS stage leaves them."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from storage.db import make_engine, session_scope
from storage.models import Artwork, ArtworkState, Listing
from storage.models.pin import Pin, PinKind, PinStatus

# The SDK tests' public key (rarible.md §8): never fund it.
SDK_KEY = "d519f025ae44644867ee8384890c4a0b8a7b00ef844e8d64c566c0ac971c9469"
SDK_ADDRESS = "0xC5eAC3488524D577a1495492599E8013B1F91efa"
# CIDv1 strings shaped like the IPFS stage's output (content is irrelevant to the marketplace).
CID_PREFIX = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52z"


def new_engine(tmp_path: Path) -> Engine:
    return make_engine(f"sqlite:///{tmp_path / 'bot.db'}")


def add_pinned_artwork(engine: Engine, n: int, *, state: ArtworkState = ArtworkState.PINNED) -> int:
    """A listing, its artwork in `state`, and the metadata pin the IPFS engineer's stage writes."""
    with session_scope(engine) as session:
        listing = Listing(source="test", marketplace="test", item_id=f"item-{n}", title="Cats")
        session.add(listing)
        session.flush()
        artwork = Artwork(listing_id=listing.id or 0, state=state.value, category="Cats")
        session.add(artwork)
        session.flush()
        session.add(
            Pin(
                cid=f"{CID_PREFIX}{n:04d}",
                kind=PinKind.METADATA.value,
                artwork_id=artwork.id,
                size=321,
                target="local",
                profile="legacy-v1",
                status=PinStatus.PINNED.value,
            )
        )
        return artwork.id or 0


def prepare_pinned_mint(  # type: ignore[no-untyped-def]
    engine: Engine, network, signer, market, n: int, *, royalty_bps: int = 1000
) -> tuple[int, int]:
    """A pinned artwork and its signed testnet mint intent, not sent: (artwork id, intent id)."""
    from marketplace.minting import prepare_mint

    artwork_id = add_pinned_artwork(engine, n)
    with session_scope(engine) as session:
        intent = prepare_mint(
            session,
            artwork_id=artwork_id,
            mode="testnet",
            network=network,
            signer=signer,
            metadata_uri=f"ipfs://{CID_PREFIX}{n:04d}",
            royalty_bps=royalty_bps,
            market=market,
        )
        return artwork_id, intent.id or 0
