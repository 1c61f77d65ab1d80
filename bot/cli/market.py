"""`bot publish`, `bot bids sync | list`, `bot sales`: the Rarible side of the bot.

The mode (dry-run by default, testnet, mainnet with BOT_MAINNET_CONFIRM=true) decides whether
requests go to the outbox under <data_dir>/outbox or to Rarible.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from decimal import Decimal, localcontext
from typing import TYPE_CHECKING

import typer

from bot.cli.output import cell, console, new_table, print_table, safe
from bot.cli.output import err_console as err

if TYPE_CHECKING:
    from bot.context import AppContext

bids_app = typer.Typer(help="Bids on our items.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("publish")(publish)
    app.command("sales")(sales)
    app.add_typer(bids_app, name="bids")


def publish(
    ctx: typer.Context,
    artwork: int | None = typer.Option(None, "--artwork", help="Publish only this artwork."),
    max_items: int | None = typer.Option(
        None, "--max", min=1, help="New artworks to start this run (capped by BOT_PUBLISH_CAP)."
    ),
) -> None:
    """Lazy-mint pinned artworks and list them (open for bids or fixed price).

    Artworks an earlier run left in minting/listing are reconciled with the marketplace first.
    Exit code 1 when any artwork failed (its error is stored on it; the next run retries).
    """
    from bot.cli.progress import progress
    from bot.pipeline.publish import open_publisher, run_publish
    from marketplace.wallet import WalletError

    context: AppContext = ctx.obj
    settings = context.settings
    cap = settings.publish_cap
    limit = min(max_items or cap, cap)
    if max_items and max_items > cap:
        err.print(f"--max {max_items} is above BOT_PUBLISH_CAP={cap}; publishing at most {cap}")
    passphrase = None
    if not settings.wallet_passphrase and sys.stdin.isatty():
        passphrase = typer.prompt("Wallet passphrase", hide_input=True)
    try:
        publisher = open_publisher(context, passphrase=passphrase)
    except WalletError as exc:
        err.print(f"[red]wallet:[/red] {safe(exc)}")
        raise typer.Exit(2) from None
    console.print(
        f"mode {safe(publisher.mode)} on {safe(publisher.network.name)} "
        f"(chain {publisher.network.chain_id}), collection {safe(publisher.network.collection)},"
        f" listing {safe(publisher.listing_kind)}"
    )
    report = run_publish(publisher, artwork_id=artwork, max_new=limit, progress=progress)
    if report.gave_up:
        ids = ", ".join(str(i) for i in report.gave_up[:10])
        err.print(
            f"{len(report.gave_up)} artwork(s) failed {publisher.max_attempts} times and are no"
            f" longer retried automatically ({ids}): `bot publish --artwork ID` retries one"
        )
    if not report.outcomes:
        console.print("nothing to publish: no artwork is pinned or in flight")
        return
    table = new_table(
        "artwork", "outcome", title=f"Published ({settings.marketplace_mode.value})",
        right=("artwork",),
    )  # fmt: skip
    for artwork_id, outcome in report.outcomes.items():
        table.add_row(str(artwork_id), cell(outcome))
    print_table(table)
    if report.failed:
        raise typer.Exit(1)


@bids_app.command("sync")
def bids_sync(ctx: typer.Context) -> None:
    """Fetch bids on every published item, our sales since the last sync and the state of our
    sell orders; mark sold artworks."""
    from bot.cli.progress import progress
    from bot.notify import open_notifier
    from bot.pipeline.publish import marketplace_for, marketplace_network
    from bot.pipeline.sold_stage import sync_market
    from marketplace.client import RaribleError
    from marketplace.wallet import WalletError, keystore_info

    context: AppContext = ctx.obj
    settings = context.settings
    # The webhook runs on its own thread: a slow or failing one never holds up the sync, and
    # at exit the command waits at most BOT_WEBHOOK_TIMEOUT_S for what is still queued.
    with open_notifier(settings, context.engine) as notifier, progress("bids sync", None):
        try:
            result = sync_market(
                context.engine,
                marketplace_for(context),
                mode=settings.marketplace_mode.value,
                seller=keystore_info(settings.wallet_dir).address,
                weth=marketplace_network(context).weth,
                protocol_fee_bps=settings.protocol_fee_bps,
                notifier=notifier,
            )
        except WalletError as exc:  # no keystore to sync for: configuration
            err.print(f"[red]sync failed:[/red] {safe(exc)}")
            raise typer.Exit(2) from None
        except RaribleError as exc:
            err.print(f"[red]sync failed:[/red] {safe(exc)}")
            raise typer.Exit(1) from None
    bids, sales = result.bids, result.sales
    resales = result.resales.new if result.resales else 0
    typer.echo(  # one plain line, never wrapped: scripts and logs read it
        f"bids: {bids.new} new, {bids.updated} updated, {bids.unchanged} unchanged; "
        f"sales: {sales.new} new, {resales} resales; sell orders changed: "
        f"{result.orders.updated}; sold: {len(result.sold)}"
    )
    skipped = bids.skipped + sales.skipped + (result.resales.skipped if result.resales else [])
    for reason in skipped:
        err.print(f"[yellow]skipped:[/yellow] {safe(reason)}")


@bids_app.command("list")
def bids_list(
    ctx: typer.Context,
    artwork: int | None = typer.Option(None, "--artwork"),
    status: str | None = typer.Option(None, "--status", help="ACTIVE, FILLED, CANCELLED, ..."),
    as_json: bool = typer.Option(False, "--json", help="Print every bid as JSON."),
) -> None:
    """Bids in the store, highest price first."""
    from sqlmodel import select

    from storage.db import session_scope
    from storage.models.market import Bid

    context: AppContext = ctx.obj
    with session_scope(context.reader) as session:
        query = select(Bid).where(Bid.mode == context.settings.marketplace_mode.value)
        if artwork is not None:
            query = query.where(Bid.artwork_id == artwork)
        if status:
            query = query.where(Bid.status == status.upper())
        rows = sorted(session.exec(query).all(), key=lambda b: b.price or Decimal(0), reverse=True)
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "order_id": b.order_id,
                        "artwork_id": b.artwork_id,
                        "item_id": b.item_id,
                        "maker": b.maker,
                        "price": None if b.price is None else str(b.price),
                        "currency": b.currency_symbol or b.currency,
                        "price_usd": None if b.price_usd is None else str(b.price_usd),
                        "status": b.status,
                        "updated_at": b.updated_at.isoformat(),
                    }
                    for b in rows
                ],
                indent=2,
            )
        )
        return
    table = new_table(
        "artwork", "price", "currency", "usd", "maker", "status", "order", title="Bids"
    )
    for b in rows:
        table.add_row(
            str(b.artwork_id or "-"),
            "?" if b.price is None else str(b.price),
            cell(b.currency_symbol or b.currency),
            "" if b.price_usd is None else str(b.price_usd),
            cell(b.maker),
            cell(b.status),
            cell(b.order_id),
        )
    print_table(table)


def sales(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the sales and totals as JSON."),
) -> None:
    """Recorded sales and the gross total per currency."""
    from sqlmodel import col, select

    from storage.db import session_scope
    from storage.models.market import Sale

    context: AppContext = ctx.obj
    with session_scope(context.reader) as session:
        rows = session.exec(
            select(Sale)
            .where(Sale.mode == context.settings.marketplace_mode.value)
            .order_by(col(Sale.sold_at))
        ).all()
    totals: dict[str, Decimal] = defaultdict(Decimal)
    with localcontext() as exact:
        exact.prec = 100  # sums of wei-precise amounts must not round at 28 digits
        for sale in rows:
            totals[sale.currency] += sale.amount if sale.amount is not None else sale.price
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "sales": [
                        {
                            "artwork_id": s.artwork_id,
                            "item_id": s.item_id,
                            "kind": s.kind,
                            "price": str(s.price),
                            "currency": s.currency,
                            "buyer": s.buyer,
                            "tx_hash": s.tx_hash,
                            "sold_at": s.sold_at.isoformat(),
                        }
                        for s in rows
                    ],
                    "gross": {currency: str(total) for currency, total in totals.items()},
                },
                indent=2,
            )
        )
        return
    table = new_table(
        "sold at", "artwork", "kind", "price", "currency", "buyer", "tx", title="Sales"
    )
    for s in rows:
        table.add_row(
            s.sold_at.strftime("%Y-%m-%d %H:%M"),
            str(s.artwork_id or "-"),
            cell(s.kind),
            str(s.price),
            cell(s.currency),
            cell(s.buyer),
            cell(s.tx_hash or ""),
        )
    print_table(table)
    for currency, total in totals.items():
        console.print(f"gross {safe(currency)}: {total}")
