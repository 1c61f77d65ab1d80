"""`bot ipfs cid FILE`, `bot ipfs push`, `bot ipfs gc`: CIDs and the local blockstore."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from bot.cli.output import console, err_console, safe

if TYPE_CHECKING:
    from bot.context import AppContext

ipfs_app = typer.Typer(help="IPFS: compute CIDs, push the local pin backlog.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(ipfs_app, name="ipfs")


@ipfs_app.command("cid")
def cid(
    ctx: typer.Context,
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    cid_version: int | None = typer.Option(
        None, "--cid-version", min=0, max=1, help="0 or 1; default BOT_IPFS_CID_VERSION."
    ),
) -> None:
    """Print the CID `ipfs add` would give FILE (v1 implies raw leaves, as in kubo)."""
    from storage.ipfs.unixfs import import_file

    context: AppContext = ctx.obj
    version = context.settings.ipfs_cid_version if cid_version is None else cid_version
    typer.echo(str(import_file(file, cid_version=version).cid))


@ipfs_app.command("push")
def push(
    ctx: typer.Context,
    to: str | None = typer.Option(
        None, "--to", help="kubo or pinning-service; default BOT_IPFS_PINNER."
    ),
) -> None:
    """Move the local blockstore's pins to a kubo node or a pinning service, verifying CIDs."""
    from bot.pinning import pinner_from_settings
    from storage.db import session_scope
    from storage.ipfs.blockstore import LocalBlockstore
    from storage.ipfs.push import push_backlog
    from storage.ipfs.records import list_pins, record_outcome
    from storage.models.pin import PinKind, PinStatus

    context: AppContext = ctx.obj
    target_kind = to or context.settings.ipfs_pinner.value
    if target_kind == "local":
        err_console.print("[red]push needs a target: --to kubo or --to pinning-service[/red]")
        raise typer.Exit(2)
    try:
        target = pinner_from_settings(context.settings, target_kind)
    except ValueError as exc:
        err_console.print(f"[red]{safe(exc)}[/red]")
        raise typer.Exit(2) from None
    local = LocalBlockstore(context.settings.ipfs_dir)
    with session_scope(context.engine) as session:
        done = {
            row.cid for row in list_pins(session, pinner=target.name, statuses=[PinStatus.PINNED])
        }
        local_rows = {row.cid: row for row in list_pins(session, pinner="local")}
    pushed = failed = 0
    for result in push_backlog(local, target, skip=done):
        if result.outcome is None:
            failed += 1
            err_console.print(f"[red]failed[/red] {safe(result.cid)}: {safe(result.error)}")
            continue
        pushed += 1
        console.print(f"{result.outcome.status.value:8} {safe(result.cid)}")
        source = local_rows.get(result.cid)
        with session_scope(context.engine) as session:
            record_outcome(
                session,
                result.outcome,
                kind=PinKind(source.kind) if source else PinKind.IMAGE,
                artwork_id=source.artwork_id if source else None,
                frame_id=source.frame_id if source else None,
            )
    console.print(f"pushed {pushed}, skipped {len(done)} already pinned, failed {failed}")
    raise typer.Exit(1 if failed else 0)


@ipfs_app.command("gc")
def gc(ctx: typer.Context) -> None:
    """Delete local blocks that no pin reaches any more."""
    from storage.ipfs.blockstore import LocalBlockstore

    context: AppContext = ctx.obj
    removed = LocalBlockstore(context.settings.ipfs_dir).gc()
    typer.echo(json.dumps({"removed_blocks": removed}))
