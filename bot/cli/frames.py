"""`bot frames ARTWORK… [--export DIR]`: a generated artwork's frames, their scores, the choice.

With --export, each artwork gets a folder `DIR/artwork-<id>/` with one PNG per frame named by
iteration (`iteration-07.png`), the source image (`source.png`) and `contact-sheet.png`: every
frame in a grid with its iteration and key scores, the chosen one framed green, near-copies red.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from bot.cli.output import console, err_console

if TYPE_CHECKING:
    from bot.context import AppContext


def register(app: typer.Typer) -> None:
    app.command("frames")(frames)


def _fmt(value: float | int | None, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}"


def frames(
    ctx: typer.Context,
    artwork_ids: list[int] = typer.Argument(..., help="Artwork id(s)."),
    export: Path | None = typer.Option(
        None, "--export", help="Write the frames, the source and a contact sheet here."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """List an artwork's frames with their scores and near-copy flags, and why one was chosen."""
    from bot.pipeline.choose_stage import (
        choice_summary,
        frames_of,
        near_copy_thresholds,
        rank_weights,
    )
    from bot.pipeline.frame_rank import SCORE_NAMES, near_copy_of, rank_frames
    from storage.db import session_scope
    from storage.models import Artwork

    context: AppContext = ctx.obj
    thresholds = near_copy_thresholds(context.settings)
    weights = rank_weights(context.settings)
    failures = 0
    report = []
    for artwork_id in artwork_ids:
        with session_scope(context.engine) as session:
            artwork = session.get(Artwork, artwork_id)
            if artwork is None:
                err_console.print(f"[red]no artwork {artwork_id}[/red]")
                failures += 1
                continue
            rows = frames_of(session, artwork_id)
        if not rows:
            err_console.print(f"[red]artwork {artwork_id} has no frames[/red]")
            failures += 1
            continue
        scored = [f for f in rows if f.scored_at is not None]
        ranking = rank_frames(scored, weights, thresholds) if scored else None
        ranks = {r.frame_id: r.rank_score for r in ranking.ranked} if ranking else {}
        entries = []
        for frame in rows:
            verdict = near_copy_of(frame, thresholds) if frame.scored_at else None
            entries.append(
                {
                    "frame_id": frame.id,
                    "iteration": frame.iteration,
                    "seed": frame.seed,
                    "loss": frame.loss,
                    "model": frame.model,
                    **{name: getattr(frame, name) for name in SCORE_NAMES},
                    "hash_distance": frame.hash_distance,
                    "rank_score": ranks.get(frame.id or 0),
                    "near_copy": None if verdict is None else verdict.near_copy,
                    "near_copy_reason": None if verdict is None else verdict.reason,
                    "near_copy_override": frame.near_copy_override,
                    "chosen": frame.chosen,
                    "scored": frame.scored_at is not None,
                }
            )
        summary = {
            "artwork_id": artwork_id,
            "state": artwork.state,
            "title": artwork.category,
            "chosen_by": artwork.chosen_by,
            "choice": choice_summary(artwork),
            "choice_reason": json.loads(artwork.choice_reason) if artwork.choice_reason else None,
            "upscaled": artwork.upscale_model if artwork.upscaled_blob else None,
            "frames": entries,
        }
        report.append(summary)
        if export is not None:
            folder = _export(context, artwork, rows, entries, export)
            summary["exported_to"] = str(folder)
        if not as_json:
            _print_table(summary)
    if as_json:
        typer.echo(json.dumps(report, indent=2, default=str))
    raise typer.Exit(1 if failures else 0)


def _print_table(summary: dict) -> None:  # type: ignore[type-arg]
    title = escape(str(summary["title"] or ""))
    table = Table(
        title=f"artwork {summary['artwork_id']} ({summary['state']}): {title}",
        box=box.SIMPLE_HEAD,
        padding=(0, 1, 0, 0),  # one space between columns: 12 of them fit 80 characters
        pad_edge=False,
        show_edge=False,
    )
    for column in ("it", "loss", "prompt", "src", "critic", "aes", "sharp", "col", "blk", "hash"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("rank", justify="right", no_wrap=True)
    table.add_column("", overflow="fold")
    for entry in summary["frames"]:
        flags = []
        if entry["chosen"]:
            flags.append("[green]CHOSEN[/green]")
        if entry["near_copy"]:
            flags.append(
                "[red]NEAR-COPY[/red]" + (" (forced)" if entry["near_copy_override"] else "")
            )
        if not entry["scored"]:
            flags.append("[dim]not scored[/dim]")
        table.add_row(
            str(entry["iteration"]),
            _fmt(entry["loss"]),
            _fmt(entry["prompt_similarity"]),
            _fmt(entry["source_similarity"]),
            _fmt(entry["critic"]),
            _fmt(entry["aesthetic"], 1),
            _fmt(entry["sharpness"], 0),
            _fmt(entry["colourfulness"], 0),
            _fmt(entry["blockiness"], 2),
            _fmt(entry["hash_distance"]),
            _fmt(entry["rank_score"]),
            " ".join(flags),
        )
    console.print(table)
    console.print(f"choice: {escape(summary['choice'])}")
    if summary["upscaled"]:
        console.print(f"upscaled: {escape(summary['upscaled'])}")
    if summary.get("exported_to"):
        console.print(f"exported to {escape(summary['exported_to'])}")


def _export(context: AppContext, artwork, rows, entries, export: Path) -> Path:  # type: ignore[no-untyped-def]
    import io

    from PIL import Image

    from generator.contact_sheet import SheetTile, contact_sheet
    from storage.blobstore import BlobNotFound

    folder = export / f"artwork-{artwork.id}"
    folder.mkdir(parents=True, exist_ok=True)
    width = max(2, len(str(max(f.iteration for f in rows))))
    repeated = {f.iteration for f in rows if sum(g.iteration == f.iteration for g in rows) > 1}
    tiles: list[SheetTile] = []
    if artwork.init_image_blob:
        try:
            source = context.blobs.copy_to(artwork.init_image_blob, folder / "source.png")
            tiles.append(SheetTile(Image.open(source), "source"))
        except (BlobNotFound, OSError) as exc:
            err_console.print(
                f"[yellow]artwork {artwork.id}: source image missing ({exc})[/yellow]"
            )
    for frame, entry in zip(rows, entries, strict=True):
        name = f"iteration-{frame.iteration:0{width}d}"
        if frame.iteration in repeated:
            name += f"-seed-{frame.seed}"
        try:
            data = context.blobs.read_bytes(frame.blob_sha256)
        except BlobNotFound:
            err_console.print(
                f"[yellow]artwork {artwork.id}: frame {frame.iteration} missing[/yellow]"
            )
            continue
        (folder / f"{name}.png").write_bytes(data)
        lines = [
            f"prompt {_fmt(entry['prompt_similarity'])} source {_fmt(entry['source_similarity'])}",
            f"critic {_fmt(entry['critic'])} aesth {_fmt(entry['aesthetic'], 2)}",
            f"rank {_fmt(entry['rank_score'])} hash {_fmt(entry['hash_distance'])}",
        ]
        tiles.append(
            SheetTile(
                Image.open(io.BytesIO(data)),
                f"#{frame.iteration}",
                lines,
                chosen=bool(entry["chosen"]),
                near_copy=bool(entry["near_copy"]),
            )
        )
    contact_sheet(tiles).save(folder / "contact-sheet.png", format="PNG")
    return folder
