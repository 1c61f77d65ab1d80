"""Entry point of the `bot` console script.

Each command group lives in its own module and registers itself on `app` through
`register(app)`; this file only builds the root app, loads settings and the context.
"""

from __future__ import annotations

import sys

import typer
from pydantic import ValidationError

from bot.context import AppContext
from bot.settings import load_settings

app = typer.Typer(
    name="bot",
    help="nftbot: scrape NFT listings, generate VQGAN+CLIP art, pin to IPFS, list on Rarible.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
from bot.cli.output import configure_logging  # noqa: E402
from bot.cli.output import err_console as err  # noqa: E402


@app.callback()
def _root(ctx: typer.Context) -> None:
    """Load and validate settings before any command runs."""
    try:
        settings = load_settings()
    except ValidationError as exc:
        err.print(f"[red]Invalid settings:[/red]\n{exc}")
        err.print("See .env.example for every setting and its meaning.")
        raise typer.Exit(2) from None
    configure_logging(settings.log_level)
    ctx.obj = AppContext(settings)


def _register_commands() -> None:
    """Every module in bot/cli/ that defines `register(app)` adds its commands.

    Discovery instead of a hand-kept list keeps command groups independent of each other.
    Heavy libraries (torch, playwright) are imported inside the commands, not at module level,
    so `bot --help` stays fast.
    """
    import importlib
    import pkgutil

    import bot.cli

    for info in sorted(pkgutil.iter_modules(bot.cli.__path__), key=lambda i: i.name):
        if info.name == "app":
            continue
        module = importlib.import_module(f"bot.cli.{info.name}")
        register = getattr(module, "register", None)
        if callable(register):
            register(app)


_register_commands()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
