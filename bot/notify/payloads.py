"""The JSON body each webhook flavour expects.

- `json`: the event itself, `{"event", "key", "summary", "data", "source"}`: for your own
  receiver (decimals are strings, times ISO 8601, ids whole).
- `discord`: an execute-webhook body, `{"content", "username", "allowed_mentions"}`. Mentions
  are switched off (`parse: []`) so a title such as "@everyone" never pings anyone, and
  Markdown characters from data are escaped; content is cut to Discord's 2000 characters.
- `slack`: an incoming-webhook body, `{"text"}`, with `&`, `<` and `>` escaped as Slack's
  message formatting requires (so `<!channel>` in a title stays text).
"""

from __future__ import annotations

import re
from typing import Any

from bot.notify.events import Event
from bot.settings import WebhookFormat

DISCORD_MAX_CONTENT = 2000
SLACK_MAX_TEXT = 3000
_DISCORD_MARKDOWN = re.compile(r"([\\*_~`|>#\[\]<@])")


__all__ = ["WebhookFormat", "discord_escape", "payload", "slack_escape"]


def discord_escape(text: str) -> str:
    return _DISCORD_MARKDOWN.sub(r"\\\1", text)


def slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def payload(event: Event, fmt: WebhookFormat) -> dict[str, Any]:
    summary = event.summary()
    if fmt is WebhookFormat.DISCORD:
        return {
            "content": _cut(discord_escape(summary), DISCORD_MAX_CONTENT),
            "username": "nftbot",
            "allowed_mentions": {"parse": []},
        }
    if fmt is WebhookFormat.SLACK:
        return {"text": _cut(slack_escape(summary), SLACK_MAX_TEXT)}
    return {
        "event": event.kind,
        "key": event.key,
        "summary": summary,
        "data": event.data(),
        "source": "nftbot",
    }
