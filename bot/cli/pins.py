"""`bot pin [ARTWORK]` (chosen → pinned) and `bot pins` (list, with a status re-check)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from bot.cli.output import console, err_console, new_table, print_table

if TYPE_CHECKING:
    from bot.context import AppContext
    from storage.ipfs.pinner import Pinner


def register(app: typer.Typer) -> None:
    app.command("pin")(pin)
    app.command("pins")(pins)


def generator_version() -> str:
    from generator import __version__

    return f"nftbot generator {__version__}"


def pin(
    ctx: typer.Context,
    artwork_id: int | None = typer.Argument(None, help="Artwork id (default: every chosen)."),
    force_near_copy: bool = typer.Option(
        False,
        "--force-near-copy",
        help="Pin ARTWORK's chosen frame although it is a near-copy of its source (needs "
        "--reason; recorded on the frame and in the artwork's event log).",
    ),
    reason: str | None = typer.Option(None, "--reason", help="Why, with --force-near-copy."),
) -> None:
    """Pin the chosen frame's image, then its metadata; the token URI is ipfs://<metadata>.

    Refused, changing nothing: frames of the untrained smoke-test model outside dry-run, and
    near-copies of the source that no person forced."""
    from bot.pinning import pinner_from_settings
    from bot.pipeline.choose_stage import near_copy_thresholds
    from bot.pipeline.guards import PinPolicy, PublishRefused, record_near_copy_override
    from bot.pipeline.pin_stage import PinStageError, chosen_artwork_ids, pin_artwork
    from storage.db import session_scope
    from storage.models import Artwork

    context: AppContext = ctx.obj
    settings = context.settings
    policy = PinPolicy(
        marketplace_mode=settings.marketplace_mode.value,
        thresholds=near_copy_thresholds(settings),
        upscale_enabled=settings.upscale_enabled,
    )
    if force_near_copy:
        if artwork_id is None or not reason:
            err_console.print("[red]--force-near-copy needs an artwork id and --reason TEXT[/red]")
            raise typer.Exit(2)
        try:
            with session_scope(context.engine) as session:
                artwork = session.get(Artwork, artwork_id)
                if artwork is None:
                    raise PublishRefused(f"no artwork {artwork_id}")
                recorded = record_near_copy_override(
                    session, artwork, reason, policy.thresholds, context.blobs
                )
        except PublishRefused as exc:
            err_console.print(f"[red]{escape(str(exc))}[/red]")
            raise typer.Exit(1) from None
        console.print(f"artwork {artwork_id}: {escape(recorded)}")
    try:
        pinner = pinner_from_settings(settings)
    except ValueError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    if artwork_id is None:
        with session_scope(context.engine) as session:
            ids = chosen_artwork_ids(session)
    else:
        ids = [artwork_id]
    failures = 0
    for each in ids:
        try:
            result = pin_artwork(
                context.engine,
                each,
                pinner=pinner,
                blobs=context.blobs,
                cid_version=settings.ipfs_cid_version,
                generator_version=generator_version(),
                policy=policy,
            )
        except (PinStageError, PublishRefused) as exc:
            failures += 1
            err_console.print(f"[red]{escape(str(exc))}[/red]")
            continue
        if result.ok:
            console.print(
                f"artwork {each}: {result.state} image={result.image_cid or '-'} "
                f"token_uri={result.token_uri}"
            )
        else:
            failures += result.state == "failed"
            console.print(f"artwork {each}: {result.state}: {escape(str(result.detail))}")
    if not ids:
        console.print("no chosen artworks to pin")
    raise typer.Exit(1 if failures else 0)


def pins(
    ctx: typer.Context,
    artwork_id: int | None = typer.Option(None, "--artwork", help="Only this artwork's pins."),
    check: bool = typer.Option(
        True, "--check/--no-check", help="Re-check each pin with its pinner first."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print every pin as JSON."),
) -> None:
    """List the pins; with --check (default) ask each pin's pinner for its status again."""
    from bot.pinning import pinner_from_settings
    from storage.db import session_scope
    from storage.ipfs.records import list_pins, recheck

    context: AppContext = ctx.obj
    pinners: dict[str, Pinner | ValueError] = {}
    # --check records what each pinner says now (a write); --no-check only reads.
    with session_scope(context.engine if check else context.reader) as session:
        rows = list_pins(session, artwork_id=artwork_id)
        if check:
            for row in rows:
                if row.pinner not in pinners:
                    try:
                        pinners[row.pinner] = pinner_from_settings(context.settings, row.pinner)
                    except ValueError as exc:
                        pinners[row.pinner] = exc
                pinner = pinners[row.pinner]
                if isinstance(pinner, ValueError):
                    row.error = f"not re-checked: {pinner}"
                    continue
                recheck(session, row, pinner)
        shown = [
            {
                "cid": row.cid,
                "kind": row.kind,
                "artwork_id": row.artwork_id,
                "frame_id": row.frame_id,
                "size": row.size,
                "pinner": row.pinner,
                "status": row.status,
                "request_id": row.request_id,
                "error": row.error,
                "updated_at": row.updated_at.isoformat(),
            }
            for row in rows
        ]
    if as_json:
        typer.echo(json.dumps(shown, indent=2))
        return
    table = new_table(
        "artwork", "kind", "cid", "size", "pinner", "status", "error", title="IPFS pins"
    )
    for item in shown:
        table.add_row(
            str(item["artwork_id"] or "-"),
            str(item["kind"]),
            str(item["cid"]),
            str(item["size"]),
            str(item["pinner"]),
            str(item["status"]),
            str(item["error"] or ""),
        )
    print_table(table)
