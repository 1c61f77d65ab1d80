"""`bot scrape [SOURCE]` (marketplace listings into the store) and `bot images fetch`.

Sources: rarible (BOT_RARIBLE_COLLECTIONS), opensea and opensea-sales
(BOT_OPENSEA_COLLECTIONS), page (sites in BOT_SCRAPE_PAGE_RULES), kaggle (--csv), or all
configured ones. Each run continues from the stored cursor of its source and collection.
"""

from __future__ import annotations

from contextlib import ExitStack
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from bot.cli.output import cell, console, new_table, print_table, safe
from bot.cli.progress import logs_above
from bot.extras import require_extra

if TYPE_CHECKING:  # requests and the sources load when a command runs, not for `--help`
    from sqlalchemy.engine import Engine

    from bot.context import AppContext
    from bot.settings import Settings
    from scraper.http import HttpClient, HttpPolicy
    from scraper.source import Source

_COUNTS = "new {task.fields[new]} upd {task.fields[updated]} fail {task.fields[failed]}"
images_app = typer.Typer(help="Listing images: download and check.", no_args_is_help=True)


class SourceName(StrEnum):
    ALL = "all"
    RARIBLE = "rarible"
    OPENSEA = "opensea"
    OPENSEA_SALES = "opensea-sales"
    PAGE = "page"
    KAGGLE = "kaggle"


def register(app: typer.Typer) -> None:
    app.command("scrape")(scrape)
    app.add_typer(images_app, name="images")


def http_policy(settings: Settings) -> HttpPolicy:
    from scraper.http import HttpPolicy

    return HttpPolicy(
        rate_per_second=settings.scrape_rate_per_second,
        burst=settings.scrape_burst,
        concurrency=settings.scrape_concurrency,
        timeout_s=settings.scrape_timeout_s,
        deadline_s=request_deadline_s(settings),
        user_agent=settings.user_agent,
    )


def request_deadline_s(settings: Settings) -> float:
    """One request, all of it (connect, redirects, headers, body): 4 x BOT_SCRAPE_TIMEOUT_S."""
    return 4 * settings.scrape_timeout_s


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _secret(value: object) -> str | None:
    return value.get_secret_value() if value is not None else None  # type: ignore[attr-defined]


def rarible_base_url(settings: Settings) -> str:
    from scraper.rarible import MAINNET_URL

    # Scraping only reads public listings, so it reads mainnet unless told otherwise.
    url = (settings.rarible_api_url or MAINNET_URL).rstrip("/")
    return url if url.endswith("/v0.1") else url + "/v0.1"


def build_sources(
    settings: Settings,
    engine: Engine,
    client: HttpClient,
    which: SourceName,
    collections: list[str],
    *,
    stack: ExitStack,
    csv_path: Path | None = None,
) -> list[Source]:
    """The sources a run reads; `stack` owns the browser when a page source needs one."""
    from scraper.errors import ConfigurationError
    from scraper.listing_images import listings_without_details

    sources: list[Source] = []
    wanted = {which} if which is not SourceName.ALL else set(SourceName) - {SourceName.ALL}
    page_size = settings.scrape_page_size
    if SourceName.RARIBLE in wanted:
        from scraper.rarible import RaribleCollectionSource

        chosen = collections or _split(settings.rarible_collections)
        if which is SourceName.RARIBLE and not chosen:
            raise ConfigurationError(
                "no Rarible collection: pass --collection or set BOT_RARIBLE_COLLECTIONS"
            )
        sources += [
            RaribleCollectionSource(
                client, c, api_key=_secret(settings.rarible_api_key),
                base_url=rarible_base_url(settings), page_size=page_size,
            )
            for c in chosen
        ]  # fmt: skip
    for kind in (SourceName.OPENSEA, SourceName.OPENSEA_SALES):
        if kind not in wanted:
            continue
        from scraper.opensea import BASE_URL, OpenSeaListingsSource, OpenSeaSalesSource

        chosen = collections or _split(settings.opensea_collections)
        if which is kind and not chosen:
            raise ConfigurationError(
                "no OpenSea collection: pass --collection or set BOT_OPENSEA_COLLECTIONS"
            )
        common: dict[str, Any] = {
            "api_key": _secret(settings.opensea_api_key),
            "base_url": settings.opensea_api_url or BASE_URL,
            "page_size": min(page_size, 100),
        }
        for slug in chosen:
            if kind is SourceName.OPENSEA:
                needs = partial(listings_without_details, engine, "opensea")
                sources.append(OpenSeaListingsSource(client, slug, needs_details=needs, **common))
            else:
                sources.append(OpenSeaSalesSource(client, slug, **common))
    if SourceName.PAGE in wanted and (settings.scrape_page_rules or which is SourceName.PAGE):
        require_extra("browser", "bot scrape page")
        from scraper.page import Chromium, PageSource
        from scraper.page_rules import load_rules

        if settings.scrape_page_rules is None:
            raise ConfigurationError("no page rules: set BOT_SCRAPE_PAGE_RULES to a YAML file")
        rules = load_rules(settings.scrape_page_rules)
        chosen = collections or list(rules)
        unknown = [name for name in chosen if name not in rules]
        if unknown:
            raise ConfigurationError(
                f"unknown page sites {unknown}; the rules define {list(rules)}"
            )
        browser = stack.enter_context(Chromium(settings.chromium_path, settings.user_agent))
        sources += [PageSource(rules[name], browser, limiter=client.limiter) for name in chosen]
    if SourceName.KAGGLE in wanted and (csv_path or which is SourceName.KAGGLE):
        from scraper.kaggle import KaggleCsvSource

        if csv_path is None:
            raise ConfigurationError("the kaggle source needs --csv PATH")
        sources.append(KaggleCsvSource(csv_path, page_size=max(page_size, 500)))
    return sources


def scrape(
    ctx: typer.Context,
    source: SourceName = typer.Argument(SourceName.ALL, help="Which source to read."),
    collection: list[str] = typer.Option(
        [], "--collection", "-c", help="Collection id / slug / site (repeatable)."
    ),
    max_items: int | None = typer.Option(
        None, "--max", min=1, help="Stop after N listings per collection."
    ),
    csv_path: Path | None = typer.Option(None, "--csv", help="Kaggle CSV for the kaggle source."),
) -> None:
    """Scrape listings into the store, resuming each collection where it stopped."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from scraper.errors import ConfigurationError
    from scraper.http import HttpClient
    from scraper.runner import ScrapeSummary, run_source, run_sources

    context: AppContext = ctx.obj
    settings = context.settings
    with ExitStack() as stack:
        client = stack.enter_context(HttpClient(http_policy(settings)))
        try:
            sources = build_sources(
                settings, context.engine, client, source, collection, stack=stack,
                csv_path=csv_path,
            )  # fmt: skip
        except (ConfigurationError, ValueError) as exc:
            console.print(f"[red]{safe(exc)}[/red]")
            raise typer.Exit(2) from None
        if not sources:
            console.print(
                "[yellow]nothing to scrape:[/yellow] set BOT_RARIBLE_COLLECTIONS, "
                "BOT_OPENSEA_COLLECTIONS or BOT_SCRAPE_PAGE_RULES, or name a source and "
                "--collection"
            )
            raise typer.Exit(2)
        progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn(_COUNTS),
            TimeElapsedColumn(), console=console, transient=False,
        )  # fmt: skip
        with progress, logs_above(progress.console):  # log lines print above the bars
            tasks = {
                (s.name, s.collection): progress.add_task(
                    safe(f"{s.name} {_short(s.collection)}"),
                    total=max_items,
                    new=0,
                    updated=0,
                    failed=0,
                )
                for s in sources
            }

            def advance(summary: ScrapeSummary, count: int) -> None:
                progress.update(
                    tasks[(summary.source, summary.collection)], advance=count,
                    new=summary.new, updated=summary.updated, failed=summary.failed,
                )  # fmt: skip

            if any(s.name.startswith("page:") for s in sources):
                # One browser, driven from one thread (Playwright's sync API is not thread-safe).
                summaries = []
                for s in sources:
                    try:
                        summaries.append(
                            run_source(context.engine, s, max_items=max_items, progress=advance)
                        )
                    except ConfigurationError as exc:
                        summaries.append(
                            ScrapeSummary(s.name, s.collection, "failed", error=str(exc))
                        )
            else:
                summaries = run_sources(
                    context.engine, sources, max_items=max_items,
                    parallel=settings.scrape_concurrency, progress=advance,
                )  # fmt: skip
    _print_summary(summaries)
    if any(s.status == "failed" for s in summaries):
        raise typer.Exit(1)


def _print_summary(summaries: list) -> None:  # type: ignore[type-arg]
    counts = ("pages", "new", "updated", "unchanged", "failed")
    table = new_table("source", "collection", "status", *counts, title="Scrape summary",
                      right=counts)  # fmt: skip
    for s in summaries:
        status = {"failed": "[red]failed[/red]", "completed": "[green]completed[/green]"}.get(
            s.status, safe(s.status)
        )
        table.add_row(cell(s.source), cell(s.collection), status, str(s.pages), str(s.new),
                      str(s.updated), str(s.unchanged), str(s.failed))  # fmt: skip
    totals = [
        sum(getattr(s, f) for s in summaries) for f in ("new", "updated", "unchanged", "failed")
    ]
    print_table(table)
    console.print("total: new {} updated {} unchanged {} failed {}".format(*totals))
    for s in summaries:
        if s.error:
            console.print(f"[red]{safe(s.source)} {safe(s.collection)}: {safe(s.error)}[/red]")
        for failure in s.failures[:10]:
            console.print(f"  [yellow]failed[/yellow] {safe(failure)}")
        if len(s.failures) > 10:
            console.print(f"  ... and {s.failed - 10} more (see the log)")


def _short(text: str, width: int = 48) -> str:
    return text if len(text) <= width else text[: width - 12] + "…" + text[-11:]


@images_app.command("fetch")
def images_fetch(
    ctx: typer.Context,
    limit: int | None = typer.Option(None, "--limit", min=1, help="At most N listings."),
    retry_refused: bool = typer.Option(
        False, "--retry-refused", help="Try again the images refused before."
    ),
    all_listings: bool = typer.Option(
        False, "--all", help="Every listing without an image, not only curation's candidates."
    ),
) -> None:
    """Download the images of curation's candidates (best rank first) that have none yet,
    checked and decoded as `prepare` will; `--all` for every listing. Exit 1 if any was
    refused."""

    from bot.cli.progress import progress
    from generator.decode import DecodePolicy, decode_image
    from scraper.http import HostRateLimiter
    from scraper.images import DownloadPolicy, ImageDownloader
    from scraper.listing_images import fetch_listing_images, listings_missing_images

    context: AppContext = ctx.obj
    settings = context.settings
    policy = DownloadPolicy(
        gateways=DownloadPolicy.parse_gateways(settings.ipfs_gateways),
        max_bytes=settings.download_max_bytes,
        max_pixels=settings.download_max_pixels,
        allow_private=settings.allow_private_addresses,
        timeout_s=settings.scrape_timeout_s,
        deadline_s=request_deadline_s(settings),
        user_agent=settings.user_agent,
    )
    limiter = HostRateLimiter(settings.scrape_rate_per_second, settings.scrape_burst)
    decode = DecodePolicy(settings.download_max_bytes, settings.download_max_pixels)
    downloader = ImageDownloader(
        policy, context.blobs, limiter=limiter, validate=lambda data: decode_image(data, decode)
    )
    selected_only = not all_listings
    total = len(
        listings_missing_images(
            context.engine, limit=limit, retry_refused=retry_refused, selected_only=selected_only
        )
    )
    if total == 0:
        downloader.close()
        which = "listing" if all_listings else "candidate (`--all` for every listing)"
        console.print(f"nothing to fetch: every {which} with an image URI has its image")
        return
    try:
        with progress("images", total) as tracker:
            summary = fetch_listing_images(
                context.engine, downloader, limit=limit, retry_refused=retry_refused,
                selected_only=selected_only, workers=settings.scrape_concurrency,
                progress=tracker.advance,
            )  # fmt: skip
    finally:
        downloader.close()
    console.print(f"images: stored {summary.stored}, refused {summary.refused}")
    for reason in summary.reasons[:20]:
        console.print(f"  [yellow]refused[/yellow] {safe(reason)}", soft_wrap=True)
    if summary.refused:
        raise typer.Exit(1)
