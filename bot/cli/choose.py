"""`bot score` (frame scores) and `bot choose` (generated → chosen, by a person or the rank)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from bot.cli.output import console, err_console, safe

if TYPE_CHECKING:
    from bot.context import AppContext


def register(app: typer.Typer) -> None:
    app.command("choose")(choose)
    app.command("score")(score)


def score_frames(
    context: AppContext,
    ids: list[int],
    *,
    rescore: bool,
    command: str = "bot score",
    required: bool = True,
) -> int:
    """Score what needs it; returns the number of artworks that could not be scored.

    Scoring needs the generator extra and the CLIP weights. Without them: an error (exit 2 for
    the extra, 1 for the weights) when `required`, else a warning and nothing scored. Frames
    scored already need neither, so a core install can choose among frames scored elsewhere."""
    from bot.extras import EXTRAS, MissingExtra, missing_modules
    from bot.pipeline.choose_stage import artworks_to_score

    todo = artworks_to_score(context.engine, ids or None, rescore)
    if not todo:
        return 0
    missing = missing_modules("generate")
    if missing:
        if required:
            raise MissingExtra(command, EXTRAS["generate"], missing)
        err_console.print(
            f"[yellow]frames not scored: {command} needs the generator extra[/yellow]"
        )
        return len(todo)
    from bot.pipeline.score_stage import score_artworks, scorer_from_settings
    from generator.weights import MissingWeights

    try:
        loaded = scorer_from_settings(context.settings)
    except (MissingWeights, ValueError) as exc:
        if not required:
            err_console.print(f"[yellow]frames not scored: {safe(exc)}[/yellow]")
            return len(todo)
        err_console.print(f"[red]scoring needs the CLIP weights: {safe(exc)}[/red]")
        raise typer.Exit(1) from None
    if loaded.smoke_test:
        err_console.print(
            "[yellow]scoring with the untrained smoke-test CLIP: similarities mean nothing[/yellow]"
        )
    failures = 0
    for outcome in score_artworks(context.engine, context.blobs, loaded, todo, rescore=rescore):
        if outcome.ok:
            console.print(f"artwork {outcome.artwork_id}: {outcome.detail}")
        else:
            failures += 1
            err_console.print(f"[red]{safe(outcome.detail)}[/red]")
    for vqgan, status in loaded.critics.items():
        if status != "ok":
            err_console.print(f"[yellow]no critic for {safe(vqgan)}: {safe(status)}[/yellow]")
    return failures


def score(
    ctx: typer.Context,
    artwork: list[int] | None = typer.Option(None, "--artwork", help="Artwork id (repeatable)."),
    rescore: bool = typer.Option(False, "--rescore", help="Score frames scored before again."),
) -> None:
    """Score the frames of generated artworks (CLIP prompt match and source likeness, the
    VQGAN critic, aesthetic, sharpness and artifacts, near-copy evidence)."""
    from bot.extras import require_extra

    require_extra("generate", "bot score")
    context: AppContext = ctx.obj
    from bot.pipeline.choose_stage import artworks_to_score

    if not artworks_to_score(context.engine, list(artwork or []) or None, rescore):
        console.print(
            "nothing to score: no generated artwork has unscored frames"
            + ("" if rescore else " (--rescore scores them again)")
        )
        return
    failures = score_frames(context, list(artwork or []), rescore=rescore)
    raise typer.Exit(1 if failures else 0)


def choose(
    ctx: typer.Context,
    artwork_id: int | None = typer.Argument(None, help="Artwork id (default: every generated)."),
    iteration: int | None = typer.Option(
        None, "--iteration", "-i", help="A person's choice: the frame at this iteration."
    ),
    auto: bool = typer.Option(
        False, "--auto", help="Choose by the weighted rank of the scores (the default)."
    ),
    artwork: list[int] | None = typer.Option(
        None, "--artwork", help="With --auto: only this artwork (repeatable)."
    ),
) -> None:
    """Choose each artwork's frame: `ARTWORK --iteration N` (a person), or `--auto` (the best
    weighted rank among frames that are not near-copies; frames are scored first). A person's
    choice always wins: --auto never replaces it."""
    from sqlmodel import select

    from bot.pipeline.choose_stage import (
        ChooseError,
        choose_automatically,
        choose_by_person,
        near_copy_thresholds,
        rank_weights,
    )
    from storage.db import session_scope
    from storage.models import Artwork, ArtworkState

    context: AppContext = ctx.obj
    settings = context.settings
    if iteration is not None and (auto or artwork_id is None):
        err_console.print("[red]--iteration needs one artwork id and no --auto[/red]")
        raise typer.Exit(2)
    ids = [artwork_id] if artwork_id is not None else list(artwork or [])
    thresholds = near_copy_thresholds(settings)
    if iteration is not None:
        assert artwork_id is not None
        with session_scope(context.engine) as session:
            found = session.get(Artwork, artwork_id)
            if found is None:
                err_console.print(f"[red]no artwork {artwork_id}[/red]")
                raise typer.Exit(1)
            try:
                choice = choose_by_person(
                    session, found, iteration, via="cli", thresholds=thresholds
                )
            except ChooseError as exc:
                err_console.print(f"[red]{safe(exc)}[/red]")
                raise typer.Exit(1) from None
        note = "" if choice.changed else " (already chosen)"
        console.print(f"artwork {artwork_id}: frame iteration {iteration} chosen by a person{note}")
        if choice.near_copy is not None and choice.near_copy.near_copy:
            err_console.print(
                f"[yellow]warning: {safe(choice.near_copy.reason)}; pinning it needs "
                f"bot pin {artwork_id} --force-near-copy --reason TEXT[/yellow]"
            )
        raise typer.Exit(0)

    with session_scope(context.engine) as session:
        if ids:
            missing = [i for i in ids if session.get(Artwork, i) is None]
            if missing:
                err_console.print(f"[red]no artwork {missing[0]}[/red]")
                raise typer.Exit(1)
        else:
            query = select(Artwork.id).where(Artwork.state == ArtworkState.GENERATED.value)
            ids = [int(i) for i in session.exec(query).all() if i is not None]
    if not ids:
        console.print("no generated artworks to choose from")
        raise typer.Exit(0)
    failures = score_frames(context, ids, rescore=False, command="bot choose --auto")
    weights = rank_weights(settings)
    for each in ids:
        with session_scope(context.engine) as session:
            found = session.get(Artwork, each)
            assert found is not None
            try:
                choice = choose_automatically(session, found, weights, thresholds)
            except ChooseError as exc:
                err_console.print(f"[red]{safe(exc)}[/red]")
                failures += 1
                continue
        if choice.kept:
            console.print(f"artwork {each}: {choice.kept}")
            continue
        assert choice.ranking is not None and choice.ranking.winner is not None
        winner, runner = choice.ranking.winner, choice.ranking.runner_up
        line = (
            f"artwork {each}: frame iteration {winner.iteration} chosen automatically "
            f"(rank {winner.rank_score:.3f}"
        )
        if runner is not None:
            line += f"; runner-up iteration {runner.iteration}, {runner.rank_score:.3f}"
        if choice.ranking.near_copies:
            line += f"; near-copies left out: {[r.iteration for r in choice.ranking.near_copies]}"
        console.print(line + ")" + ("" if choice.changed else " (unchanged)"))
    raise typer.Exit(1 if failures else 0)
