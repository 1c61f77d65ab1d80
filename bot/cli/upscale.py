"""`bot upscale [ARTWORK…]`: upscale chosen frames before pinning (BOT_UPSCALE_ENABLED)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from bot.cli.output import console, err_console

if TYPE_CHECKING:
    from bot.context import AppContext


def register(app: typer.Typer) -> None:
    app.command("upscale")(upscale)


def upscale(
    ctx: typer.Context,
    artwork_ids: list[int] | None = typer.Argument(
        None, help="Artwork ids (default: every chosen)."
    ),
) -> None:
    """Upscale each chosen artwork's frame with the configured ESRGAN model (tiled); the
    upscaled image is what `bot pin` then pins. Idempotent."""
    from bot.extras import require_extra

    require_extra("generate", "bot upscale")
    from tqdm import tqdm

    from bot.pipeline.upscale_stage import chosen_ids, upscale_artwork, upscale_context
    from generator.convert import ConversionError
    from generator.weights import MissingWeights

    context: AppContext = ctx.obj
    settings = context.settings
    if not settings.upscale_enabled:
        err_console.print(
            "upscaling is off: set BOT_UPSCALE_ENABLED=true (and BOT_UPSCALE_SCALE=2|4) first"
        )
        raise typer.Exit(2)
    try:
        upscaler = upscale_context(context.engine, context.blobs, settings)
    except ValueError as exc:
        err_console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from None
    ids = list(artwork_ids or []) or chosen_ids(context.engine)
    if not ids:
        console.print("no chosen artworks to upscale")
        raise typer.Exit(0)
    failures = 0
    for each in ids:
        with tqdm(desc=f"artwork {each}", unit="tile", leave=False) as bar:

            def progress(done: int, total: int, bar: tqdm = bar) -> None:  # type: ignore[type-arg]
                bar.total = total
                bar.n = done
                bar.refresh()

            upscaler.progress = progress
            try:
                outcome = upscale_artwork(each, upscaler)
            except (MissingWeights, ConversionError) as exc:
                err_console.print(f"[red]{escape(str(exc))}[/red]")
                raise typer.Exit(1) from None
        failed = outcome.state.value == "failed"
        failures += failed
        line = f"artwork {each}: {escape(outcome.detail)}"
        (err_console if failed else console).print(f"[red]{line}[/red]" if failed else line)
    raise typer.Exit(1 if failures else 0)
