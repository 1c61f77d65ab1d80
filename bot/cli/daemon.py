"""`bot daemon`: the scheduled bot (bot/daemon/service.py). Exit status 0 after a clean stop,
2 when it cannot start (settings, a store of another mode or an older schema, another bot on
this data dir)."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

import typer

from bot.cli.output import err_console

if TYPE_CHECKING:
    from bot.context import AppContext


def register(app: typer.Typer) -> None:
    app.command("daemon")(daemon)


def daemon(ctx: typer.Context) -> None:
    """Run the bot: scrape, the pipeline, bid/sale sync, a daily report and pin check on a
    schedule kept in the database; stops cleanly on SIGTERM/SIGINT."""
    from bot.cli.progress import progress
    from bot.context import AppContext
    from bot.daemon.lock import InstanceLock, LockHeld, command_line
    from bot.daemon.logs import add_file_log
    from bot.daemon.service import Daemon, serve
    from bot.notify import open_notifier
    from storage.db import refuse_damaged
    from storage.errors import describe
    from storage.models.daemon import DaemonState
    from storage.store_mode import check_mode
    from storage.upgrade import open_store_at_start

    context: AppContext = ctx.obj
    settings = context.settings
    try:
        lock = InstanceLock(settings.lock_path, command_line()).acquire()
    except LockHeld as exc:
        err_console.print(str(exc), markup=False, highlight=False)
        raise typer.Exit(2) from None
    state = DaemonState.STOPPED
    try:
        add_file_log(
            settings.log_path,
            json_lines=settings.log_json,
            max_bytes=settings.log_max_bytes,
            backups=settings.log_backups,
        )
        log = logging.getLogger("bot.daemon")
        engine, upgraded = open_store_at_start(
            settings.db_url, auto_upgrade=settings.db_auto_upgrade
        )
        if upgraded is not None:
            log.info(
                "database %s: %s -> %s%s%s",
                describe(settings.db_url),
                upgraded.before or "empty",
                upgraded.after,
                f", backup {upgraded.backup}" if upgraded.backup else "",
                f" ({upgraded.note})" if upgraded.note else "",
            )
        refuse_damaged(engine)
        check_mode(engine, settings.marketplace_mode.value, describe(settings.db_url))
        app = AppContext(settings, _engine=engine)
        state = serve(Daemon(app, progress=progress, notifier=open_notifier(settings, engine)))
    finally:
        lock.release()
    if state is DaemonState.STOPPING:
        # A job thread is still in a step we chose to abandon: leave without waiting for it
        # (its work resumes on the next start; the lock and leases die with the process).
        logging.shutdown()
        os._exit(0)
