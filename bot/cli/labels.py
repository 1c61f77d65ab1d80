"""A person's decisions: `bot categorize`, `bot reject`, `bot labels import`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from bot.cli.output import console, err_console
from bot.context import AppContext

labels_app = typer.Typer(help="A person's categories and rejections, from a file.")


def register(app: typer.Typer) -> None:
    app.command("categorize")(categorize)
    app.command("reject")(reject)
    app.add_typer(labels_app, name="labels", no_args_is_help=True)


def _apply(ctx: typer.Context, artwork_id: int, label: str, source: str) -> None:
    from bot.pipeline.overrides import OverrideError, apply_label
    from storage.db import session_scope
    from storage.models import Artwork

    context: AppContext = ctx.obj
    try:
        with session_scope(context.engine) as session:
            artwork = session.get(Artwork, artwork_id)
            if artwork is None:
                raise OverrideError(f"artwork {artwork_id} does not exist")
            changed = apply_label(session, artwork, label, source=source)
            state = artwork.state
    except OverrideError as exc:
        err_console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(1) from None
    if changed:
        console.print(f"artwork {artwork_id}: {escape(changed)} ({state})")
    else:
        console.print(f"artwork {artwork_id}: unchanged ({state})")


def categorize(
    ctx: typer.Context,
    artwork: int = typer.Argument(..., help="Artwork id."),
    category: str = typer.Argument(
        ..., help="Animals, Faces, People, Objects or Scenery; 'auto' removes a person's choice."
    ),
) -> None:
    """Give an artwork a person's category; it wins over CLIP on every run of `bot prepare`."""
    _apply(ctx, artwork, category, "bot categorize")


def reject(
    ctx: typer.Context,
    artwork: int = typer.Argument(..., help="Artwork id."),
    reason: str = typer.Option(..., "--reason", help="Why, in words (kept on the artwork)."),
) -> None:
    """Reject an artwork for a person's reason (before generation); it stays rejected."""
    _apply(ctx, artwork, f"reject:{reason}", "bot reject")


@labels_app.command("import")
def labels_import(
    ctx: typer.Context, path: Path = typer.Argument(..., help="CSV file of labels.")
) -> None:
    """Apply a CSV of labels: header `artwork,label` or `listing,label`; a label is a
    category, reject:REASON or auto; a listing is its id or MARKETPLACE:ITEM_ID."""
    from bot.pipeline.overrides import OverrideError, import_labels

    context: AppContext = ctx.obj
    try:
        report = import_labels(context.engine, path)
    except OverrideError as exc:
        err_console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(1) from None
    for problem in report.problems[:50]:
        err_console.print(f"[yellow]skipped[/yellow] {escape(problem)}")
    if len(report.problems) > 50:
        err_console.print(f"... and {len(report.problems) - 50} more")
    console.print(
        f"labels: {report.applied} applied, {report.unchanged} unchanged, "
        f"{len(report.problems)} skipped"
    )
    if report.problems:
        raise typer.Exit(1)
