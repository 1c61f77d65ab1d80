"""`bot prepare`: candidate → prepared or rejected (decode, filters, category, init image)."""

from __future__ import annotations

from collections import Counter

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bot.cli.output import console, err_console
from bot.context import AppContext
from bot.extras import require_extra


def register(app: typer.Typer) -> None:
    app.command("prepare")(prepare)


def prepare(
    ctx: typer.Context,
    artwork: list[int] | None = typer.Option(None, "--artwork", help="Artwork id (repeatable)."),
    size: int | None = typer.Option(
        None, "--size", min=16, max=2048, help="Init image side (default BOT_GENERATOR_SIZE)."
    ),
    limit: int | None = typer.Option(None, "--limit", min=1, help="At most this many."),
    redo: bool = typer.Option(
        False, "--redo", help="Decide again what prepare decided before (new thresholds)."
    ),
    retry_failed: bool = typer.Option(
        False, "--retry-failed", help="Also retry artworks that failed at this stage."
    ),
    device: str | None = typer.Option(None, "--device", help="CLIP on auto, cpu, cuda, cuda:N."),
) -> None:
    """Decode, filter and categorise candidates; make their init images.

    Quality (size, blur, blank, contrast, JPEG blocking) and text filters reject with the
    reason; CLIP picks Animals, Faces, People, Objects or Scenery (else 'other': rejected);
    a person's category or rejection always wins. Exit 1 when any artwork failed.
    """
    require_extra("generate", "bot prepare")
    from bot.pipeline.prepare_models import SMOKE_TEST_CATEGORIES, load_category_model
    from bot.pipeline.prepare_stage import (
        FAILED,
        PREPARED,
        REJECTED,
        CategoryModel,
        PrepareOutcome,
        options_from_settings,
        prepare_artworks,
    )
    from generator.batching import resolve_device

    context: AppContext = ctx.obj
    settings = context.settings
    try:
        target = str(resolve_device(device or settings.generator_device))
    except ValueError as exc:
        err_console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from None
    loaded: list[CategoryModel] = []

    def model() -> CategoryModel:
        if not loaded:  # once per run, and only when an artwork needs CLIP
            loaded.append(
                load_category_model(
                    settings.weights_cache_dir,
                    settings.generator_clip,
                    target,
                    allow_smoke_test_models=settings.allow_smoke_test_models,
                )
            )
            if loaded[0].smoke_test:
                err_console.print(f"[bold red on yellow]{SMOKE_TEST_CATEGORIES}[/]")
        return loaded[0]

    marks = {PREPARED: "green", REJECTED: "yellow", FAILED: "red"}
    progress = Progress(
        TextColumn("prepare"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=True,
    )  # fmt: skip
    with progress:
        task = progress.add_task("prepare", total=None)

        def show(outcome: PrepareOutcome) -> None:
            colour = marks.get(outcome.status, "dim")
            progress.console.print(
                f"artwork {outcome.artwork_id}: [{colour}]{outcome.status}[/{colour}] "
                f"{escape(outcome.detail)}"
            )
            progress.advance(task)

        report = prepare_artworks(
            context.engine,
            context.blobs,
            options_from_settings(settings, size=size),
            model_factory=model,
            artwork_ids=artwork or None,
            limit=limit,
            redo=redo,
            retry_failed=retry_failed,
            on_outcome=show,
        )
    if not report.outcomes:
        console.print("nothing to prepare (no candidates; `bot curate` makes them)")
        return
    categories = Counter(o.category for o in report.outcomes if o.status == PREPARED)
    by_category = ", ".join(f"{name} {count}" for name, count in sorted(categories.items()))
    console.print(
        f"{report.count(PREPARED)} prepared" + (f" ({by_category})" if by_category else "")
        + f", {report.count(REJECTED)} rejected, {report.failures} failed"
        + (f", {report.count('skipped')} skipped" if report.count("skipped") else "")
    )  # fmt: skip
    if report.clip_missing:
        err_console.print(f"[red]not categorised: {escape(report.clip_missing)}[/red]")
    if report.smoke_test:
        err_console.print(f"[bold red on yellow]{SMOKE_TEST_CATEGORIES}[/]")
    if report.failures:
        raise typer.Exit(1)
