"""Entry point of the `bot` console script.

Each command group lives in its own module and registers itself on `app` through
`register(app)`; this file builds the root app, loads settings and the context, lays the
commands out in `bot --help` (HELP_PANELS) and turns a missing extra into one line.

Start-up stays cheap: command modules import heavy libraries (torch, pandas, eth_account,
playwright, requests) inside the commands, never at module level, so `bot --help`, shell
completion (which runs the program on every TAB), `status` and `config show` load none of
them. tests/bot/test_cli_startup.py checks this with `python -X importtime`.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from bot import __version__
from bot.cli.output import configure_logging
from bot.cli.output import err_console as err
from bot.extras import MissingExtra, extra_for_module

# `bot --help` lists the commands in these panels, in this order: the pipeline reads top to
# bottom. A new command gets a place here (a test fails for one that has none).
HELP_PANELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Setup", ("init", "doctor", "config", "db", "wallet", "models")),
    ("Sources", ("import", "scrape", "images")),
    (
        "Pipeline",
        (
            "curate",
            "prepare",
            "categorize",
            "reject",
            "labels",
            "generate",
            "score",
            "choose",
            "review",
            "upscale",
            "pin",
            "publish",
        ),
    ),
    ("Run", ("run", "daemon", "failed", "retry")),
    ("Market", ("bids", "sales")),
    ("Reports", ("status", "report", "frames", "pins", "eda")),
    ("Tools", ("ipfs",)),
)
OTHER_PANEL = "Other"


def help_position(name: str) -> tuple[int, int]:
    """Where a command goes in `bot --help`: (panel index, index in the panel)."""
    for panel_index, (_panel, names) in enumerate(HELP_PANELS):
        if name in names:
            return panel_index, names.index(name)
    return len(HELP_PANELS), 0


def help_panel(name: str) -> str | None:
    for panel, names in HELP_PANELS:
        if name in names:
            return panel
    return None


class BotGroup(TyperGroup):
    """The root command: pipeline order in help, and one line for a missing extra."""

    # The context is typer's vendored click Context (typer._click), not a public type.
    def list_commands(self, ctx: Any) -> list[str]:
        names = super().list_commands(ctx)
        return sorted(names, key=lambda name: (help_position(name), name))

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except MissingExtra as exc:
            err.print(str(exc), markup=False, highlight=False)
            raise typer.Exit(2) from None
        except ModuleNotFoundError as exc:
            # A safety net behind the commands' own require_extra calls: an import of an
            # extra's module deep inside a command still gives the one line, not a traceback.
            extra = extra_for_module(exc.name)
            if extra is None or "--debug" in sys.argv:
                raise
            command = f"bot {ctx.invoked_subcommand or ''}".strip()
            err.print(str(MissingExtra(command, extra, [str(exc.name)])), markup=False)
            raise typer.Exit(2) from None


app = typer.Typer(
    name="bot",
    cls=BotGroup,
    help="nftbot: scrape NFT listings, generate VQGAN+CLIP art, pin to IPFS, list on Rarible."
    "\n\nThe pipeline reads top to bottom: Sources, then Pipeline (curate → prepare → generate"
    " → choose → pin → publish), then Market.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"nftbot {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(
        False,
        "--version",
        callback=_print_version,
        is_eager=True,
        help="Print the version and exit.",
    ),
    env_file: Path | None = typer.Option(
        None,
        "--env-file",
        help="Settings file to read (default: $BOT_ENV_FILE, else .env in this directory).",
        show_default=False,
    ),
) -> None:
    """Load and validate settings before any command runs."""
    from bot.cli.settings_report import report_invalid_settings
    from bot.context import AppContext
    from bot.settings import load_settings
    from bot.settings_errors import SettingsError

    try:
        settings = load_settings(env_file=env_file)
    except SettingsError as exc:
        report_invalid_settings(exc.problems)
        raise typer.Exit(2) from None
    configure_logging(settings.log_level)
    # Alembic announces each of its plugins at INFO when it is first imported, which is now
    # after this point (commands import the database code lazily): nothing a user can act on.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    ctx.obj = AppContext(settings)


def _register_commands() -> None:
    """Every module in bot/cli/ that defines `register(app)` adds its commands.

    Discovery instead of a hand-kept list keeps command groups independent of each other;
    only their place in `bot --help` is kept here (HELP_PANELS).
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
    for command in app.registered_commands:
        name = command.name or (command.callback.__name__ if command.callback else "")
        command.rich_help_panel = help_panel(name) or command.rich_help_panel or OTHER_PANEL
    for group in app.registered_groups:
        name = group.name or ""
        group.rich_help_panel = help_panel(name) or group.rich_help_panel or OTHER_PANEL


_register_commands()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:
        # Store problems become one line. Imported here, on the error path only: start-up
        # stays free of the database code.
        from storage.errors import StoreError, classify_os_error
        from storage.schema import SchemaError

        if isinstance(exc, SchemaError):  # a database of another schema
            err.print(f"database: {exc}", markup=False, highlight=False)
            sys.exit(2)
        if isinstance(exc, StoreError):  # damaged, read-only, full or unreachable store
            err.print(str(exc), markup=False, highlight=False)
            sys.exit(2)
        found = classify_os_error(exc) if isinstance(exc, OSError) else None
        if found is None:  # a full or read-only disk under the data dir (blobs, ipfs, outbox)
            raise
        err.print(str(found), markup=False, highlight=False)
        sys.exit(2)
