"""`bot choose`: pick the frame to publish (generated → chosen)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from bot.cli.output import console, safe

if TYPE_CHECKING:
    from bot.context import AppContext


def register(app: typer.Typer) -> None:
    app.command("choose")(choose)


def choose(
    ctx: typer.Context,
    artwork_id: int | None = typer.Argument(None, help="Artwork id (default: every generated)."),
    iteration: int | None = typer.Option(
        None, "--iteration", "-i", help="The frame to take; default: the lowest CLIP loss."
    ),
) -> None:
    """Choose a frame by iteration, or the lowest-loss frame of every generated artwork."""
    from sqlmodel import select

    from bot.pipeline.choose_stage import ChooseError, choose_frame
    from storage.db import session_scope
    from storage.models import Artwork, ArtworkState

    context: AppContext = ctx.obj
    if iteration is not None and artwork_id is None:
        console.print("[red]--iteration needs an artwork id[/red]")
        raise typer.Exit(2)
    failures = 0
    with session_scope(context.engine) as session:
        if artwork_id is not None:
            artwork = session.get(Artwork, artwork_id)
            if artwork is None:
                console.print(f"[red]no artwork {artwork_id}[/red]")
                raise typer.Exit(1)
            artworks = [artwork]
        else:
            query = select(Artwork).where(Artwork.state == ArtworkState.GENERATED.value)
            artworks = list(session.exec(query).all())
        for artwork in artworks:
            try:
                choice = choose_frame(session, artwork, iteration)
            except ChooseError as exc:
                console.print(f"[red]{safe(exc)}[/red]")
                failures += 1
                continue
            loss = "?" if choice.frame.loss is None else f"{choice.frame.loss:.4f}"
            console.print(
                f"artwork {choice.artwork_id}: frame iteration {choice.frame.iteration} "
                f"(loss {loss}){'' if choice.changed else ' (already chosen)'}"
            )
    if not artworks:
        console.print("no generated artworks to choose from")
    raise typer.Exit(1 if failures else 0)
