"""`bot ipfs cid FILE [--profile P]`, `bot ipfs push`, `bot ipfs gc`: CIDs and the local
blockstore."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from bot.cli.output import console, err_console, safe

if TYPE_CHECKING:
    from bot.context import AppContext
    from storage.ipfs.blockstore import LocalBlockstore
    from storage.ipfs.targets import PinTarget

ipfs_app = typer.Typer(help="IPFS: compute CIDs, push the local pin backlog.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(ipfs_app, name="ipfs")


@ipfs_app.command("cid")
def cid(
    ctx: typer.Context,
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    profile: str | None = typer.Option(
        None,
        "--profile",
        help="legacy-v0, legacy-v1 or unixfs-v1-2025; default BOT_IPFS_CID_PROFILE.",
    ),
    cid_version: int | None = typer.Option(
        None, "--cid-version", min=0, max=1, help="0 or 1 with the legacy layout (legacy-vN)."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Also print the profile."),
) -> None:
    """Print the CID `ipfs add` gives FILE with a CID profile's options (streams the file)."""
    from storage.ipfs.profiles import UnknownProfile, get_profile, legacy_profile
    from storage.ipfs.unixfs import import_file

    context: AppContext = ctx.obj
    if profile is not None and cid_version is not None:
        err_console.print("[red]give --profile or --cid-version, not both[/red]")
        raise typer.Exit(2)
    try:
        if profile is not None:
            chosen = get_profile(profile)
        elif cid_version is not None:
            chosen = legacy_profile(cid_version)
        else:
            chosen = context.settings.cid_profile
    except UnknownProfile as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    result = import_file(file, chosen)
    typer.echo(str(result.cid))
    if verbose:
        typer.echo(f"{chosen.describe()}; {result.file_size} bytes, {result.blocks} blocks")


@ipfs_app.command("push")
def push(
    ctx: typer.Context,
    to: str | None = typer.Option(
        None,
        "--to",
        help="A pin target's name, or kubo / pinning-service (built from BOT_IPFS_API_URL, "
        "BOT_PINNING_SERVICE_*); default: every configured kubo and pinning-service target.",
    ),
) -> None:
    """Move the local blockstore's pins to kubo nodes or pinning services, verifying CIDs.

    Each CID is sent with the profile recorded with its local pin, not the current setting."""
    from bot.pinning import targets_from_settings
    from storage.ipfs.blockstore import LocalBlockstore

    context: AppContext = ctx.obj
    try:
        configured = targets_from_settings(context.settings)
        if to is None:
            targets = [t for t in configured if t.kind != "local"]
        else:
            targets = [t for t in configured if t.name == to] or [_ad_hoc_target(context, to)]
    except ValueError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    if not targets or any(t.kind == "local" for t in targets):
        err_console.print(
            "[red]push needs a kubo or pinning-service target: --to NAME (BOT_IPFS_TARGETS), "
            "--to kubo or --to pinning-service[/red]"
        )
        raise typer.Exit(2)
    local = LocalBlockstore(context.settings.ipfs_dir)
    failed = 0
    for target in targets:
        failed += _push_to(context, local, target)
    raise typer.Exit(1 if failed else 0)


def _ad_hoc_target(context: AppContext, kind: str) -> PinTarget:
    """`--to kubo` / `--to pinning-service` without such a configured target: the legacy
    settings name the endpoint (as before pin targets existed)."""
    from storage.ipfs.targets import TargetSpec, make_target

    settings = context.settings
    if kind == "kubo":
        spec = TargetSpec("kubo", "kubo", url=settings.ipfs_api_url)
    elif kind == "pinning-service":
        token = settings.pinning_service_token
        if not settings.pinning_service_url or not token:
            raise ValueError(
                "--to pinning-service needs BOT_PINNING_SERVICE_URL and BOT_PINNING_SERVICE_TOKEN"
            )
        spec = TargetSpec(
            "pinning-service",
            "pinning-service",
            url=settings.pinning_service_url,
            token=token.get_secret_value(),
            provider_url=settings.ipfs_api_url if settings.ipfs_provide_via_kubo else None,
        )
    else:
        raise ValueError(f"no pin target named {kind!r} (BOT_IPFS_TARGETS)")
    return make_target(spec, ipfs_dir=settings.ipfs_dir)


def _push_to(context: AppContext, local: LocalBlockstore, target: PinTarget) -> int:
    from bot.cli.progress import progress
    from storage.db import session_scope
    from storage.ipfs.push import push_backlog
    from storage.ipfs.records import list_pins, record_outcome
    from storage.models.pin import PinKind, PinStatus

    with session_scope(context.engine) as session:
        done = {
            row.cid for row in list_pins(session, target=target.name, statuses=[PinStatus.PINNED])
        }
        known = {row.cid: row for row in list_pins(session)}
    pushed = failed = 0
    total = sum(1 for record in local.pins() if record.cid not in done)
    with progress(f"push to {target.name}", total) as tracker:
        for result in push_backlog(local, target.pinner, skip=done):
            tracker.advance()
            if result.outcome is None:
                failed += 1
                err_console.print(f"[red]failed[/red] {safe(result.cid)}: {safe(result.error)}")
                continue
            pushed += 1
            console.print(
                f"{result.outcome.status.value:8} {safe(result.cid)} → {safe(target.name)}"
            )
            source = known.get(result.cid)
            with session_scope(context.engine) as session:
                record_outcome(
                    session,
                    result.outcome,
                    kind=PinKind(source.kind) if source else PinKind.IMAGE,
                    artwork_id=source.artwork_id if source else None,
                    frame_id=source.frame_id if source else None,
                )
    console.print(
        f"{target.name}: pushed {pushed}, skipped {len(done)} already pinned, failed {failed}"
    )
    return failed


@ipfs_app.command("gc")
def gc(ctx: typer.Context) -> None:
    """Delete local blocks that no pin reaches any more."""
    from storage.ipfs.blockstore import LocalBlockstore

    context: AppContext = ctx.obj
    removed = LocalBlockstore(context.settings.ipfs_dir).gc()
    typer.echo(json.dumps({"removed_blocks": removed}))
