"""Marketplace records: token id reservations, mint and order intents, bids, sales, cursors.

Intents are written (with the signed payload) *before* the request is sent, so a crash at any
point leaves a row that says what may have been sent; the publisher looks the item or order up
before it sends anything again. Money is exact decimal text, never float.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import BigInteger, Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from storage.types import DecimalText, UTCDateTime, utcnow


class IntentStatus(StrEnum):
    SIGNED = "signed"  # built, signed and stored; never sent
    SENDING = "sending"  # about to be sent or in flight: look it up before sending again
    AMBIGUOUS = "ambiguous"  # the request failed in a way that may have stored it
    DONE = "done"  # the marketplace has it (or the outbox, in dry-run)
    REJECTED = "rejected"  # the marketplace definitely refused it; nothing was stored
    EXPIRED = "expired"  # a sell order whose end passed unsold; a new order replaced it
    # A second live sell order for one artwork, made before revision 0007 enforced one: kept for
    # the record (it may still be live on the market until it expires or is cancelled there).
    DUPLICATE = "duplicate"


OPEN_INTENT_STATUSES = (IntentStatus.SIGNED, IntentStatus.SENDING, IntentStatus.AMBIGUOUS)
NOT_LIVE_ORDER_STATUSES = (IntentStatus.REJECTED, IntentStatus.EXPIRED, IntentStatus.DUPLICATE)


class TokenReservation(SQLModel, table=True):
    """A token id taken for one artwork before any signature names it."""

    __tablename__ = "token_reservations"
    __table_args__ = (UniqueConstraint("collection", "token_id", name="uq_token_reservation"),)

    id: int | None = Field(default=None, primary_key=True)
    collection: str = Field(description="Lower-case collection address.")
    token_id: str = Field(description="uint256 in decimal.")
    creator: str
    serial: str = Field(description="The low 96 bits, decimal.")
    source: str = Field(description="api (generate_token_id) or local.")
    mode: str
    artwork_id: int | None = Field(default=None, foreign_key="artworks.id", index=True)
    reserved_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


_LIVE_MINT = text("status != 'rejected'")
_LIVE_ORDER = text("status NOT IN ('rejected', 'expired', 'duplicate')")


class SendClaimColumns(SQLModel):
    """Who is sending the request now, until when (storage/claims.py): a send has one owner.
    An intent in `sending` whose claim has expired was left by a crash: reconcile first."""

    claim_owner: str | None = Field(default=None, description="host:pid:random of the sender.")
    claim_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class MintIntent(SendClaimColumns, table=True):
    __tablename__ = "mint_intents"
    # At most one live (not rejected) mint per artwork and mode, even with two publishers.
    __table_args__ = (
        Index(
            "uq_mint_intent_live",
            "artwork_id",
            "mode",
            unique=True,
            sqlite_where=_LIVE_MINT,
            postgresql_where=_LIVE_MINT,
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    artwork_id: int = Field(foreign_key="artworks.id", index=True)
    mode: str = Field(description="dry-run, testnet or mainnet.")
    chain_id: int = Field(sa_type=BigInteger)
    collection: str
    token_id: str = Field(description="uint256 in decimal.")
    creator: str
    token_uri: str = Field(description="The uri signed and posted, e.g. /ipfs/<cid>.")
    payload_json: str = Field(sa_column=Column(Text(), nullable=False))
    digest: str = Field(description="EIP-712 digest of the Mint721 message (hex).")
    status: str = Field(default=IntentStatus.SIGNED.value, index=True)
    item_id: str | None = Field(default=None, description="Marketplace item id once stored.")
    sends: int = Field(default=0, description="How many times the request went out.")
    error: str | None = Field(default=None, sa_column=Column(Text()))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    done_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class MarketOrder(SendClaimColumns, table=True):
    """One of our own sell orders: the intent, the signed form, then its status on the market."""

    __tablename__ = "market_orders"
    # At most one live sell order per artwork and mode, even with two publishers listing at once.
    __table_args__ = (
        Index(
            "uq_market_order_live",
            "artwork_id",
            "mode",
            unique=True,
            sqlite_where=_LIVE_ORDER,
            postgresql_where=_LIVE_ORDER,
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    artwork_id: int = Field(foreign_key="artworks.id", index=True)
    mint_intent_id: int = Field(foreign_key="mint_intents.id")
    mode: str
    order_hash: str = Field(unique=True, description="LibOrder.hashKey, computed locally.")
    remote_id: str | None = Field(default=None, description="Id the marketplace reported.")
    side: str = Field(default="sell")
    make_value: str
    take_currency: str = Field(description="ETH or ERC20:<address>.")
    price: Decimal = Field(sa_column=Column(DecimalText(), nullable=False))
    price_wei: Decimal = Field(sa_column=Column(DecimalText(), nullable=False))
    salt: str
    start_ts: int = Field(sa_type=BigInteger)
    end_ts: int = Field(sa_type=BigInteger)  # past 2038 for long listings
    data_type: str
    payload_json: str = Field(sa_column=Column(Text(), nullable=False))
    status: str = Field(default=IntentStatus.SIGNED.value, index=True)
    market_status: str | None = Field(default=None, description="ACTIVE, FILLED, CANCELLED...")
    sends: int = 0
    error: str | None = Field(default=None, sa_column=Column(Text()))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    done_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class Bid(SQLModel, table=True):
    __tablename__ = "bids"

    id: int | None = Field(default=None, primary_key=True)
    order_id: str = Field(unique=True, description="The bid order's hash on the marketplace.")
    artwork_id: int | None = Field(default=None, foreign_key="artworks.id", index=True)
    item_id: str = Field(index=True, description="contract:tokenId")
    maker: str
    currency: str = Field(description="ETH or ERC20:<address>.")
    currency_symbol: str | None = None
    price: Decimal | None = Field(
        default=None, sa_column=Column(DecimalText()), description="Per item, currency units."
    )
    make_value: Decimal = Field(sa_column=Column(DecimalText(), nullable=False))
    take_value: Decimal = Field(sa_column=Column(DecimalText(), nullable=False))
    price_usd: Decimal | None = Field(default=None, sa_column=Column(DecimalText()))
    status: str
    mode: str
    first_seen_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    raw_json: str | None = Field(default=None, sa_column=Column(Text()))


class Sale(SQLModel, table=True):
    __tablename__ = "sales"

    id: int | None = Field(default=None, primary_key=True)
    activity_id: str = Field(unique=True)
    tx_hash: str | None = Field(default=None, index=True)
    artwork_id: int | None = Field(default=None, foreign_key="artworks.id", index=True)
    item_id: str = Field(index=True)
    kind: str = Field(description="SELL or ACCEPT_BID.")
    buyer: str
    seller: str | None = None
    price: Decimal = Field(sa_column=Column(DecimalText(), nullable=False))
    amount: Decimal | None = Field(default=None, sa_column=Column(DecimalText()))
    currency: str
    price_usd: Decimal | None = Field(default=None, sa_column=Column(DecimalText()))
    protocol_fee_bps: int | None = Field(
        default=None,
        description="The exchange's seller-side protocol fee (bps, charged on V3 orders) in "
        "effect when the sale was recorded: BOT_PROTOCOL_FEE_BPS or the API's order fees.",
    )
    sold_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    mode: str
    seen_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    raw_json: str | None = Field(default=None, sa_column=Column(Text()))


class SyncCursor(SQLModel, table=True):
    """Where an incremental sync stopped (e.g. the sale-activity cursor per mode and seller)."""

    __tablename__ = "sync_cursors"

    name: str = Field(primary_key=True)
    cursor: str | None = None
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
