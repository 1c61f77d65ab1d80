"""Notifications: a webhook told about sales, new highest bids, artworks parked as failed and
the daemon starting or stopping. Never blocks the caller (bot/notify/webhook.py).

    from bot.notify import open_notifier, ArtworkFailedEvent, DaemonEvent

    notifier = open_notifier(settings, engine)  # NullNotifier when BOT_WEBHOOK_URL is unset
    notifier.notify(DaemonEvent("started"))
    notifier.notify(ArtworkFailedEvent(artwork_id=7, stage="generated", error="...", attempts=5))
    notifier.close()  # at exit: waits at most BOT_WEBHOOK_TIMEOUT_S for the queue

Sales and new highest bids are sent by `bot.pipeline.sold_stage.sync_market(..., notifier=)`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.notify.events import ArtworkFailedEvent, DaemonEvent, Event, HighestBidEvent, SaleEvent

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from bot.notify.webhook import Notifier, NullNotifier
    from bot.settings import Settings


def open_notifier(settings: Settings, engine: Engine) -> Notifier | NullNotifier:
    """The webhook worker for these settings, or a notifier that sends nothing."""
    from bot.notify.webhook import Notifier, NullNotifier, WebhookConfig

    url = settings.webhook_url.get_secret_value().strip() if settings.webhook_url else ""
    if not url:
        return NullNotifier()
    config = WebhookConfig(
        url=url,
        format=settings.webhook_format,
        timeout_s=settings.webhook_timeout_s,
        queue_size=settings.webhook_queue_size,
        allow_private=settings.allow_private_addresses,
        user_agent=settings.user_agent,
    )
    return Notifier(config, engine)


__all__ = [
    "ArtworkFailedEvent",
    "DaemonEvent",
    "Event",
    "HighestBidEvent",
    "SaleEvent",
    "open_notifier",
]
