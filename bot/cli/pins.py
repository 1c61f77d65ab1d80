"""`bot pin [ARTWORK]` (chosen → pinned) and `bot pins` (list, with a status re-check)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import typer

from bot.cli.output import cell, console, err_console, new_table, print_table, safe

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
) -> None:
    """Pin the chosen frame's image, then its metadata; the token URI is ipfs://<metadata>."""
    from bot.pinning import pinner_from_settings
    from bot.pipeline.pin_stage import PinStageError, chosen_artwork_ids, pin_artwork
    from storage.db import session_scope

    context: AppContext = ctx.obj
    try:
        pinner = pinner_from_settings(context.settings)
    except ValueError as exc:
        err_console.print(f"[red]{safe(exc)}[/red]")
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
                cid_version=context.settings.ipfs_cid_version,
                generator_version=generator_version(),
            )
        except PinStageError as exc:
            failures += 1
            err_console.print(f"[red]{safe(exc)}[/red]")
            continue
        if result.ok:
            console.print(
                f"artwork {each}: {safe(result.state)} image={safe(result.image_cid or '-')} "
                f"token_uri={safe(result.token_uri)}"
            )
        else:
            failures += result.state == "failed"
            console.print(f"artwork {each}: {safe(result.state)}: {safe(result.detail)}")
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
            cell(item["kind"]),
            cell(item["cid"]),
            str(item["size"]),
            cell(item["pinner"]),
            cell(item["status"]),
            cell(item["error"] or ""),
        )
    print_table(table)
