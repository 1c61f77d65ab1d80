"""`bot generate` (prepared → generated); `bot prepare` lives in bot/cli/prepare.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from bot.cli.output import cell, console, err_console, new_table, print_table, safe
from bot.extras import require_extra

if TYPE_CHECKING:
    from bot.context import AppContext


def register(app: typer.Typer) -> None:
    app.command("generate")(generate)


def generate(
    ctx: typer.Context,
    artwork: list[int] | None = typer.Option(None, "--artwork", help="Artwork id (repeatable)."),
    state: str = typer.Option("prepared", "--state", help="Which artworks: those in this state."),
    steps: int | None = typer.Option(None, "--steps", min=1, help="Iterations (frames) each."),
    size: int | None = typer.Option(None, "--size", min=16, help="Image side in pixels."),
    batch: int | None = typer.Option(None, "--batch", min=1, help="Artworks per batch."),
    device: str | None = typer.Option(None, "--device", help="auto, cpu, cuda or cuda:N."),
    cutn: int = typer.Option(32, "--cutn", min=1, help="CLIP cutouts per artwork and step."),
    cut_method: str = typer.Option("pooled", "--cut-method", help="pooled or random."),
    precision: str = typer.Option("auto", "--precision", help="auto (bf16 on CUDA), bf16, fp32."),
    seed: int | None = typer.Option(
        None, "--seed", min=0, max=2**63 - 1, help="One seed for all (default per id)."
    ),
    extra_prompt: str | None = typer.Option(
        None,
        "--extra-prompt",
        help="Added to every artwork's prompt (BOT_PROMPT_TEMPLATE): 'text:weight:stop|...', "
        "negative weights push away, e.g. 'blurry:-0.5|watermark:-0.3'.",
    ),
    lr: float = typer.Option(0.1, "--lr", help="Adam learning rate."),
    init_weight: float = typer.Option(0.0, "--init-weight", help="Pull towards the init image."),
) -> None:
    """Run VQGAN+CLIP on prepared artworks, keeping every iteration as a frame."""
    require_extra("generate", "bot generate")
    from bot.cli.progress import progress
    from bot.executors import ExecutorSetupError, open_executor, require_executor_extra
    from bot.pinning import frame_pin_hook
    from bot.pipeline.generate_stage import SMOKE_TEST_WARNING, generate_artworks, select_prepared
    from bot.settings_checks import torch_device
    from bot.settings_pipeline import ExecutorKind
    from generator.batching import resolve_device
    from generator.optimiser import GenerationSettings
    from generator.prompts import parse_prompts

    context: AppContext = ctx.obj
    settings = context.settings
    require_executor_extra(settings)
    if state != "prepared":
        err_console.print(
            f"[red]--state {safe(state)}: only prepared artworks can be generated[/red]"
        )
        raise typer.Exit(2)
    try:
        torch_device(device or settings.generator_device)
        if settings.executor is ExecutorKind.INPROCESS:  # Ray's actors check their own
            resolve_device(device or settings.generator_device)
        options = GenerationSettings(
            size=size or settings.generator_size,
            steps=steps or settings.generator_steps,
            cutn=cutn,
            cut_method=cut_method,
            precision=precision,
            lr=lr,
            init_weight=init_weight,
        )
        extra_prompts = parse_prompts(extra_prompt) if extra_prompt else []
    except ValueError as exc:
        err_console.print(f"[red]{safe(exc)}[/red]")
        raise typer.Exit(2) from None
    try:
        executor = open_executor(settings, device)
    except ExecutorSetupError as exc:  # configuration: weights missing, no usable cluster
        err_console.print(f"[red]{safe(exc)}[/red]")
        raise typer.Exit(2) from None
    with executor:
        if executor.smoke_test:
            err_console.print(f"[bold red on yellow]{SMOKE_TEST_WARNING}[/bold red on yellow]")
        console.print(
            f"generating {safe(executor.description)} with {safe(executor.label)}: "
            f"{options.size}px, "
            f"{options.steps} steps, cutn {options.cutn}"
        )
        waiting = select_prepared(context.engine, artwork or None)
        with progress("generate", len(waiting) * options.steps) as tracker:  # artwork-steps
            report = generate_artworks(
                context.engine,
                context.blobs,
                executor,
                options,
                artwork_ids=artwork or None,
                batch_size=batch or settings.generator_batch,
                seed=seed,
                extra_prompts=extra_prompts,
                on_frame_saved=frame_pin_hook(context),
                prompt_template=settings.prompt_template,
                progress=False,
                on_step=tracker.advance,
            )
    table = new_table("artwork", "result", "detail", title="generate", right=("artwork",))
    for outcome in report.outcomes:
        mark = "[green]generated[/green]" if outcome.ok else "[red]failed/skipped[/red]"
        table.add_row(str(outcome.artwork_id), mark, cell(outcome.detail))
    print_table(table)
    console.print(f"{report.frames_written} frames written, batches {report.batch_sizes}")
    if report.hook_failures:
        err_console.print(
            f"[yellow]{report.hook_failures} frame hook call(s) failed (see the log)[/yellow]"
        )
    if executor.smoke_test:
        err_console.print(f"[bold red on yellow]{SMOKE_TEST_WARNING}[/bold red on yellow]")
    if any(not o.ok for o in report.outcomes):
        raise typer.Exit(1)
