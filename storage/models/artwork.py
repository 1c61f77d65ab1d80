"""The artwork: one source NFT on its way to one published NFT (state machine in DESIGN.md)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow


class ArtworkState(StrEnum):
    CANDIDATE = "candidate"
    PREPARED = "prepared"
    GENERATED = "generated"
    CHOSEN = "chosen"
    PINNED = "pinned"
    MINTING = "minting"
    MINTED = "minted"
    LISTING = "listing"
    LISTED = "listed"
    SOLD = "sold"
    REJECTED = "rejected"
    FAILED = "failed"


PIPELINE_ORDER: tuple[ArtworkState, ...] = (
    ArtworkState.CANDIDATE,
    ArtworkState.PREPARED,
    ArtworkState.GENERATED,
    ArtworkState.CHOSEN,
    ArtworkState.PINNED,
    ArtworkState.MINTING,
    ArtworkState.MINTED,
    ArtworkState.LISTING,
    ArtworkState.LISTED,
    ArtworkState.SOLD,
)


def allowed_transitions(state: ArtworkState) -> frozenset[ArtworkState]:
    """Forward one step; candidates, prepared, generated and chosen artworks may be rejected;
    any live stage may fail.

    A rejected candidate may come back (curation re-run with other parameters, a person's
    category), and a failed artwork is retried from the stage it failed in (recorded in
    `failed_stage`) or rejected (a person giving up on it; the commands only allow that
    before generation). A prepared artwork may still be rejected: by a person, or by
    `prepare --redo` under new thresholds; nothing has been generated from it yet. A person
    may reject the frames of a generated artwork, or an automatic choice, on the review page
    before anything is pinned.
    """
    if state is ArtworkState.SOLD:
        return frozenset()
    if state is ArtworkState.FAILED:
        return frozenset({*PIPELINE_ORDER[:-1], ArtworkState.REJECTED})
    if state is ArtworkState.REJECTED:
        return frozenset({ArtworkState.CANDIDATE})
    index = PIPELINE_ORDER.index(state)
    targets = {PIPELINE_ORDER[index + 1], ArtworkState.FAILED}
    if state in (
        ArtworkState.CANDIDATE,
        ArtworkState.PREPARED,
        ArtworkState.GENERATED,
        ArtworkState.CHOSEN,
    ):
        targets.add(ArtworkState.REJECTED)
    # Listed items can be relisted when a sell order expires; they never fail again (nothing
    # after `listed` can undo the listing, and a stale failure must not hide a live item).
    if state is ArtworkState.LISTED:
        targets.add(ArtworkState.LISTING)
        targets.discard(ArtworkState.FAILED)
    return frozenset(targets)


class IllegalTransition(ValueError):
    def __init__(self, artwork_id: int | None, current: str, target: str) -> None:
        super().__init__(f"artwork {artwork_id}: cannot go from {current} to {target}")


class Artwork(SQLModel, table=True):
    __tablename__ = "artworks"

    id: int | None = Field(default=None, primary_key=True)
    listing_id: int = Field(foreign_key="listings.id", unique=True)
    state: str = Field(default=ArtworkState.CANDIDATE.value, index=True)
    reason: str | None = Field(default=None, description="Why it was rejected, in words.")
    failed_stage: str | None = Field(default=None, description="Stage that failed (to retry).")
    error: str | None = Field(default=None, sa_column=Column(Text()))
    attempts: int = 0
    category: str | None = Field(
        default=None,
        description="Animals, Faces, People, Objects or Scenery: decided by `prepare` (CLIP) "
        "or a person; the generation prompt comes from it (BOT_PROMPT_TEMPLATE).",
    )
    prompt: str | None = Field(
        default=None, sa_column=Column(Text()), description="The prompt it was generated with."
    )
    rejected_by: str | None = Field(
        default=None, description="Who rejected it: curate, prepare or person."
    )
    override_category: str | None = Field(
        default=None, description="A person's category; wins over CLIP on every run."
    )
    override_reason: str | None = Field(
        default=None, sa_column=Column(Text()), description="A person's reason to reject it."
    )
    override_source: str | None = Field(
        default=None, description="Where the override came from (command, labels file line)."
    )
    override_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    init_image_blob: str | None = Field(
        default=None, description="sha256 of the prepared init image (square PNG) in the blobs."
    )
    value_score: float | None = None
    rank: int | None = None
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    state_changed_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    next_attempt_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # --- choosing the frame (schema 0011) --------------------------------------------------
    chosen_by: str | None = Field(default=None, description="person or auto.")
    choice_reason: str | None = Field(
        default=None,
        sa_column=Column(Text()),
        description="JSON: why the chosen frame won (its scores, the runner-up) or who chose.",
    )
    upscaled_blob: str | None = Field(
        default=None, description="sha256 of the upscaled chosen frame (PNG), pinned instead."
    )
    upscaled_frame_id: int | None = Field(default=None, description="The frame it was made from.")
    upscale_model: str | None = Field(default=None, description="Upscaler weights and scale.")

    def check_move(self, target: ArtworkState) -> None:
        """Raises IllegalTransition unless the state machine allows going to `target`."""
        current = ArtworkState(self.state)
        if target is not current and target not in allowed_transitions(current):
            raise IllegalTransition(self.id, current.value, target.value)

    def move_to(self, target: ArtworkState, *, reason: str | None = None) -> None:
        """Change state if the state machine allows it; raises IllegalTransition otherwise."""
        current = ArtworkState(self.state)
        if target is current:
            return
        self.check_move(target)
        now = utcnow()
        self.state = target.value
        self.reason = reason if target in (ArtworkState.REJECTED, ArtworkState.FAILED) else None
        if target is not ArtworkState.REJECTED:
            self.rejected_by = None
        if target is not ArtworkState.FAILED:
            self.failed_stage = None
            self.error = None
        self.state_changed_at = now
        self.updated_at = now

    def fail(self, stage: ArtworkState, error: str) -> None:
        """Record a failure of `stage`; the daemon retries from that stage later."""
        self.move_to(ArtworkState.FAILED, reason=f"{stage.value} failed")
        self.failed_stage = stage.value
        self.error = error[:4000]
        self.attempts += 1


class ArtworkEvent(SQLModel, table=True):
    """Audit trail of state changes (added in schema v2)."""

    __tablename__ = "artwork_events"

    id: int | None = Field(default=None, primary_key=True)
    artwork_id: int = Field(foreign_key="artworks.id", index=True)
    from_state: str | None = None
    to_state: str
    reason: str | None = None
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
