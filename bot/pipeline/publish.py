"""Publishing: pinned artworks are lazy-minted, then listed (mint_stage, list_stage).

`open_publisher` builds what both stages need from settings: the marketplace for the mode
(outbox in dry-run), the network's contracts, the unlocked wallet, and this process's send
claim owner. `run_publish` first finishes what an earlier run left in flight (minting/listing,
or failed in those stages: the reconcile), then starts new artworks up to the publish cap. One
artwork's failure is recorded on that artwork and the rest of the batch goes on; an artwork
another process is sending right now is skipped as busy, which is no failure. A failed artwork
resumes in the stage it failed in (a failed listing is retried as a listing, never as a mint);
the automatic retries stop after `max_attempts` failures (`bot publish --artwork ID` still
retries it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot.context import AppContext
from bot.pinning import unpin_frames_hook
from bot.pipeline.context import ProgressFactory, silent_progress
from marketplace.eip712 import Signer
from marketplace.market import Market, open_market
from marketplace.networks import Network, network_for_mode
from marketplace.sending import SendClaim
from marketplace.wallet import WalletError, keystore_path, unlock
from storage.artworks import record_failure
from storage.db import session_scope
from storage.errors import StoreError
from storage.models import Artwork, ArtworkState

log = logging.getLogger(__name__)

IN_FLIGHT = (ArtworkState.MINTING, ArtworkState.MINTED, ArtworkState.LISTING)
PUBLISH_STAGES = (ArtworkState.MINTING, ArtworkState.LISTING)
# Failures after which `run_publish` stops retrying an artwork by itself (a refused mint makes a
# new token id each time; an outage ends long before). The daemon adds backoff between tries.
MAX_PUBLISH_ATTEMPTS = 10


@dataclass
class Publisher:
    engine: Engine
    mode: str
    network: Network
    market: Market
    signer: Signer
    royalty_bps: int
    listing_kind: str  # open-for-bids | fixed-price
    price_eth: str
    duration_s: int
    # This process's sends: one owner id (host:pid:random) for all of them.
    send_claim: SendClaim
    max_attempts: int = MAX_PUBLISH_ATTEMPTS
    on_listed_hooks: list[Callable[[int], None]] = field(default_factory=list)


@dataclass
class PublishReport:
    outcomes: dict[int, str] = field(default_factory=dict)  # artwork id -> state or error
    gave_up: list[int] = field(default_factory=list)  # failed max_attempts times: not retried

    @property
    def failed(self) -> dict[int, str]:
        return {k: v for k, v in self.outcomes.items() if v.startswith(("failed", "refused"))}


def marketplace_network(context: AppContext) -> Network:
    settings = context.settings
    return network_for_mode(settings.marketplace_mode.value).with_overrides(
        api_url=settings.rarible_api_url, collection=settings.rarible_collection
    )


def marketplace_for(context: AppContext) -> Market:
    settings = context.settings
    key = settings.rarible_api_key.get_secret_value() if settings.rarible_api_key else None
    return open_market(
        settings.marketplace_mode.value,
        marketplace_network(context),
        outbox_dir=settings.outbox_dir,
        api_key=key,
        user_agent=settings.user_agent,
    )


def open_publisher(context: AppContext, *, passphrase: str | None = None) -> Publisher:
    """Everything the publish stages need; raises WalletError when the key cannot be unlocked."""
    settings = context.settings
    secret = passphrase or (
        settings.wallet_passphrase.get_secret_value() if settings.wallet_passphrase else None
    )
    if not secret:
        if not keystore_path(settings.wallet_dir).exists():  # the first thing to fix
            raise WalletError(
                f"no keystore at {keystore_path(settings.wallet_dir)}: run `bot wallet create` "
                "or `bot wallet import`, then set BOT_WALLET_PASSPHRASE"
            )
        raise WalletError("no passphrase: set BOT_WALLET_PASSPHRASE to unlock the keystore")
    signer = unlock(settings.wallet_dir, secret)
    market = marketplace_for(context)
    publisher = Publisher(
        engine=context.engine,
        mode=settings.marketplace_mode.value,
        network=marketplace_network(context),
        market=market,
        signer=signer,
        royalty_bps=settings.royalty_bps,
        listing_kind=settings.listing_kind,
        price_eth=settings.listing_price_eth,
        duration_s=settings.listing_duration_days * 86400,
        send_claim=SendClaim.fresh(market.claim_ttl_s),
    )
    unpin_frames = unpin_frames_hook(context)
    if unpin_frames is not None:  # BOT_IPFS_PIN_FRAMES: frames not chosen are let go
        publisher.on_listed_hooks.append(unpin_frames)
    return publisher


def _ids(
    engine: Engine,
    states: tuple[ArtworkState, ...],
    failed_in: tuple[ArtworkState, ...] = (),
    *,
    max_attempts: int = MAX_PUBLISH_ATTEMPTS,
    gave_up: list[int] | None = None,
) -> list[int]:
    """Artworks in `states`, or failed in one of `failed_in` fewer than `max_attempts` times
    (the others are appended to `gave_up`), best rank first."""
    with session_scope(engine) as session:
        rows = session.exec(
            select(Artwork.id, Artwork.state, Artwork.failed_stage, Artwork.attempts).order_by(
                col(Artwork.rank).is_(None), col(Artwork.rank), col(Artwork.id)
            )
        ).all()
    wanted = {s.value for s in states}
    retry = {s.value for s in failed_in}
    chosen = []
    for artwork_id, state, failed_stage, attempts in rows:
        if artwork_id is None:
            continue
        if state in wanted:
            chosen.append(artwork_id)
        elif state == ArtworkState.FAILED.value and failed_stage in retry:
            if attempts < max_attempts:
                chosen.append(artwork_id)
            elif gave_up is not None:
                gave_up.append(artwork_id)
    return chosen


def stage_is_due(artwork: Artwork, entry: tuple[ArtworkState, ...], stage: ArtworkState) -> bool:
    """The artwork waits for this stage: in one of its entry states, or failed in it (retry)."""
    state = ArtworkState(artwork.state)
    return state in entry or (state is ArtworkState.FAILED and artwork.failed_stage == stage.value)


def current_state(publisher: Publisher, artwork_id: int) -> ArtworkState:
    with session_scope(publisher.engine) as session:
        artwork = session.get(Artwork, artwork_id)
        return ArtworkState(artwork.state) if artwork else ArtworkState.FAILED


def busy(publisher: Publisher, artwork_id: int, why: Exception) -> ArtworkState:
    """Another process holds the artwork's send (or just moved it): skip it, no failure."""
    log.info("artwork %s: busy: %s", artwork_id, why)
    return current_state(publisher, artwork_id)


def fail_stage(
    publisher: Publisher, artwork_id: int, stage: ArtworkState, error: str
) -> ArtworkState:
    """Record a failure of `stage` on the artwork (the next run reconciles and retries). An
    artwork another process has meanwhile moved past `stage` keeps its state."""
    log.warning("artwork %s: %s failed: %s", artwork_id, stage.value, error)
    with session_scope(publisher.engine) as session:
        artwork = session.get(Artwork, artwork_id)
        if artwork is None:
            return ArtworkState.FAILED
        record_failure(session, artwork, stage, error)
        return ArtworkState(artwork.state)


def _failed_in(publisher: Publisher, artwork_id: int, stage: ArtworkState) -> bool:
    with session_scope(publisher.engine) as session:
        artwork = session.get(Artwork, artwork_id)
        return (
            artwork is not None
            and artwork.state == ArtworkState.FAILED.value
            and artwork.failed_stage == stage.value
        )


def publish_one(publisher: Publisher, artwork_id: int) -> str:
    """Mint and list one artwork as far as it goes now; returns its state (or the failure).
    An artwork that failed in the listing stage resumes there: its mint is done."""
    from bot.pipeline.guards import publish_refusal
    from bot.pipeline.list_stage import advance_listing
    from bot.pipeline.mint_stage import advance_mint

    refusal = publish_refusal(publisher.engine, artwork_id, publisher.mode)
    if refusal:  # e.g. a smoke-test frame outside dry-run: nothing is sent or changed
        return f"refused: {refusal}"
    state = advance_mint(publisher, artwork_id)
    if state in (ArtworkState.MINTED, ArtworkState.LISTING) or (
        state is ArtworkState.FAILED and _failed_in(publisher, artwork_id, ArtworkState.LISTING)
    ):
        state = advance_listing(publisher, artwork_id)
    return _outcome(publisher, artwork_id, state)


def _outcome(publisher: Publisher, artwork_id: int, state: ArtworkState, prefix: str = "") -> str:
    if state is ArtworkState.FAILED:
        with session_scope(publisher.engine) as session:
            artwork = session.get(Artwork, artwork_id)
            if artwork is None:
                return "failed: unknown"
            return f"failed (attempt {artwork.attempts}): {artwork.error}"
    if state in PUBLISH_STAGES:  # the stage ran and left it in flight: another process has it
        return f"{prefix}{state.value} (busy: another process is sending it)"
    return prefix + state.value


def _publish_isolated(publisher: Publisher, artwork_id: int) -> str:
    """One artwork's unexpected error (a bug, a full disk) is recorded on it, not on the batch.
    Whatever it interrupted is safe: intents in flight are reconciled on the next run."""
    try:
        return publish_one(publisher, artwork_id)
    except StoreError:
        raise  # a damaged, read-only or full store stops the batch: every artwork would fail
    except Exception as exc:
        log.exception("artwork %s: publishing stopped by an unexpected error", artwork_id)
        error = f"{type(exc).__name__}: {exc}"
        with session_scope(publisher.engine) as session:
            artwork = session.get(Artwork, artwork_id)
            if artwork is not None and artwork.state != ArtworkState.FAILED.value:
                early = artwork.state in (ArtworkState.PINNED.value, ArtworkState.MINTING.value)
                stage = ArtworkState.MINTING if early else ArtworkState.LISTING
                record_failure(session, artwork, stage, error)
        return f"failed: {error}"


def run_publish(
    publisher: Publisher,
    *,
    artwork_id: int | None = None,
    max_new: int = 100,
    progress: ProgressFactory = silent_progress,
) -> PublishReport:
    report = PublishReport()
    if artwork_id is not None:
        report.outcomes[artwork_id] = publish_one(publisher, artwork_id)
        return report
    # Reconcile first: whatever a crash or a failure left between pinned and listed.
    pending = _ids(
        publisher.engine,
        IN_FLIGHT,
        PUBLISH_STAGES,
        max_attempts=publisher.max_attempts,
        gave_up=report.gave_up,
    )
    new = _ids(publisher.engine, (ArtworkState.PINNED,))[:max_new]
    with progress("publish", len(pending) + len(new)) as tracker:
        for artwork in pending:
            report.outcomes[artwork] = _publish_isolated(publisher, artwork)
            tracker.advance()
        _relist(publisher, report)
        for artwork in new:
            report.outcomes[artwork] = _publish_isolated(publisher, artwork)
            tracker.advance()
    return report


def _relist(publisher: Publisher, report: PublishReport) -> None:
    from bot.pipeline.list_stage import relist_expired

    try:
        for relisted, state in relist_expired(publisher).items():
            report.outcomes[relisted] = _outcome(publisher, relisted, state, "relisted, ")
    except StoreError:
        raise
    except Exception:  # relisting is housekeeping: it never blocks new artworks
        log.exception("relisting expired sell orders failed")
