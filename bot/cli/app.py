"""Entry point of the `bot` console script.

Each command group lives in its own module and registers itself on `app` through
`register(app)`; this file only builds the root app, loads settings and the context.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from bot.context import AppContext
from bot.settings import load_settings
from bot.settings_errors import SettingsError

app = typer.Typer(
    name="bot",
    help="nftbot: scrape NFT listings, generate VQGAN+CLIP art, pin to IPFS, list on Rarible.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
from bot.cli.output import configure_logging  # noqa: E402
from bot.cli.output import err_console as err  # noqa: E402
from bot.cli.settings_report import report_invalid_settings  # noqa: E402


@app.callback()
def _root(
    ctx: typer.Context,
    env_file: Path | None = typer.Option(
        None,
        "--env-file",
        help="Settings file to read (default: $BOT_ENV_FILE, else .env in this directory).",
        show_default=False,
    ),
) -> None:
    """Load and validate settings before any command runs."""
    try:
        settings = load_settings(env_file=env_file)
    except SettingsError as exc:
        report_invalid_settings(exc.problems)
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
    from storage.errors import StoreError, classify_os_error
    from storage.schema import SchemaError

    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except SchemaError as exc:
        err.print(f"database: {exc}", markup=False, highlight=False)
        sys.exit(2)
    except StoreError as exc:  # damaged, read-only, full or unreachable store (storage/errors.py)
        err.print(str(exc), markup=False, highlight=False)
        sys.exit(2)
    except OSError as exc:  # a full or read-only disk under the data dir (blobs, ipfs, outbox)
        found = classify_os_error(exc)
        if found is None:
            raise
        err.print(str(found), markup=False, highlight=False)
        sys.exit(2)
