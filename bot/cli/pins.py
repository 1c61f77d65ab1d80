"""`bot pin [ARTWORK]` (chosen → pinned), `bot pins` (each CID's status at each target, with a
re-check) and `bot pins verify` (read every published CID back, repair what was lost)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import typer

from bot.cli.output import cell, console, err_console, new_table, plain, print_table, safe

if TYPE_CHECKING:
    from bot.context import AppContext
    from storage.ipfs.targets import PinTarget

pins_app = typer.Typer(
    help="IPFS pins: each CID's status at each pin target; `verify` reads them back.",
    invoke_without_command=True,
)


def register(app: typer.Typer) -> None:
    app.command("pin")(pin)
    app.add_typer(pins_app, name="pins")


def generator_version() -> str:
    from generator import __version__

    return f"nftbot generator {__version__}"


def _targets_or_exit(context: AppContext, **kwargs: Any) -> list[PinTarget]:
    from bot.pinning import targets_from_settings

    try:
        return targets_from_settings(context.settings, **kwargs)
    except ValueError as exc:
        err_console.print(f"[red]{safe(exc)}[/red]")
        raise typer.Exit(2) from None


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
    """Pin the chosen frame's image, then its metadata, on every pin target; the token URI is
    ipfs://<metadata>. An artwork is pinned once every required target confirmed both.

    Refused, changing nothing: frames of the untrained smoke-test model outside dry-run, and
    near-copies of the source that no person forced."""
    from bot.cli.progress import progress
    from bot.pipeline.choose_stage import near_copy_thresholds
    from bot.pipeline.guards import PinPolicy, PublishRefused, record_near_copy_override
    from bot.pipeline.pin_stage import PinStageError, chosen_artwork_ids, pin_artwork
    from storage.db import session_scope
    from storage.ipfs.targets import UnreachableTargets
    from storage.models import Artwork

    context: AppContext = ctx.obj
    settings = context.settings
    policy = PinPolicy(
        marketplace_mode=settings.marketplace_mode.value,
        thresholds=near_copy_thresholds(settings),
        upscale_enabled=settings.upscale_enabled,
    )
    targets = _targets_or_exit(context)  # a configuration error before anything is written
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
            err_console.print(f"[red]{safe(exc)}[/red]")
            raise typer.Exit(1) from None
        console.print(f"artwork {artwork_id}: {safe(recorded)}")
    if artwork_id is None:
        with session_scope(context.engine) as session:
            ids = chosen_artwork_ids(session)
    else:
        ids = [artwork_id]
    failures = 0
    unreachable = UnreachableTargets()  # a target that does not answer is asked once per batch
    with progress("pin", len(ids)) as tracker:
        for each in ids:
            tracker.advance()  # counted when started: a failure below still moves the bar
            try:
                result = pin_artwork(
                    context.engine,
                    each,
                    targets=targets,
                    blobs=context.blobs,
                    profile=settings.cid_profile,
                    generator_version=generator_version(),
                    policy=policy,
                    unreachable=unreachable,
                )
            except (PinStageError, PublishRefused) as exc:
                failures += 1
                err_console.print(f"[red]{safe(exc)}[/red]")
                continue
            if result.ok:
                console.print(
                    f"artwork {each}: {safe(result.state)} image={safe(result.image_cid or '-')} "
                    f"token_uri={safe(result.token_uri)}"
                )
                if result.detail:
                    console.print(f"artwork {each}: warning: {plain(result.detail)}", markup=False)
            else:
                failures += result.state == "failed"
                console.print(f"artwork {each}: {safe(result.state)}: {safe(result.detail)}")
    if not ids:
        console.print("no chosen artworks to pin")
    raise typer.Exit(1 if failures else 0)


@pins_app.callback()
def pins(
    ctx: typer.Context,
    artwork_id: int | None = typer.Option(None, "--artwork", help="Only this artwork's pins."),
    check: bool = typer.Option(
        True, "--check/--no-check", help="Ask each target for its status again first."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print every CID and target as JSON."),
) -> None:
    """List each CID with its status at every pin target (re-checked unless --no-check)."""
    if ctx.invoked_subcommand is not None:
        return
    from storage.db import session_scope
    from storage.ipfs.records import list_pins, recheck

    context: AppContext = ctx.obj
    targets = _targets_or_exit(context)
    by_name = {target.name: target for target in targets}
    # --check records what each target says now (a write); --no-check only reads.
    with session_scope(context.engine if check else context.reader) as session:
        rows = list_pins(session, artwork_id=artwork_id)
        if check:
            for row in rows:
                target = by_name.get(row.target)
                if target is not None:
                    recheck(session, row, target.pinner)
        shown = _by_cid(rows, targets)
    if as_json:
        typer.echo(json.dumps(shown, indent=2))
        return
    _print_table(shown, targets)


def _by_cid(rows: list[Any], targets: list[PinTarget]) -> list[dict[str, Any]]:
    """One entry per CID: its facts, and per target (configured or not) its row's state."""
    required = {target.name for target in targets if target.required}
    configured = {target.name for target in targets}
    entries: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = entries.setdefault(
            row.cid,
            {
                "cid": row.cid,
                "kind": row.kind,
                "artwork_id": row.artwork_id,
                "frame_id": row.frame_id,
                "size": row.size,
                "profile": row.profile,
                "targets": {},
            },
        )
        entry["size"] = max(entry["size"], row.size)
        entry["targets"][row.target] = {
            "status": row.status,
            "required": row.target in required,
            "configured": row.target in configured,
            "request_id": row.request_id,
            "error": row.error,
            "checked_at": row.checked_at.isoformat() if row.checked_at else None,
            "updated_at": row.updated_at.isoformat(),
        }
    for entry in entries.values():
        states = entry["targets"]
        entry["done"] = all(
            name in states and states[name]["status"] == "pinned" for name in required
        )
    return list(entries.values())


def _print_table(shown: list[dict[str, Any]], targets: list[PinTarget]) -> None:
    names = [target.name for target in targets]
    for entry in shown:
        names += [name for name in entry["targets"] if name not in names]
    required = {target.name for target in targets if target.required}
    configured = {target.name for target in targets}
    labels = [
        (f"{name}*" if name in required else name)
        if name in configured
        else f"{name} (not configured)"
        for name in names
    ]
    table = new_table(
        "artwork",
        "kind",
        "cid",
        "size",
        "profile",
        *labels,
        "error",
        title="IPFS pins (status per target; * = required)",
        right=("size",),
    )
    for entry in shown:
        states = entry["targets"]
        errors = [f"{name}: {s['error']}" for name, s in states.items() if s["error"]]
        table.add_row(
            str(entry["artwork_id"] or "-"),
            cell(entry["kind"]),
            cell(entry["cid"]),
            str(entry["size"]),
            cell(entry["profile"]),
            *[cell(states[name]["status"]) if name in states else "-" for name in names],
            cell("; ".join(errors)),
        )
    print_table(table)


@pins_app.command("verify")
def verify(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="The full report as JSON."),
    gateways: bool = typer.Option(
        True, "--gateways/--no-gateways", help="Also read each CID through the gateways."
    ),
    repair: bool = typer.Option(
        True, "--repair/--no-repair", help="Re-pin to each target that lost a CID."
    ),
) -> None:
    """Read every published CID back (targets and gateways), check the bytes against the CID
    with the profile recorded for it, re-pin what a target lost. Exit 1 when something could
    not be repaired or a gateway served wrong bytes."""
    from bot.pinning import verify_pins_from_settings

    context: AppContext = ctx.obj
    _targets_or_exit(context)  # a bad target list is a usage error, before any work

    def progress(report: Any) -> None:
        if as_json:
            return
        state = "ok" if report.ok and not report.lost else ("repaired" if report.ok else "FAILED")
        console.print(f"{state:8} {report.kind:8} {report.cid}", markup=False)

    report = verify_pins_from_settings(context, gateways=gateways, repair=repair, on_cid=progress)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        _print_problems(report)
    raise typer.Exit(0 if report.ok else 1)


def _print_problems(report: Any) -> None:
    for cid_report in report.cids:
        for check in cid_report.targets:
            if check.found != "ok" or check.action:
                action = f" → {check.action}" if check.action else ""
                console.print(
                    f"  {cid_report.cid} at {check.target}: {check.found}{action}"
                    f"{f' ({check.detail})' if check.detail else ''}",
                    markup=False,
                )
        for gateway in cid_report.gateways:
            if gateway.found != "ok":
                console.print(
                    f"  {cid_report.cid} via {gateway.gateway}: {gateway.found}"
                    f"{f' ({gateway.detail})' if gateway.detail else ''}",
                    markup=False,
                )
    counts = report.counts()
    console.print(
        f"verified {counts['cids']} CIDs: {counts['lost']} lost, {counts['repaired']} repaired, "
        f"{counts['unresolved']} not repaired, {counts['gateway_wrong_bytes']} wrong bytes from "
        f"gateways, {counts['gateway_unavailable']} gateway reads unavailable",
        markup=False,
    )
