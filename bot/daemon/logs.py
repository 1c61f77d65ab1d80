"""The daemon's log: the console as for every command, plus a rotating file
(BOT_LOG_FILE, default <data_dir>/logs/bot.log; BOT_LOG_MAX_BYTES, BOT_LOG_BACKUPS), as plain
lines or, with BOT_LOG_JSON, one JSON object per line for log shippers."""

from __future__ import annotations

import json
import logging
import logging.handlers
from datetime import UTC, datetime
from pathlib import Path

from bot.text import printable

PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonLines(logging.Formatter):
    """{"time", "level", "logger", "message", "process", "thread"[, "exception"]} per line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
            "thread": record.threadName,
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class PlainLines(logging.Formatter):
    """One line per record: control characters in data (a title in a warning) are escaped,
    so a hostile string cannot forge log lines or drive a terminal that shows the file."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return "\n".join(printable(line) for line in text.split("\n"))


def add_file_log(path: Path, *, json_lines: bool, max_bytes: int, backups: int) -> logging.Handler:
    """Add a rotating file handler to the root logger (returned, to remove at the end)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
    )
    handler.setFormatter(JsonLines() if json_lines else PlainLines(PLAIN_FORMAT))
    root = logging.getLogger()
    handler.setLevel(root.level)
    root.addHandler(handler)
    return handler
