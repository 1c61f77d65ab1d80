"""`bot models list | download NAME | convert CKPT`: the generator's weights."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from bot.cli.output import cell, console, err_console, new_table, print_table, safe
from bot.extras import require_extra

if TYPE_CHECKING:
    from bot.context import AppContext
    from generator.weights import WeightsStore

models_app = typer.Typer(
    help="VQGAN, CLIP, aesthetic-head and upscaler weights: list, download, convert.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")


def _store(ctx: typer.Context) -> WeightsStore:
    from generator.weights import WeightsStore  # no torch until weights are loaded

    context: AppContext = ctx.obj
    return WeightsStore(context.settings.weights_cache_dir)


@models_app.command("list")
def list_models(ctx: typer.Context) -> None:
    """Known weights, whether they are here, and where."""
    from generator.registry import REGISTRY

    store = _store(ctx)
    context: AppContext = ctx.obj
    table = new_table(
        "name", "kind", "state", "size", "use", "description",
        title=f"weights in {safe(store.cache_dir)}",
    )  # fmt: skip
    settings = context.settings
    in_use = {
        settings.generator_vqgan,
        settings.generator_clip,
        settings.scoring_clip,
        settings.choose_aesthetic,
    }
    if settings.upscale_enabled:
        in_use.add(settings.upscaler_name)
    for name, spec in REGISTRY.items():
        status = store.status(name)
        colour = {"converted": "green", "downloaded": "yellow"}.get(status.state, "red")
        table.add_row(
            name,
            spec.kind.value,
            f"[{colour}]{status.state}[/{colour}]",
            _size(spec.approx_bytes),
            "configured" if name in in_use else "",
            cell(spec.description),
        )
    print_table(table)


def _size(approx_bytes: int) -> str:
    if approx_bytes < 1_000_000:
        return f"~{approx_bytes / 1e3:.0f} kB"
    return f"~{approx_bytes / 1e6:.0f} MB"


@models_app.command("download")
def download_model(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="A name from `bot models list`."),
    sha256: str | None = typer.Option(
        None, "--sha256", help="Expected SHA-256 of the checkpoint (VQGANs publish none)."
    ),
    allow_pickle: bool = typer.Option(
        False, "--allow-pickle", help="Allow full unpickling if weights-only loading fails."
    ),
) -> None:
    """Download (resuming), verify and convert to safetensors."""
    require_extra("generate", "bot models download")  # converting reads the checkpoint with torch
    from generator.convert import ConversionError
    from generator.download import DownloadError
    from generator.registry import UnknownWeights

    store = _store(ctx)
    try:
        paths = store.download(name, expected_sha256=sha256)
        for path in paths:
            console.print(f"downloaded {safe(path)}")
        converted = store.ensure_converted(name, allow_pickle=allow_pickle)
    except UnknownWeights as exc:  # a name `bot models list` does not know: usage
        err_console.print(f"[red]{safe(exc)}[/red]")
        raise typer.Exit(2) from None
    except (DownloadError, ConversionError) as exc:
        err_console.print(f"[red]{safe(exc)}[/red]")
        raise typer.Exit(1) from None
    console.print(f"converted {safe(converted)}")


@models_app.command("convert")
def convert_model(
    ctx: typer.Context,
    checkpoint: Path = typer.Argument(..., exists=True, dir_okay=False, help="A .ckpt or CLIP .pt"),
    config: Path | None = typer.Option(
        None, "--config", help="VQGAN YAML (default: the .ckpt's name with .yaml)."
    ),
    name: str | None = typer.Option(
        None, "--name", help="Store as this weights name (default: the file's stem)."
    ),
    allow_pickle: bool = typer.Option(
        False, "--allow-pickle", help="Allow full unpickling of a checkpoint you trust."
    ),
) -> None:
    """Convert a checkpoint once into a pruned safetensors file in the weights dir."""
    require_extra("generate", "bot models convert")
    from generator.convert import ConversionError, convert_clip, convert_vqgan
    from generator.vqgan import UnsupportedConfig

    store = _store(ctx)
    out_dir = store.cache_dir / (name or checkpoint.stem)
    try:
        if checkpoint.suffix == ".ckpt":
            yaml_path = config or checkpoint.with_suffix(".yaml")
            if not yaml_path.is_file():
                raise ConversionError(f"{checkpoint}: config {yaml_path} not found (use --config)")
            converted = convert_vqgan(checkpoint, yaml_path, out_dir, allow_pickle=allow_pickle)
        else:
            converted = convert_clip(checkpoint, out_dir, allow_pickle=allow_pickle)
    except (ConversionError, UnsupportedConfig) as exc:
        err_console.print(f"[red]{safe(exc)}[/red]")
        raise typer.Exit(1) from None
    console.print(f"converted {safe(converted)} ({converted.stat().st_size / 1e6:.1f} MB)")
