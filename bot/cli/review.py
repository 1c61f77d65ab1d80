"""`bot review`: serve the review page on 127.0.0.1, protected by a token printed at start."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from bot.cli.output import console, err_console

if TYPE_CHECKING:
    from bot.context import AppContext


def register(app: typer.Typer) -> None:
    app.command("review")(review)


def review(
    ctx: typer.Context,
    host: str | None = typer.Option(None, "--host", help="Bind address (BOT_REVIEW_HOST)."),
    port: int | None = typer.Option(
        None, "--port", min=0, max=65535, help="Port (BOT_REVIEW_PORT; 0 picks a free one)."
    ),
    score_first: bool = typer.Option(
        True, "--score/--no-score", help="Score unscored frames of the listed artworks first."
    ),
) -> None:
    """Serve a page listing artworks awaiting a choice: the source, every frame with its
    scores and near-copy flag, keyboard and click selection, reject with a reason, and the
    publish queue. Open the printed URL (it carries the token once); Ctrl-C stops."""
    import uvicorn

    from bot.pipeline.choose_stage import near_copy_thresholds, rank_weights
    from bot.review.app import ReviewConfig, create_app
    from bot.review.auth import Gate, allowed_hosts, new_token

    context: AppContext = ctx.obj
    settings = context.settings
    bind_host = host or settings.review_host
    if score_first:
        from bot.cli.choose import score_frames

        if score_frames(context, [], rescore=False, command="bot review", required=False):
            err_console.print("[yellow]some artworks could not be scored (see above)[/yellow]")
    try:
        sock = socket.create_server((bind_host, settings.review_port if port is None else port))
    except OSError as exc:
        err_console.print(f"[red]cannot listen on {escape(bind_host)}: {escape(str(exc))}[/red]")
        raise typer.Exit(2) from None
    bound_port = sock.getsockname()[1]
    token = new_token()
    config = ReviewConfig(
        gate=Gate(token, allowed_hosts(bind_host, bound_port)),
        weights=rank_weights(settings),
        thresholds=near_copy_thresholds(settings),
    )
    app = create_app(context.engine, context.blobs, config)
    if bind_host not in ("127.0.0.1", "localhost", "::1"):
        err_console.print(
            f"[yellow]warning: listening on {escape(bind_host)}, not loopback: anyone who can "
            "reach it and learns the token can choose frames[/yellow]"
        )
    shown_host = "127.0.0.1" if bind_host in ("0.0.0.0", "") else bind_host
    # One plain line each, flushed: people copy the URL, scripts and tests read it.
    print(f"review page: http://{shown_host}:{bound_port}/?token={token}", flush=True)
    print(f"token: {token} (or send it as the X-Review-Token header)", flush=True)
    console.print("Ctrl-C stops the server.")
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
