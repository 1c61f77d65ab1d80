"""One full cycle of the bot, as `bot run --once` and the daemon run it:

scrape (when sources are configured) → curate (when listings changed) → fetch images →
prepare → generate → choose → (upscale) → pin → mint → list (the stage runner) → sync bids
and sales.

Each step reports what it did; a step that cannot run with this configuration (no sources, no
wallet, no weights) is reported and skipped, and the rest goes on. The daemon runs the same
steps as separate scheduled jobs (bot/daemon/jobs.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlmodel import col

from bot.pipeline.context import PipelineContext
from bot.pipeline.runner import PassReport, reconcile_in_flight, run_pass
from bot.pipeline.stages import Stage
from storage.errors import StoreError
from storage.models import Listing
from storage.models.daemon import StoreInfo
from storage.types import utcnow

log = logging.getLogger(__name__)
CURATED_KEY = "curated_listings_at"  # store_info: the listings' newest change at the last curation


@dataclass
class StepReport:
    name: str
    status: str  # done, nothing, skipped, failed
    detail: str = ""
    failures: int = 0  # items that failed in this step (exit status 1)


@dataclass
class CycleReport:
    steps: list[StepReport] = field(default_factory=list)
    stages: PassReport = field(default_factory=PassReport)

    @property
    def failures(self) -> int:
        return sum(s.failures for s in self.steps) + self.stages.failures


def sources_configured(ctx: PipelineContext) -> bool:
    settings = ctx.settings
    return bool(
        settings.rarible_collections.strip()
        or settings.opensea_collections.strip()
        or settings.scrape_page_rules
    )


def scrape_step(ctx: PipelineContext) -> StepReport:
    if not sources_configured(ctx):
        return StepReport(
            "scrape",
            "skipped",
            "no sources configured (BOT_RARIBLE_COLLECTIONS, BOT_OPENSEA_COLLECTIONS, "
            "BOT_SCRAPE_PAGE_RULES)",
        )
    from bot.cli.scrape import SourceName, build_sources, http_policy
    from scraper.errors import ConfigurationError
    from scraper.http import HttpClient
    from scraper.runner import run_sources

    settings = ctx.settings
    with ExitStack() as stack:
        client = stack.enter_context(HttpClient(http_policy(settings)))
        try:
            sources = build_sources(settings, ctx.engine, client, SourceName.ALL, [], stack=stack)
        except (ConfigurationError, ValueError) as exc:
            return StepReport("scrape", "skipped", str(exc))
        with ctx.progress("scrape", None) as tracker:
            summaries = run_sources(
                ctx.engine,
                sources,
                parallel=settings.scrape_concurrency,
                progress=lambda _summary, count: tracker.advance(count),
            )
    failed = [s for s in summaries if s.status == "failed"]
    new = sum(s.new for s in summaries)
    updated = sum(s.updated for s in summaries)
    detail = f"{len(summaries)} collection(s): {new} new, {updated} updated listings"
    for s in failed:
        detail += f"; {s.source} {s.collection} failed: {s.error}"
    return StepReport("scrape", "failed" if failed else "done", detail, failures=len(failed))


def _listings_changed_at(ctx: PipelineContext) -> str | None:
    with ctx.engine.connect() as connection:
        newest = connection.execute(select(func.max(col(Listing.updated_at)))).scalar()
        if newest is None:
            return None
        stamp = str(newest)
        seen = connection.execute(
            select(col(StoreInfo.value)).where(col(StoreInfo.key) == CURATED_KEY)
        ).scalar()
    return None if seen == stamp else stamp


def _remember_curated(ctx: PipelineContext, stamp: str) -> None:
    table = StoreInfo.__table__  # type: ignore[attr-defined]
    with ctx.engine.begin() as connection:
        changed = connection.execute(
            table.update()
            .where(table.c.key == CURATED_KEY)
            .values(value=stamp, updated_at=utcnow())
        ).rowcount
        if not changed:
            connection.execute(
                table.insert().values(key=CURATED_KEY, value=stamp, updated_at=utcnow())
            )


def curate_step(ctx: PipelineContext) -> StepReport:
    """Curate when the listings changed since the last curation by this step (a person's
    `bot curate --top N` holds until new listings arrive)."""
    from bot.curation.curate import CurationParams, curate
    from bot.settings import parse_year_range

    stamp = _listings_changed_at(ctx)
    if stamp is None:
        return StepReport("curate", "nothing", "no listing changed since the last curation")
    settings = ctx.settings
    params = CurationParams(
        trim=settings.curate_trim,
        years=parse_year_range(settings.curate_years),
        top=settings.curate_top,
    )
    report = curate(ctx.engine, params)
    _remember_curated(ctx, stamp)
    return StepReport(
        "curate",
        "done",
        f"{report.considered} listings: {report.selected} candidates "
        f"({report.created} new artworks, {report.changed} changed)",
    )


def fetch_step(ctx: PipelineContext) -> StepReport:
    from scraper.http import HostRateLimiter
    from scraper.images import DownloadPolicy, ImageDownloader
    from scraper.listing_images import fetch_listing_images, listings_missing_images

    settings = ctx.settings
    total = len(listings_missing_images(ctx.engine))
    if not total:
        return StepReport("fetch", "nothing", "every listing has its image (or was refused)")
    policy = DownloadPolicy(
        gateways=DownloadPolicy.parse_gateways(settings.ipfs_gateways),
        max_bytes=settings.download_max_bytes,
        max_pixels=settings.download_max_pixels,
        allow_private=settings.allow_private_addresses,
        timeout_s=settings.scrape_timeout_s,
        user_agent=settings.user_agent,
    )
    limiter = HostRateLimiter(settings.scrape_rate_per_second, settings.scrape_burst)
    downloader = ImageDownloader(policy, ctx.app.blobs, limiter=limiter)
    try:
        with ctx.progress("fetch images", total) as tracker:
            summary = fetch_listing_images(
                ctx.engine,
                downloader,
                workers=settings.scrape_concurrency,
                progress=tracker.advance,
            )
    finally:
        downloader.close()
    # A refused image is the listing's property (not an image, too big), not a failure of
    # the bot: it is recorded on the listing and not tried again.
    return StepReport("fetch", "done", f"{summary.stored} stored, {summary.refused} refused")


def sync_step(ctx: PipelineContext) -> StepReport:
    from bot.pipeline.publish import marketplace_for, marketplace_network
    from bot.pipeline.sold_stage import sync_market
    from marketplace.client import RaribleError
    from marketplace.wallet import WalletError, keystore_info

    settings = ctx.settings
    try:
        seller = keystore_info(settings.wallet_dir).address
    except WalletError as exc:
        return StepReport("sync", "skipped", f"no wallet to sync for: {exc}")
    try:
        with ctx.progress("sync bids and sales", None):
            result = sync_market(
                ctx.engine,
                marketplace_for(ctx.app),
                mode=settings.marketplace_mode.value,
                seller=seller,
                weth=marketplace_network(ctx.app).weth,
                protocol_fee_bps=settings.protocol_fee_bps,
                notifier=ctx.notifier,
            )
    except (RaribleError, WalletError) as exc:
        return StepReport("sync", "failed", str(exc), failures=1)
    resales = result.resales.new if result.resales else 0
    return StepReport(
        "sync",
        "done",
        f"bids: {result.bids.new} new, {result.bids.updated} updated; sales: "
        f"{result.sales.new} new, {resales} resales; sold: {len(result.sold)}",
    )


def _guarded(
    name: str, step: Callable[[PipelineContext], StepReport], ctx: PipelineContext
) -> StepReport:
    """A step's unexpected error is reported as its failure; the cycle goes on. The store's
    own errors stop the cycle."""
    log.debug("step %s starting", name)
    try:
        return step(ctx)
    except StoreError:
        raise
    except Exception as exc:
        log.exception("%s failed", name)
        return StepReport(name, "failed", f"unexpected {type(exc).__name__}: {exc}", failures=1)


def run_cycle(
    ctx: PipelineContext,
    *,
    skip: Sequence[str] = (),
    stages: Sequence[Stage] | None = None,
) -> CycleReport:
    """One full cycle (see the module docstring); `skip` names steps to leave out."""
    report = CycleReport()
    # What a crash left in flight is looked up on the marketplace before anything else.
    if "stages" not in skip:
        report.stages.stages += reconcile_in_flight(ctx, stages).stages
    for name, step in (("scrape", scrape_step), ("curate", curate_step), ("fetch", fetch_step)):
        if ctx.stop.is_set():
            return report
        if name not in skip:
            report.steps.append(_guarded(name, step, ctx))
    if "stages" not in skip and not ctx.stop.is_set():
        report.stages.stages += run_pass(ctx, stages).stages
    if "sync" not in skip and not ctx.stop.is_set():
        report.steps.append(_guarded("sync", sync_step, ctx))
    return report
